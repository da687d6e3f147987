"""The morning email of account managers' tasks: overdue, today, this week.

One mail per person with anything in those three lists, under the key
"portal.am_tasks:<person>:<day>": however often it runs in a day, each person gets it
once. Nobody with nothing due is mailed.
"""

from __future__ import annotations

from datetime import date

from django.template.loader import render_to_string
from django.utils import timezone

from accounts.choices import NotificationKind
from accounts.platform.mail import Mail, absolute_url, mail_send
from portal.am_tasks.selectors import morning_list


def am_tasks_morning_notify(*, today: date | None = None) -> dict[str, int]:
    today = today or timezone.localdate()
    link = absolute_url("portal:am_tasks")
    mails = []
    for person, buckets in morning_list(today=today).items():
        if not buckets.count:
            continue
        parts = [
            f"{len(buckets.overdue)} overdue" if buckets.overdue else "",
            f"{len(buckets.due_today)} today" if buckets.due_today else "",
            f"{len(buckets.this_week)} this week" if buckets.this_week else "",
        ]
        mails.append(
            Mail(
                key=f"portal.am_tasks:{person.pk}:{today.isoformat()}",
                to=person.email,
                subject="Your tasks: " + ", ".join(part for part in parts if part),
                body=render_to_string(
                    "portal/email/am_tasks_morning.txt",
                    {"person": person, "buckets": buckets, "link": link},
                ),
                kind=NotificationKind.AM_TASKS,
                link=link,
            )
        )
    return mail_send(mails)
