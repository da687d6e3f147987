"""Email in: one service turns a received message into a ticket, a reply, or a held mail.

Both ways mail arrives call `email_receive(raw=...)`: the beat task that reads the support
mailbox over IMAP (tickets/mailbox.py) and `manage.py receive_email`, which reads one
message from stdin for deployments that pipe mail from their MTA. What becomes of a
message, in order:

1. Seen before (same Message-ID): nothing more (a mailbox read twice, an MTA's retry).
2. Sent automatically (RFC 3834's Auto-Submitted, Precedence bulk/junk/list, the
   X-Autoreply family), a bounce (a delivery report, the mailer-daemon) or one of our own
   notifications coming back: recorded as ignored, so no two robots answer each other.
3. A sender past INBOUND_EMAIL_PER_HOUR: recorded as limited, nothing opened.
4. A reply: found by In-Reply-To / References (our notifications' ids, or an earlier
   message of the ticket), then by a ticket reference in the subject or the plus address
   it was sent to. It is added to that ticket only when the sender is a customer who may
   see it; from anyone else it is handled as a new message, never appended (a known leak
   in other help desks). Staff answer on the ticket page, where a public reply and an
   internal note are two composers, so a staff member's email is held.
5. A new message from a known customer with one active organisation opens a ticket for
   it; a customer of several organisations, or an unknown sender: held for staff, never a
   guess.

The text kept is the new part of the message (mail-parser-reply drops the quoted
history); attachments pass the web form's checks, and a refused file is named in the
ticket instead. Everything happens in one transaction: a failure leaves nothing written,
so the mailbox reader tries the message again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.html import strip_tags
from mailparser_reply import EmailReplyParser

from accounts.models import Membership, User
from tickets import mail_thread
from tickets.attachments import validate_upload
from tickets.choices import Category, InboundOutcome, Source, Status
from tickets.models import InboundEmail, Ticket
from tiers.choices import Priority

# Languages whose "On ... wrote:" lines and signatures mail-parser-reply recognises here.
REPLY_LANGUAGES = ["en", "de", "fr", "es", "nl", "it"]
AUTOMATIC_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
ROBOT_SENDERS = ("mailer-daemon@", "postmaster@", "noreply@", "no-reply@")


@dataclass(frozen=True)
class Received:
    """What became of one message: the outcome, why, and the ticket if any."""

    outcome: str
    reason: str
    ticket_id: int | None = None
    duplicate: bool = False


def email_receive(*, raw: bytes) -> Received:
    """Handle one raw RFC 5322 message received at the support address."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    message_id = _message_id(message, raw)
    sender = _sender(message)
    subject = _header(message, "Subject")[:300]
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = InboundEmail.objects.create(
                    message_id=message_id,
                    sender=sender or "unknown@invalid",
                    subject=subject,
                    received_at=timezone.now(),
                    outcome=InboundOutcome.HELD,
                )
        except IntegrityError:
            seen = InboundEmail.objects.get(message_id=message_id)
            return Received(seen.outcome, "Already received.", seen.ticket_id, duplicate=True)
        outcome = _handle(record, message, sender)
        record.outcome, record.reason = outcome.outcome, outcome.reason[:300]
        record.ticket_id = outcome.ticket_id
        record.save(update_fields=["outcome", "reason", "ticket", "body"])
    return outcome


def _handle(record: InboundEmail, message: EmailMessage, sender: str) -> Received:
    automatic = _automatic(message, sender)
    if automatic:
        return Received(InboundOutcome.IGNORED, automatic)
    if _over_limit(sender, record):
        limit = settings.INBOUND_EMAIL_PER_HOUR
        return Received(InboundOutcome.LIMITED, f"More than {limit} messages in an hour.")
    record.body = _new_text(message)
    uploads, refused = _attachments(message)
    body = _with_refused(record.body, refused) or "(The email had no text.)"
    user = User.objects.filter(email__iexact=sender, is_active=True).first() if sender else None
    if user is not None and user.is_employee:
        return Received(InboundOutcome.HELD, "From staff: answer on the ticket page.")
    ticket = _ticket_replied_to(message, record)
    if user is None:
        return Received(InboundOutcome.HELD, "The sender is not a known person.")
    if ticket is not None and _may_reply(user, ticket):
        target = ticket.merged_into or ticket
        if target.status != Status.CLOSED:
            return _reply(target, user, body, uploads)
        body = f"(A follow-up to {target.reference}, which is closed.)\n\n{body}"
        return _open(user, record.subject, body, uploads, outsider=False)
    return _open(user, record.subject, body, uploads, outsider=ticket is not None)


def _reply(ticket: Ticket, user: User, body: str, uploads: list) -> Received:
    from tickets.services import ticket_reply

    ticket_reply(ticket=ticket, author=user, body=body, attachments=uploads)
    return Received(InboundOutcome.REPLIED, f"Reply to {ticket.reference}.", ticket.pk)


def _open(user: User, subject: str, body: str, uploads: list, *, outsider: bool) -> Received:
    from tickets.services import ticket_create

    organisations = list(
        Membership.objects.filter(user=user, is_active=True).values_list("organisation", flat=True)
    )
    if len(organisations) != 1:
        why = "several organisations" if organisations else "no organisation"
        return Received(InboundOutcome.HELD, f"The sender writes for {why}: staff decide.")
    ticket = ticket_create(
        organisation=Membership.objects.get(user=user, is_active=True).organisation,
        requester=user,
        subject=(subject or "Email to support")[:200],
        category=Category.OTHER,
        priority=Priority.NORMAL,
        body=body,
        attachments=uploads,
        source=Source.EMAIL,
    )
    why = "New message."
    if outsider:  # it named a ticket the sender may not see: a new one, never appended
        why = "Named a ticket the sender may not see: opened a new one."
    return Received(InboundOutcome.OPENED, why, ticket.pk)


@transaction.atomic
def held_email_open(*, record: InboundEmail, organisation, by: User) -> Ticket:
    """Staff decide for a held email from a customer of several organisations: a ticket for
    the one they choose, as if it had come in so (its text; its files stayed in the mailbox)."""
    from tickets.services import ticket_create

    record = InboundEmail.objects.select_for_update().get(pk=record.pk)
    if record.outcome != InboundOutcome.HELD:
        raise ValidationError("This email is no longer held: it was handled already.")
    sender = User.objects.filter(email__iexact=record.sender, is_active=True).first()
    if sender is None or sender.is_employee:
        raise ValidationError("Only an email from a known customer becomes their ticket.")
    if not Membership.objects.filter(
        user=sender, organisation=organisation, is_active=True
    ).exists():
        raise ValidationError(f"{record.sender} does not act for {organisation}.")
    ticket = ticket_create(
        organisation=organisation,
        requester=sender,
        subject=(record.subject or "Email to support")[:200],
        category=Category.OTHER,
        priority=Priority.NORMAL,
        body=record.body or "(The email had no text.)",
        source=Source.EMAIL,
    )
    record.outcome, record.ticket = InboundOutcome.OPENED, ticket
    record.reason = f"Held, then opened for {organisation} by {by}."[:300]
    record.save(update_fields=["outcome", "ticket", "reason"])
    return ticket


def _may_reply(user: User, ticket: Ticket) -> bool:
    return Ticket.objects.visible_to(user).filter(pk=ticket.pk).exists()


def _ticket_replied_to(message: EmailMessage, record: InboundEmail) -> Ticket | None:
    """The ticket this message answers: by its thread headers, then its subject or address."""
    threads = [_header(message, "In-Reply-To"), _header(message, "References")]
    ids = mail_thread.ticket_ids_in(threads)
    earlier = InboundEmail.objects.filter(
        message_id__in=mail_thread.message_ids_in(threads), ticket__isnull=False
    ).exclude(pk=record.pk)
    ids += list(earlier.order_by("-received_at").values_list("ticket_id", flat=True))
    recipients = " ".join(_header(message, name) for name in ("To", "Cc", "Delivered-To"))
    by_reference = mail_thread.reference_in(record.subject, recipients)
    if by_reference is not None:
        ids.append(by_reference)
    for ticket_id in ids:
        ticket = Ticket.objects.select_related("merged_into").filter(pk=ticket_id).first()
        if ticket is not None:
            return ticket
    return None


# --- Reading the message ------------------------------------------------------------------------


def _header(message: EmailMessage, name: str) -> str:
    try:
        return str(message.get(name, "") or "").strip()
    except (ValueError, IndexError):  # a header too broken for the parser
        return ""


def _message_id(message: EmailMessage, raw: bytes) -> str:
    found = mail_thread.message_ids_in([_header(message, "Message-ID")])
    if found:
        return found[0][:255]
    return f"<sha256-{hashlib.sha256(raw).hexdigest()}@no-message-id>"  # same bytes, same id


def _sender(message: EmailMessage) -> str:
    try:
        addresses = message["From"].addresses if message["From"] else ()
    except (AttributeError, ValueError, IndexError):
        return ""
    address = addresses[0].addr_spec if addresses else ""
    return address.strip().lower() if "@" in address else ""  # one spelling per sender


def _automatic(message: EmailMessage, sender: str) -> str:
    """Why this message was sent by a machine, or "" when a person wrote it."""
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}."
    if _header(message, "Precedence").lower() in AUTOMATIC_PRECEDENCE:
        return f"Precedence: {_header(message, 'Precedence')}."
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        if _header(message, name):
            return f"{name} header: an automatic answer."
    if message.get_content_type() == "multipart/report" or sender.startswith(ROBOT_SENDERS):
        return "A delivery report (bounce)."
    if not sender:
        return "No sender address."
    if mail_thread.is_ours(_header(message, "Message-ID")) or sender in _our_addresses():
        return "One of our own messages."
    return ""


def _our_addresses() -> set[str]:
    return {
        address.rpartition("<")[2].strip("> ").lower()
        for address in (settings.SUPPORT_EMAIL, settings.DEFAULT_FROM_EMAIL)
        if address
    }


def _over_limit(sender: str, record: InboundEmail) -> bool:
    since = timezone.now() - timedelta(hours=1)
    earlier = InboundEmail.objects.filter(sender=sender, received_at__gte=since).exclude(
        pk=record.pk
    )
    return earlier.count() >= settings.INBOUND_EMAIL_PER_HOUR


def _new_text(message: EmailMessage) -> str:
    """The text the sender wrote now: plain text (or the HTML's text) without the quote."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        text = part.get_content()
    except (LookupError, UnicodeError):  # an unknown or lying charset
        text = part.get_payload(decode=True).decode("utf-8", errors="replace")
    if part.get_content_subtype() == "html":
        text = strip_tags(text)
    text = text.replace("\r\n", "\n").strip()
    new = EmailReplyParser(languages=REPLY_LANGUAGES).parse_reply(text=text).strip()
    return new or text


def _attachments(message: EmailMessage) -> tuple[list, list[str]]:
    """The files that pass the web form's checks, and why each other one did not."""
    accepted, refused = [], []
    for part in message.iter_attachments():
        name = part.get_filename() or "attachment"
        data = part.get_payload(decode=True) or b""
        upload = SimpleUploadedFile(name, data, part.get_content_type())
        try:
            validate_upload(upload)
        except ValidationError as error:
            refused.append(" ".join(error.messages))
            continue
        accepted.append(upload)
    return accepted, refused


def _with_refused(body: str, refused: list[str]) -> str:
    if not refused:
        return body
    lines = "\n".join(f"- {reason}" for reason in refused)
    return f"{body}\n\n[Not attached, sent by email:\n{lines}]".strip()
