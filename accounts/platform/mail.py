"""Sending notification emails: the one way every app does it, each person once per notification.

A notification service (accounts/notifications.py, tickets/notifications.py,
portal/relationship/notifications.py) decides who is told what and renders one `Mail`
per person; `mail_send` sends them and the Celery task returns its summary.

`mail_send` sends every mail over one connection and records each one the SMTP server
accepted as a `SentNotification` (key, recipient) straight after that send, in a
statement of its own. Before sending it skips the (key, recipient) pairs already
recorded, so when a send fails half-way and Celery retries the task (or the outbox
delivers it twice), only the people who did not get the mail are mailed.

What is left, by design: a crash after the server accepted a message and before its row
was written (the worker killed, the database gone in that instant) sends that one message
again on the retry. And two runs of the same task at the very same moment may both see a
person as not yet mailed; the scans and the outbox claim their work so that is rare, and
the second row is then dropped, not an error. Call `mail_send` outside a transaction
(tasks run in autocommit): rows written inside one that rolls back are forgotten.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.urls import reverse
from django.utils import translation

from accounts import preferences
from accounts.models import SentNotification, UserManager

logger = logging.getLogger(__name__)


class PermanentMailError(Exception):
    """The mail server refused for good (a 5xx reply, a login refused): retrying cannot help.

    Not an OSError (smtplib's errors are), so MAIL_RETRY never retries it.
    """


# The Celery options of every mail task. Only errors that may pass are retried: a refused
# or dropped connection, a timeout, an SMTP 4xx reply (smtplib's errors are OSErrors).
# mail_send turns permanent SMTP errors into PermanentMailError, which is none of these.
MAIL_RETRY = {
    "autoretry_for": (ConnectionError, TimeoutError, OSError),
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 5,
}


@dataclass(frozen=True)
class Mail:
    """One message to one person about one thing.

    `key` says what it is about, e.g. "tickets.staff_reply:42": a key reaches the same
    address at most once, so it must name the occasion (a message, a resolution, a lapse),
    not only the object, when one object is notified about more than once.
    """

    key: str
    to: str
    subject: str
    body: str
    # Extra headers, e.g. the Message-ID and References that thread a ticket's mails.
    headers: tuple[tuple[str, str], ...] = ()
    reply_to: str = ""
    # A NotificationKind: the person's preference routes it (at once, digest, off) and it
    # carries an unsubscribe link (accounts/preferences.py). Empty: always sent as it is.
    kind: str = ""
    # Where the digest line points to.
    link: str = ""
    # The language it was written in (the active one when it was made, inside the reader's
    # person_locale): what is added to it later, e.g. the unsubscribe foot, speaks it too.
    language: str = field(default_factory=translation.get_language)


def absolute_url(viewname: str, *args) -> str:
    """A link for an email: settings.PORTAL_BASE_URL and the path of `viewname`."""
    return settings.PORTAL_BASE_URL.rstrip("/") + reverse(viewname, args=args)


def mail_send(mails: Iterable[Mail]) -> dict[str, int]:
    """Send each mail not sent before, over one connection; record each one sent.

    Returns {"sent", "already_sent", "refused"}, plus "digested" and "muted" when a
    person's preferences kept a mail for their digest or turned it off
    (accounts/preferences.py). A transient failure (connection, timeout, 4xx) stops the
    send and is raised as it is, for the task to retry; the mails sent until then are
    recorded. A recipient the server refuses for good (5xx) is logged,
    counted as refused and not recorded; the others are still sent. Each record is
    written right after its send: only a crash between the two can mail someone twice.
    """
    todo = _unique(mails)
    done = _already_sent(todo)
    summary = {"sent": 0, "already_sent": len(done), "refused": 0}
    todo = [mail for mail in todo if (mail.key, mail.to) not in done]
    todo, routed = preferences.route(todo)
    summary.update(routed)
    if not todo:
        return summary
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except smtplib.SMTPException as error:
        _raise_if_permanent(error)
        raise
    try:
        for mail in todo:
            message = _message(mail)
            try:
                sent = connection.send_messages([message])
            except ValueError as error:  # a header no sanitising could save: this mail only
                logger.error("mail %s to %s not composed: %s", mail.key, mail.to, error)
                summary["refused"] += 1
                continue
            except smtplib.SMTPException as error:
                if _is_transient(error):
                    raise
                logger.error("mail %s to %s refused for good: %s", mail.key, mail.to, error)
                summary["refused"] += 1
                continue
            if sent:
                _record(mail)
                summary["sent"] += 1
    except BaseException:
        # The error that stopped the send is what counts; a failing QUIT must not hide it.
        with contextlib.suppress(Exception):
            connection.close()
        raise
    connection.close()
    return summary


def _message(mail: Mail) -> EmailMessage:
    """The email of a Mail, its headers on one line each: a line break in a subject (a
    ticket's, written by anyone) would make Django refuse the whole message."""
    return EmailMessage(
        subject=one_line(mail.subject),
        body=mail.body,
        to=[mail.to],
        headers={one_line(name): one_line(value) for name, value in mail.headers},
        reply_to=[one_line(mail.reply_to)] if mail.reply_to else None,
    )


def one_line(value: str) -> str:
    """A header value on one line: any line break or control character becomes a space."""
    return " ".join("".join(c if c.isprintable() else " " for c in str(value)).split())


def _unique(mails: Iterable[Mail]) -> list[Mail]:
    """Mails with an address, normalised as accounts store them, each (key, to) once."""
    found: dict[tuple[str, str], Mail] = {}
    for mail in mails:
        to = UserManager.normalize_email(mail.to)
        if to:
            found.setdefault((mail.key, to), replace(mail, to=to))
    return list(found.values())


def _already_sent(mails: list[Mail]) -> set[tuple[str, str]]:
    if not mails:
        return set()
    wanted = {(mail.key, mail.to) for mail in mails}
    rows = SentNotification.objects.filter(
        key__in={key for key, _ in wanted}, recipient__in={to for _, to in wanted}
    ).values_list("key", "recipient")
    return wanted & set(rows)


def _record(mail: Mail) -> None:
    # A run of the same task at the same moment may have written the row first: the
    # constraint keeps one, and no IntegrityError breaks the caller's transaction.
    SentNotification.objects.bulk_create(
        [SentNotification(key=mail.key, recipient=mail.to)], ignore_conflicts=True
    )


def _is_transient(error: smtplib.SMTPException) -> bool:
    """Whether a later try may succeed: a 4xx reply, or a connection that went away."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return not any(500 <= code < 600 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return not 500 <= error.smtp_code < 600
    # No reply code: SMTPServerDisconnected may pass; a missing extension (STARTTLS) will not.
    return not isinstance(error, smtplib.SMTPNotSupportedError)


def _raise_if_permanent(error: smtplib.SMTPException) -> None:
    if not _is_transient(error):
        raise PermanentMailError(f"The mail server refused: {error}") from error
