"""Celery entry points for tickets: the SLA scan and the emails. Thin: ids in, summary out.

Who is told what lives in tickets/notifications.py; sending, the record that nobody is
mailed twice and the retry policy in accounts/platform/mail.py.
"""

from celery import shared_task

from accounts.platform.mail import MAIL_RETRY


@shared_task
def sla_scan() -> dict:
    from tickets.services import sla_scan as scan

    return scan()


@shared_task(**MAIL_RETRY)
def notify_new_ticket(ticket_id: int) -> dict[str, int]:
    from tickets import notifications
    from tickets.models import Ticket

    ticket = Ticket.objects.select_related("organisation", "requester").get(pk=ticket_id)
    return notifications.new_ticket_notify(ticket=ticket)


@shared_task(**MAIL_RETRY)
def notify_staff_reply(message_id: int) -> dict[str, int]:
    """Tell the requester that staff answered. Internal notes never leave the building."""
    from tickets import notifications
    from tickets.models import Message

    message = Message.objects.select_related("ticket__requester", "author").get(pk=message_id)
    return notifications.staff_reply_notify(message=message)


@shared_task(**MAIL_RETRY)
def notify_resolved(ticket_id: int) -> dict[str, int]:
    """Staff resolved the ticket: tell the requester and ask how it went."""
    from tickets import notifications
    from tickets.models import Ticket

    ticket = Ticket.objects.select_related("requester").get(pk=ticket_id)
    return notifications.ticket_resolved_notify(ticket=ticket)


@shared_task(**MAIL_RETRY)
def notify_sla_warnings(ticket_ids: list[int]) -> dict[str, int]:
    from tickets import notifications
    from tickets.models import Ticket

    tickets = Ticket.objects.filter(pk__in=ticket_ids).select_related("organisation", "assignee")
    return notifications.sla_warnings_notify(tickets=tickets)


@shared_task(**MAIL_RETRY)
def notify_improvement_done(improvement_id: int) -> dict[str, int]:
    from tickets import notifications
    from tickets.models import Improvement

    improvement = Improvement.objects.get(pk=improvement_id)
    return notifications.improvement_done_notify(improvement=improvement)


@shared_task(time_limit=300, soft_time_limit=240)
def mailbox_poll() -> dict[str, int]:
    """Beat, every minute: tickets from the support mailbox (nothing without MAILBOX_URL).
    No retry: the next poll reads what is still unread."""
    from tickets.mailbox import mailbox_read

    return mailbox_read()


@shared_task(**MAIL_RETRY)
def notify_inbound_refused(inbound_email_id: int) -> dict[str, int]:
    """Tell a (vouched-for) sender that their email was too large to take in."""
    from tickets import notifications
    from tickets.models import InboundEmail

    record = InboundEmail.objects.get(pk=inbound_email_id)
    return notifications.inbound_refused_notify(record=record)


@shared_task
def inbound_raw_purge() -> dict[str, int]:
    """Delete the received messages (.eml) older than INBOUND_EMAIL_RAW_DAYS."""
    from tickets.inbound import inbound_raw_purge as purge

    return purge()
