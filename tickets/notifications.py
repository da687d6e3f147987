"""The emails of tickets: who is told what when a ticket opens, is answered, resolved,
nears its SLA, or when an improvement it led to is done.

Each function renders one `Mail` per person and sends them with `accounts.platform.mail.mail_send`
(each person once per notification key); the Celery tasks in tickets/tasks.py call them.
Internal notes never leave the building.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from accounts.choices import NotificationKind
from accounts.locale import person_locale
from accounts.platform.mail import Mail, absolute_url, mail_send
from accounts.selectors import account_manager_emails, new_ticket_watchers
from tickets import mail_thread
from tickets.models import Improvement, InboundEmail, Message, Ticket
from tickets.rating_links import rating_link
from tickets.selectors import ticket_followers_to_tell

logger = logging.getLogger(__name__)


def _ticket_mail(
    ticket: Ticket,
    *,
    key: str,
    to: str,
    subject: str,
    body: str,
    to_staff: bool = False,
    kind: str = "",
) -> Mail:
    """A mail in the ticket's thread (mail clients group them). A customer's replies go to
    the ticket's own address and land on it (tickets/mail_thread.py, tickets/inbound.py);
    staff answer on the ticket page, so their mails ask for no reply."""
    return Mail(
        key=key,
        to=to,
        subject=subject,
        body=body,
        headers=tuple(mail_thread.headers(ticket.pk, key, to).items()),
        reply_to="" if to_staff else mail_thread.reply_address(ticket.reference),
        kind=kind,
        link=absolute_url("tickets:detail", ticket.pk),
    )


def new_ticket_notify(*, ticket: Ticket) -> dict[str, int]:
    """Tell who watches the account that a customer opened a ticket: its account manager,
    whoever covers for them, and staff who follow the account (a backup AM follows it to
    hear about every ticket; accounts.selectors.new_ticket_watchers)."""
    watchers = new_ticket_watchers(organisation_ids=[ticket.organisation_id])
    body = render_to_string(
        "tickets/email/new_ticket.txt",
        {"ticket": ticket, "link": absolute_url("tickets:detail", ticket.pk)},
    )
    subject = _("[%(reference)s] New ticket from %(organisation)s") % {
        "reference": ticket.reference,
        "organisation": ticket.organisation.name,
    }
    return mail_send(
        _ticket_mail(
            ticket,
            key=f"tickets.new_ticket:{ticket.pk}",
            to=to,
            subject=subject,
            body=body,
            to_staff=True,
            kind=NotificationKind.TICKET_NEW,
        )
        for to in watchers.get(ticket.organisation_id, [])
    )


def staff_reply_notify(*, message: Message) -> dict[str, int]:
    """Tell the requester, and the colleagues who follow the ticket or are CC'd on it,
    that staff answered. Internal notes send nothing."""
    ticket = message.ticket
    if message.is_internal:
        return mail_send([])
    link = absolute_url("tickets:detail", ticket.pk)
    key = f"tickets.staff_reply:{message.pk}"
    subject = f"[{ticket.reference}] {ticket.subject}"
    mails = []
    if ticket.requester is not None:
        with person_locale(ticket.requester, ticket.organisation):  # the reader's words, time
            body = render_to_string(
                "tickets/email/staff_reply.txt",
                {"ticket": ticket, "message": message, "link": link},
            )
        mails.append(
            _ticket_mail(
                ticket,
                key=key,
                to=ticket.requester.email,
                subject=subject,
                body=body,
                kind=NotificationKind.TICKET_REPLY,
            )
        )
    mails += _follower_mails(
        ticket,
        key=key,
        subject=subject,
        template="tickets/email/follower_reply.txt",
        context={"message": message, "link": link},
        kind=NotificationKind.TICKET_REPLY,
    )
    return mail_send(mails)


def _follower_mails(
    ticket: Ticket, *, key: str, subject: str, template: str, context: dict, kind: str
) -> list[Mail]:
    """One mail per follower who still belongs to the ticket's organisation (not the
    requester, who has their own)."""
    mails = []
    for follower in ticket_followers_to_tell(ticket=ticket):
        with person_locale(follower, ticket.organisation):
            body = render_to_string(template, {**context, "ticket": ticket, "recipient": follower})
        mails.append(
            _ticket_mail(ticket, key=key, to=follower.email, subject=subject, body=body, kind=kind)
        )
    return mails


def ticket_resolved_notify(*, ticket: Ticket) -> dict[str, int]:
    """Staff resolved the ticket: tell the requester and ask how it went; tell its
    followers it is resolved."""
    # A ticket resolved, reopened and resolved again is news again: the key names the time.
    resolved = ticket.resolved_at.isoformat() if ticket.resolved_at else "reopened"
    scores = [(score, rating_link(ticket, score)) for score in range(5, 0, -1)]
    key = f"tickets.resolved:{ticket.pk}:{resolved}"
    subject = f"[{ticket.reference}] Resolved: {ticket.subject}"
    mails = []
    if ticket.requester is not None and ticket.requester.is_active:
        with person_locale(ticket.requester, ticket.organisation):
            body = render_to_string(
                "tickets/email/resolved.txt",
                {
                    "ticket": ticket,
                    "link": absolute_url("tickets:detail", ticket.pk),
                    "scores": scores,
                },
            )
            subject = _("[%(reference)s] Resolved: %(subject)s") % {
                "reference": ticket.reference,
                "subject": ticket.subject,
            }
        mails.append(
            _ticket_mail(
                ticket,
                key=key,
                to=ticket.requester.email,
                subject=subject,
                body=body,
                kind=NotificationKind.TICKET_RESOLVED,
            )
        )
    # Followers hear it is resolved; the rating is the requester's.
    mails += _follower_mails(
        ticket,
        key=key,
        subject=subject,
        template="tickets/email/follower_resolved.txt",
        context={"link": absolute_url("tickets:detail", ticket.pk)},
        kind=NotificationKind.TICKET_RESOLVED,
    )
    return mail_send(mails)


def sla_warnings_notify(*, tickets: Iterable[Ticket]) -> dict[str, int]:
    """Warn each at-risk ticket's account managers and its assignee (the scan warns once)."""
    tickets = list(tickets)
    managers = account_manager_emails(organisation_ids={t.organisation_id for t in tickets})
    mails = []
    for ticket in tickets:
        try:  # one ticket that cannot be told about never stops the others' warnings
            mails += _sla_warning_mails(ticket, managers.get(ticket.organisation_id, []))
        except Exception:
            logger.exception("SLA warning for ticket %s not composed", ticket.pk)
    return mail_send(mails)


def _sla_warning_mails(ticket: Ticket, managers: list[str]) -> list[Mail]:
    to = set(managers)
    if ticket.assignee and ticket.assignee.is_active:
        to.add(ticket.assignee.email)
    body = render_to_string(
        "tickets/email/sla_warning.txt",
        {"ticket": ticket, "link": absolute_url("tickets:detail", ticket.pk)},
    )
    subject = _("[%(reference)s] SLA at risk: %(subject)s") % {
        "reference": ticket.reference,
        "subject": ticket.subject,
    }
    return [
        _ticket_mail(
            ticket,
            key=f"tickets.sla_warning:{ticket.pk}",
            to=address,
            subject=subject,
            body=body,
            to_staff=True,
            kind=NotificationKind.SLA_WARNING,
        )
        for address in sorted(to)
    ]


def improvement_done_notify(*, improvement: Improvement) -> dict[str, int]:
    """Tell the requester of each linked ticket what changed (one mail per ticket)."""
    # Done, reopened and done again is news again: the key names the time it was done.
    done = improvement.done_at.isoformat() if improvement.done_at else "not-done"
    tickets = improvement.tickets.select_related("requester").filter(requester__is_active=True)
    mails = []
    for ticket in tickets:
        try:  # one ticket that cannot be told about never stops the others' mails
            with person_locale(ticket.requester):
                body = render_to_string(
                    "tickets/email/improvement_done.txt",
                    {"ticket": ticket, "improvement": improvement, "link": absolute_url("home")},
                )
                subject = _("We fixed what you told us about in %(reference)s") % {
                    "reference": ticket.reference
                }
        except Exception:
            logger.exception("improvement mail for ticket %s not composed", ticket.pk)
            continue
        mails.append(
            Mail(
                key=f"tickets.improvement_done:{improvement.pk}:{done}:ticket:{ticket.pk}",
                to=ticket.requester.email,
                subject=subject,
                body=body,
                kind=NotificationKind.IMPROVEMENT_DONE,
                link=absolute_url("tickets:detail", ticket.pk),
            )
        )
    return mail_send(mails)


def inbound_refused_notify(*, record: InboundEmail) -> dict[str, int]:
    """Answer an email that was too large to take in (the sender was vouched for)."""
    body = render_to_string(
        "tickets/email/inbound_refused.txt",
        {"record": record, "max_bytes": settings.INBOUND_EMAIL_MAX_BYTES},
    )
    return mail_send(
        [
            Mail(
                key=f"tickets.inbound_refused:{record.pk}",
                to=record.sender,
                subject=_("Not received: %(subject)s")
                % {"subject": record.subject or _("your email")},
                body=body,
            )
        ]
    )
