"""Celery entry points for tickets: the SLA scan and the emails. Thin: ids in, summary out."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mass_mail
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.choices import TeamRole
from accounts.models import AccountAssignment

MAIL_RETRY = {
    "autoretry_for": (ConnectionError, TimeoutError, OSError),
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 5,
}


def _link(name: str, *args) -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + reverse(name, args=args)


def _account_managers(organisation_ids) -> dict[int, list[str]]:
    """Email addresses of the current primary and backup AMs, by organisation."""
    rows = AccountAssignment.objects.filter(
        organisation_id__in=organisation_ids,
        ended_at__isnull=True,
        role__in=[TeamRole.PRIMARY_AM, TeamRole.BACKUP_AM],
        user__is_active=True,
    ).values_list("organisation_id", "user__email")
    found: dict[int, list[str]] = {}
    for organisation_id, email in rows:
        found.setdefault(organisation_id, []).append(email)
    return found


def _send(messages: list[tuple[str, str, list[str]]]) -> int:
    batch = [(subject, body, None, to) for subject, body, to in messages if to]
    return send_mass_mail(batch, fail_silently=False) if batch else 0


@shared_task
def sla_scan() -> dict:
    from tickets.services import sla_scan as scan

    return scan()


@shared_task(**MAIL_RETRY)
def notify_new_ticket(ticket_id: int) -> int:
    from tickets.models import Ticket

    ticket = Ticket.objects.select_related("organisation", "requester").get(pk=ticket_id)
    to = _account_managers([ticket.organisation_id]).get(ticket.organisation_id, [])
    body = render_to_string(
        "tickets/email/new_ticket.txt",
        {"ticket": ticket, "link": _link("tickets:detail", ticket.pk)},
    )
    return _send([(f"[{ticket.reference}] New ticket from {ticket.organisation.name}", body, to)])


@shared_task(**MAIL_RETRY)
def notify_staff_reply(message_id: int) -> int:
    """Tell the requester that staff answered. Internal notes never leave the building."""
    from tickets.models import Message

    message = Message.objects.select_related("ticket__requester", "author").get(pk=message_id)
    if message.is_internal or message.ticket.requester is None:
        return 0
    ticket = message.ticket
    body = render_to_string(
        "tickets/email/staff_reply.txt",
        {"ticket": ticket, "message": message, "link": _link("tickets:detail", ticket.pk)},
    )
    return _send([(f"[{ticket.reference}] {ticket.subject}", body, [ticket.requester.email])])


@shared_task(**MAIL_RETRY)
def notify_resolved(ticket_id: int) -> int:
    """Staff resolved the ticket: tell the requester and ask how it went."""
    from tickets.models import Ticket

    ticket = Ticket.objects.select_related("requester").get(pk=ticket_id)
    if ticket.requester is None or not ticket.requester.is_active:
        return 0
    body = render_to_string(
        "tickets/email/resolved.txt",
        {"ticket": ticket, "link": _link("tickets:detail", ticket.pk)},
    )
    return _send(
        [(f"[{ticket.reference}] Resolved: {ticket.subject}", body, [ticket.requester.email])]
    )


@shared_task(**MAIL_RETRY)
def notify_sla_warnings(ticket_ids: list[int]) -> int:
    from tickets.models import Ticket

    tickets = list(
        Ticket.objects.filter(pk__in=ticket_ids).select_related("organisation", "assignee")
    )
    managers = _account_managers({t.organisation_id for t in tickets})
    messages = []
    for ticket in tickets:
        to = set(managers.get(ticket.organisation_id, []))
        if ticket.assignee and ticket.assignee.is_active:
            to.add(ticket.assignee.email)
        body = render_to_string(
            "tickets/email/sla_warning.txt",
            {"ticket": ticket, "link": _link("tickets:detail", ticket.pk)},
        )
        messages.append((f"[{ticket.reference}] SLA at risk: {ticket.subject}", body, sorted(to)))
    return _send(messages)


@shared_task(**MAIL_RETRY)
def notify_improvement_done(improvement_id: int) -> int:
    from tickets.models import Improvement

    improvement = Improvement.objects.get(pk=improvement_id)
    tickets = improvement.tickets.select_related("requester").filter(requester__is_active=True)
    messages = []
    for ticket in tickets:
        body = render_to_string(
            "tickets/email/improvement_done.txt",
            {"ticket": ticket, "improvement": improvement, "link": _link("home")},
        )
        messages.append(
            (
                f"We fixed what you told us about in {ticket.reference}",
                body,
                [ticket.requester.email],
            )
        )
    return _send(messages)
