"""The emails of the relationship: the executive-sponsor promise lapsed.

Rendered one `Mail` per person and sent with `accounts.platform.mail.mail_send` (each person once
per lapse); the Celery task portal.tasks.notify_sponsor_lapses calls this.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from accounts.choices import NotificationKind, TeamRole
from accounts.platform.mail import Mail, absolute_url, mail_send
from accounts.selectors import account_manager_emails
from portal.relationship.models import SponsorLapse


def sponsor_lapses_notify(*, lapses: Iterable[SponsorLapse]) -> dict[str, int]:
    """Tell the primary account manager and the sponsor that the promised contact is overdue.

    The AM alone when no sponsor is named (docs/relationship-health.md); once per lapse.
    """
    lapses = list(lapses)
    managers = account_manager_emails(
        organisation_ids={lapse.organisation_id for lapse in lapses},
        roles=[TeamRole.PRIMARY_AM],
    )
    mails = []
    for lapse in lapses:
        to = set(managers.get(lapse.organisation_id, []))
        if lapse.sponsor and lapse.sponsor.is_active:
            to.add(lapse.sponsor.email)
        link = absolute_url("portal:account", lapse.organisation_id)
        body = render_to_string("portal/email/sponsor_lapse.txt", {"lapse": lapse, "link": link})
        subject = _("Executive sponsor contact overdue: %(organisation)s") % {
            "organisation": lapse.organisation.name
        }
        mails += [
            Mail(
                key=f"portal.sponsor_lapse:{lapse.pk}",
                to=address,
                subject=subject,
                body=body,
                kind=NotificationKind.SPONSOR_LAPSE,
                link=link,
            )
            for address in sorted(to)
        ]
    return mail_send(mails)
