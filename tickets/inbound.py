"""Email in: one service turns a received message into a ticket, a reply, or a held mail.

Both ways mail arrives call `email_receive(raw=...)`: the beat task that reads the support
mailbox over IMAP (tickets/mailbox.py) and `manage.py receive_email`, which reads one
message from stdin for deployments that pipe mail from their MTA. What becomes of a
message, in order:

0. Larger than INBOUND_EMAIL_MAX_BYTES: refused, with a clear answer.
1. Seen before (same Message-ID and the same content): nothing more (a mailbox read
   twice, an MTA's retry). The same Message-ID with other content is held.
2. Sent by a machine (tickets/mail_automatic.py: delivery reports, null Return-Path,
   Auto-Submitted, lists, the Exchange family, ...) or one of our own notifications
   coming back: recorded as ignored, so no two robots answer each other. It counts toward
   nobody's limit.
3. A sender past INBOUND_EMAIL_PER_HOUR: recorded as limited, nothing opened. Mail the
   receiving server vouched for (tickets/mail_auth.py) and mail it did not are counted
   apart, so forged mail never spends a real sender's limit.
4. From a known address the receiving server did not vouch for: held for staff. Anyone
   can write any From; only proven mail acts as that person.
5. A reply: found by In-Reply-To / References (our notifications' ids, or an earlier
   message of the ticket), then by a ticket reference in the subject or the plus address
   it was sent to. It is added to that ticket only when the sender is a customer who may
   see it; from anyone else it is handled as a new message, never appended (a known leak
   in other help desks). Staff answer on the ticket page, where a public reply and an
   internal note are two composers, so a staff member's email is held.
6. A new message from a known customer with one active organisation opens a ticket for
   it; a customer of several organisations, or an unknown sender: held for staff, never a
   guess.

The text kept is the new part of the message (tickets/mail_text.py); files pass the web
form's checks (tickets/mail_files.py finds them), and a refused file is named in the
ticket instead. The message as received is kept with its record (and so with the ticket
message it became) for staff. Everything happens in one transaction. A message that
cannot be handled (broken beyond reading, a value the database refuses) is held with its
raw bytes and the error, and the caller goes on; only errors that may pass (the database
or the disk unreachable) are raised, for the caller to try again later.
"""

from __future__ import annotations

import hashlib
import logging
import re
import traceback
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import AuditAction
from accounts.models import Membership, User
from accounts.services import audit_record
from tickets import mail_thread
from tickets.attachments import uploads_check
from tickets.choices import Category, InboundOutcome, Source, Status
from tickets.mail_auth import sender_authenticated
from tickets.mail_automatic import automatic_reason
from tickets.mail_files import files_in
from tickets.mail_text import header_text, new_text
from tickets.models import InboundEmail, Message, Ticket
from tiers.choices import Priority

logger = logging.getLogger(__name__)
# Errors that may pass: the database or the disk unreachable, locked, timed out. Anything
# else a message causes is its own (a NUL byte, an over-long value, a broken structure):
# retrying cannot help, so the message is held and the mailbox goes on.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, OSError)
HEADER_END = re.compile(rb"\r?\n\r?\n")
LONE_CR = re.compile(rb"\r(?!\n)")


@dataclass(frozen=True)
class Received:
    """What became of one message: the outcome, why, and the ticket if any."""

    outcome: str
    reason: str
    ticket_id: int | None = None
    duplicate: bool = False
    message_pk: int | None = None  # the ticket message it became


@dataclass(frozen=True)
class _Mail:
    """One received message, read: what the rules below look at."""

    raw: bytes
    message: EmailMessage
    message_id: str
    digest: str
    sender: str
    subject: str
    authenticated: bool


def email_receive(*, raw: bytes) -> Received:
    """Handle one raw RFC 5322 message received at the support address.

    Raises only errors that may pass (TRANSIENT_ERRORS): try the message again later.
    """
    if len(raw) > settings.INBOUND_EMAIL_MAX_BYTES:
        return _refuse_too_large(raw)
    try:
        mail = _read(raw)
        with transaction.atomic():
            return _receive(mail)
    except TRANSIENT_ERRORS:
        raise
    except Exception as error:  # whatever this message causes, it is held
        logger.exception("email held: it could not be handled")
        return email_hold(raw=raw, error=error)


def _read(raw: bytes) -> _Mail:
    readable = raw
    if raw.count(b"\r") > 2 * raw.count(b"\n"):  # old Mac line ends: CR alone
        readable = LONE_CR.sub(b"\r\n", raw)
    message = BytesParser(policy=policy.default).parsebytes(readable)
    sender = _sender(message)
    subject = header_text(message, "Subject")[:300]
    end = HEADER_END.search(readable)
    body = readable[end.end() :] if end else b""
    body = body.replace(b"\r\n", b"\n").rstrip()  # the same message, whatever its line ends
    content = hashlib.sha256(f"{sender}\n{subject}\n".encode() + body).hexdigest()
    return _Mail(
        raw=raw,
        message=message,
        message_id=_message_id(message, raw),
        digest=content,
        sender=sender,
        subject=subject,
        authenticated=bool(sender) and sender_authenticated(message, sender),
    )


def _receive(mail: _Mail) -> Received:
    try:
        with transaction.atomic():
            record = InboundEmail.objects.create(
                message_id=mail.message_id,
                digest=mail.digest,
                sender=mail.sender or "unknown@invalid",
                authenticated=mail.authenticated,
                subject=mail.subject,
                received_at=timezone.now(),
                outcome=InboundOutcome.HELD,
                size=len(mail.raw),
            )
    except IntegrityError:
        seen = InboundEmail.objects.get(message_id=mail.message_id, digest=mail.digest)
        return Received(seen.outcome, "Already received.", seen.ticket_id, duplicate=True)
    reused = InboundEmail.objects.filter(message_id=mail.message_id).exclude(pk=record.pk)
    if reused.exists() and not automatic_reason(mail.message, mail.sender, mail.subject):
        outcome = Received(InboundOutcome.HELD, "Its Message-ID came before with other content.")
        record.body = new_text(mail.message, mail.subject).replace("\x00", "")
    else:
        outcome = _handle(record, mail)
    record.raw.save("message.eml", ContentFile(mail.raw), save=False)
    record.outcome, record.reason = outcome.outcome, outcome.reason[:300]
    record.ticket_id, record.ticket_message_id = outcome.ticket_id, outcome.message_pk
    record.save()
    return outcome


def _handle(record: InboundEmail, mail: _Mail) -> Received:
    message, sender = mail.message, mail.sender
    automatic = automatic_reason(message, sender, mail.subject) or _ours(message, sender)
    if automatic:
        return Received(InboundOutcome.IGNORED, automatic)
    if _over_limit(record):
        limit = settings.INBOUND_EMAIL_PER_HOUR
        return Received(InboundOutcome.LIMITED, f"More than {limit} messages in an hour.")
    files, texts = files_in(message)
    texts = [new_text(message, mail.subject), *texts]
    record.body = "\n\n".join(filter(None, texts)).replace("\x00", "")  # PostgreSQL refuses NUL
    uploads, refused = _uploads(files)
    body = _with_refused(record.body, refused) or "(The email had no text.)"
    if not sender:
        return Received(InboundOutcome.HELD, "No sender address could be read.")
    user = User.objects.filter(email__iexact=sender, is_active=True).first()
    ticket = _ticket_replied_to(message, record)
    if user is not None and not mail.authenticated:
        return _hold_unproven(user, ticket)
    if user is not None and user.is_employee:
        return Received(InboundOutcome.HELD, "From staff: answer on the ticket page.")
    if user is None:
        return Received(InboundOutcome.HELD, "The sender is not a known person.")
    if ticket is not None and _may_reply(user, ticket):
        target = ticket.merged_into or ticket
        if target.status != Status.CLOSED:
            return _reply(target, user, body, uploads)
        body = f"(A follow-up to {target.reference}, which is closed.)\n\n{body}"
        return _open(user, record.subject, body, uploads, outsider=False)
    return _open(user, record.subject, body, uploads, outsider=ticket is not None)


def _hold_unproven(user: User, ticket: Ticket | None) -> Received:
    """Held: it may be forged. A reply keeps the ticket it answers (one its sender may
    see), so staff can add it there once they are sure (held_reply_add)."""
    reason = (
        "The receiving mail server did not vouch for the sender's address "
        "(no DMARC, DKIM or SPF pass): it may be forged. Staff decide."
    )
    if ticket is None or not _may_reply(user, ticket):
        return Received(InboundOutcome.HELD, reason)
    return Received(InboundOutcome.HELD, f"{reason} It answers {ticket.reference}.", ticket.pk)


def _reply(ticket: Ticket, user: User, body: str, uploads: list) -> Received:
    from tickets.services import ticket_reply

    reply = ticket_reply(ticket=ticket, author=user, body=body, attachments=uploads)
    return Received(
        InboundOutcome.REPLIED, f"Reply to {ticket.reference}.", ticket.pk, message_pk=reply.pk
    )


def _open(user: User, subject: str, body: str, uploads: list, *, outsider: bool) -> Received:
    from tickets.services import ticket_create

    organisations = list(
        Membership.objects.active().filter(user=user).values_list("organisation", flat=True)
    )
    if len(organisations) != 1:
        why = "several organisations" if organisations else "no organisation"
        return Received(InboundOutcome.HELD, f"The sender writes for {why}: staff decide.")
    ticket = ticket_create(
        organisation=Membership.objects.active().get(user=user).organisation,
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
    first = ticket.messages.order_by("pk").values_list("pk", flat=True).first()
    return Received(InboundOutcome.OPENED, why, ticket.pk, message_pk=first)


@transaction.atomic
def held_email_open(*, record: InboundEmail, organisation, by: User) -> Ticket:
    """Staff decide for a held email from a customer of several organisations: a ticket for
    the one they choose, as if it had come in so (its text; its files stayed in the mailbox)."""
    from tickets.services import ticket_create

    record = InboundEmail.objects.select_for_update().get(pk=record.pk)
    if record.outcome != InboundOutcome.HELD:
        raise ValidationError(_("This email is no longer held: it was handled already."))
    sender = User.objects.filter(email__iexact=record.sender, is_active=True).first()
    if sender is None or sender.is_employee:
        raise ValidationError(_("Only an email from a known customer becomes their ticket."))
    if not Membership.objects.active().filter(user=sender, organisation=organisation).exists():
        raise ValidationError(
            _("%(sender)s does not act for %(organisation)s.")
            % {"sender": record.sender, "organisation": organisation}
        )
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


@transaction.atomic
def held_reply_add(*, record: InboundEmail, by: User) -> Message:
    """Staff are sure a held, unproven reply is its sender's: added to the ticket it answers,
    as the sender's reply with its files, once. `by` must see that ticket's organisation;
    audited."""
    from tickets.services import ticket_reply

    record = InboundEmail.objects.select_for_update().get(pk=record.pk)
    if record.outcome != InboundOutcome.HELD:
        raise ValidationError(_("This email is no longer held: it was handled already."))
    if record.ticket_id is None or record.authenticated:
        raise ValidationError(_("Only an unproven reply to a ticket is added this way."))
    ticket = Ticket.objects.visible_to(by).filter(pk=record.ticket_id).first()
    if ticket is None:
        raise PermissionDenied(_("You may not see the ticket this email answers."))
    sender = User.objects.filter(email__iexact=record.sender, is_active=True).first()
    if sender is None or sender.is_employee or not _may_reply(sender, ticket):
        raise ValidationError(
            _("%(sender)s may no longer write on %(reference)s.")
            % {"sender": record.sender, "reference": ticket.reference}
        )
    uploads, refused = _kept_files(record)
    body = _with_refused(record.body, refused) or "(The email had no text.)"
    reply = ticket_reply(ticket=ticket, author=sender, body=body, attachments=uploads)
    record.outcome, record.ticket_message = InboundOutcome.REPLIED, reply
    record.reason = f"Held, then added to {ticket.reference} by {by}."[:300]
    record.save(update_fields=["outcome", "ticket_message", "reason"])
    audit_record(
        actor=by,
        action=AuditAction.RECORD_CHANGED,
        organisation=ticket.organisation,
        target=f"inbound email #{record.pk}: added to {ticket.reference}",
        detail={
            "model": "tickets.inboundemail",
            "pk": record.pk,
            "changes": {"outcome": [InboundOutcome.HELD, InboundOutcome.REPLIED]},
            "message": reply.pk,
        },
    )
    return reply


def _kept_files(record: InboundEmail) -> tuple[list, list[str]]:
    """The files of a held email, from its kept .eml (none once past INBOUND_EMAIL_RAW_DAYS)."""
    if not record.raw:
        return [], []
    with record.raw.open("rb") as handle:
        files, _ = files_in(_read(handle.read()).message)
    return _uploads(files)


def _may_reply(user: User, ticket: Ticket) -> bool:
    return Ticket.objects.visible_to(user).filter(pk=ticket.pk).exists()


def _ticket_replied_to(message: EmailMessage, record: InboundEmail) -> Ticket | None:
    """The ticket this message answers: by its thread headers, then its subject or address."""
    threads = [header_text(message, "In-Reply-To"), header_text(message, "References")]
    ids = mail_thread.ticket_ids_in(threads)
    earlier = InboundEmail.objects.filter(
        message_id__in=mail_thread.message_ids_in(threads), ticket__isnull=False
    ).exclude(pk=record.pk)
    ids += list(earlier.order_by("-received_at").values_list("ticket_id", flat=True))
    recipients = " ".join(header_text(message, name) for name in ("To", "Cc", "Delivered-To"))
    by_reference = mail_thread.reference_in(record.subject, recipients)
    if by_reference is not None:
        ids.append(by_reference)
    for ticket_id in ids:
        ticket = Ticket.objects.select_related("merged_into").filter(pk=ticket_id).first()
        if ticket is not None:
            return ticket
    return None


# --- Reading the message ------------------------------------------------------------------------


def _message_id(message: EmailMessage, raw: bytes) -> str:
    found = mail_thread.message_ids_in([header_text(message, "Message-ID")])
    if found and len(found[0]) <= 255:
        return found[0]
    return f"<sha256-{hashlib.sha256(raw).hexdigest()}@no-message-id>"  # same bytes, same id


def _sender(message: EmailMessage) -> str:
    try:
        addresses = message["From"].addresses if message["From"] else ()
        address = addresses[0].addr_spec if addresses else ""
    except (AttributeError, ValueError, IndexError, TypeError, LookupError):
        return ""
    address = address.strip().lower()  # one spelling per sender
    valid = "@" in address and len(address) <= 254 and address.isprintable()
    return address if valid and " " not in address else ""


def _ours(message: EmailMessage, sender: str) -> str:
    if mail_thread.is_ours(header_text(message, "Message-ID")) or sender in _our_addresses():
        return "One of our own messages."
    return ""


def _our_addresses() -> set[str]:
    return {
        address.rpartition("<")[2].strip("> ").lower()
        for address in (settings.SUPPORT_EMAIL, settings.DEFAULT_FROM_EMAIL)
        if address
    }


def _over_limit(record: InboundEmail) -> bool:
    """Past the hourly limit: counting this sender's messages that were vouched for, or
    those that were not, apart (forged mail never spends the real sender's limit), and
    never the automatic ones, which nobody wrote."""
    since = timezone.now() - timedelta(hours=1)
    earlier = (
        InboundEmail.objects.filter(
            sender=record.sender, authenticated=record.authenticated, received_at__gte=since
        )
        .exclude(pk=record.pk)
        .exclude(outcome__in=[InboundOutcome.IGNORED, InboundOutcome.REFUSED])
    )
    return earlier.count() >= settings.INBOUND_EMAIL_PER_HOUR


def _uploads(files: list[tuple[str, bytes, str]]) -> tuple[list, list[str]]:
    """The files that pass the web form's checks, and why each other one did not."""
    return uploads_check(SimpleUploadedFile(*file) for file in files)


def _with_refused(body: str, refused: list[str]) -> str:
    if not refused:
        return body
    lines = "\n".join(f"- {reason}" for reason in refused)
    return f"{body}\n\n[Not attached, sent by email:\n{lines}]".strip()


# --- Messages that are not handled ---------------------------------------------------------------


def _headers_only(raw: bytes) -> tuple[str, str, EmailMessage | None]:
    """(sender, subject, headers) read as well as a broken or huge message allows."""
    try:
        end = HEADER_END.search(raw, 0, 1024 * 1024)
        head = raw[: end.end()] if end else raw[: 1024 * 1024]
        message = BytesHeaderParser(policy=policy.default).parsebytes(head)
        return _sender(message), header_text(message, "Subject")[:300], message
    except Exception:  # nothing readable: still kept, as unknown
        return "", "", None


def email_hold(*, raw: bytes, error: Exception) -> Received:
    """Keep a message that could not be handled, with its bytes and the error, for staff.

    It is recorded under the same Message-ID and content digest as a handled one would be,
    so the same message delivered again is known (held once), not tried again."""
    try:
        mail = _read(raw)
        message_id, digest, sender, subject = (
            mail.message_id,
            mail.digest,
            mail.sender,
            mail.subject,
        )
    except Exception:  # unreadable: kept by its bytes' digest, as unknown
        sender, subject, _ = _headers_only(raw)
        digest = hashlib.sha256(raw).hexdigest()
        message_id = f"<sha256-{digest}@no-message-id>"
    reason = f"Could not be handled ({type(error).__name__}): staff decide."
    details = "".join(traceback.format_exception(error))[-5000:].replace("\x00", "")
    with transaction.atomic():
        record, created = InboundEmail.objects.get_or_create(
            message_id=message_id,
            digest=digest,
            defaults={
                "sender": sender or "unknown@invalid",
                "subject": subject,
                "received_at": timezone.now(),
                "outcome": InboundOutcome.HELD,
                "reason": reason[:300],
                "error": details,
                "size": len(raw),
            },
        )
        if created:
            record.raw.save("message.eml", ContentFile(raw), save=True)
    return Received(record.outcome, record.reason, record.ticket_id, duplicate=not created)


def _refuse_too_large(raw: bytes) -> Received:
    """Recorded (without its bytes) and answered: too large to take in. The answer goes
    only to a sender the receiving server vouched for, and never to a machine."""
    from tickets import tasks

    sender, subject, message = _headers_only(raw)
    vouched = message is not None and bool(sender) and sender_authenticated(message, sender)
    answer = vouched and not automatic_reason(message, sender, subject)
    limit = filesizeformat(settings.INBOUND_EMAIL_MAX_BYTES)
    reason = f"Refused: {filesizeformat(len(raw))}, larger than the {limit} we accept."
    digest = hashlib.sha256(raw).hexdigest()
    message_id = _message_id(message, raw) if message is not None else ""
    record, created = InboundEmail.objects.get_or_create(
        message_id=message_id or f"<sha256-{digest}@no-message-id>",
        digest=digest,
        defaults={
            "sender": sender or "unknown@invalid",
            "subject": subject,
            "received_at": timezone.now(),
            "outcome": InboundOutcome.REFUSED,
            "reason": reason,
            "size": len(raw),
            "authenticated": vouched,
        },
    )
    if created and answer:
        transaction.on_commit(lambda: tasks.notify_inbound_refused.delay(record.pk))
    return Received(InboundOutcome.REFUSED, reason, duplicate=not created)


def inbound_raw_purge(*, now=None) -> dict[str, int]:
    """Delete the kept messages (.eml) older than INBOUND_EMAIL_RAW_DAYS; the records stay."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.INBOUND_EMAIL_RAW_DAYS)
    old = InboundEmail.objects.filter(received_at__lt=cutoff).exclude(raw="")
    deleted = 0
    for record in old.iterator(chunk_size=500):
        record.raw.delete(save=False)  # a file already gone is not an error
        InboundEmail.objects.filter(pk=record.pk).update(raw="")
        deleted += 1
    return {"deleted": deleted}
