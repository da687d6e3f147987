"""The morning email of account managers' tasks: overdue, today, this week.

One mail per person with anything in those three lists, under the key
"portal.am_tasks:<person>:<day>": however often it runs in a day, each person gets it
once. Nobody with nothing due is mailed.
"""

from __future__ import annotations

from datetime import date

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import NotificationKind
from accounts.locale import person_locale
from accounts.platform.mail import Mail, absolute_url, mail_send
from portal.am_tasks.selectors import morning_list


def am_tasks_morning_notify(*, today: date | None = None) -> dict[str, int]:
    today = today or timezone.localdate()
    link = absolute_url("portal:am_tasks")
    mails = []
    for person, buckets in morning_list(today=today).items():
        if not buckets.count:
            continue
        with person_locale(person):
            mails.append(
                Mail(
                    key=f"portal.am_tasks:{person.pk}:{today.isoformat()}",
                    to=person.email,
                    subject=_("Your tasks: %(counts)s") % {"counts": _counts(buckets)},
                    body=render_to_string(
                        "portal/email/am_tasks_morning.txt",
                        {"person": person, "buckets": buckets, "link": link},
                    ),
                    kind=NotificationKind.AM_TASKS,
                    link=link,
                )
            )
    return mail_send(mails)


def _counts(buckets) -> str:
    """ "2 overdue, 1 today" in the active language."""
    parts = [
        _("%(count)d overdue") % {"count": len(buckets.overdue)} if buckets.overdue else "",
        _("%(count)d today") % {"count": len(buckets.due_today)} if buckets.due_today else "",
        _("%(count)d this week") % {"count": len(buckets.this_week)} if buckets.this_week else "",
    ]
    return ", ".join(part for part in parts if part)
