"""Reading the support mailbox over IMAP (imap-tools): each unread message goes through
tickets.inbound.email_receive, then is flagged as seen.

The message's bytes are passed on exactly as the server holds them (never parsed and
written out again, which fails on malformed mail). The flag is set only after the
message's transaction committed, so a crash in between reads it again next time, and the
Message-ID check then does nothing twice. A message that cannot be handled is held by
email_receive (with its bytes and the error) and flagged like any other, so it never
blocks the ones behind it. Only errors that may pass (the database unreachable) leave a
message unread for the next poll; after MAX_TRIES of those it is held all the same.
"""

from __future__ import annotations

import logging
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.cache import cache
from imap_tools import AND, MailBox, MailBoxUnencrypted, MailMessage, MailMessageFlags

from tickets.inbound import TRANSIENT_ERRORS, email_hold, email_receive

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 30
BATCH = 50  # messages a poll reads at most; the rest wait for the next minute
MAX_TRIES = 5  # polls a message may fail in before it is held


class RawMailMessage(MailMessage):
    """imap-tools' message, keeping the bytes the server sent."""

    def __init__(self, fetch_data: list) -> None:
        self.raw = self._get_message_data_parts(fetch_data)[0]
        super().__init__(fetch_data)


def mailbox_read(url: str | None = None) -> dict[str, int]:
    """Read the unread messages of the mailbox at `url` (settings.MAILBOX_URL)."""
    url = url if url is not None else settings.MAILBOX_URL
    if not url:
        return {"read": 0}
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname:
        raise ValueError("MAILBOX_URL must look like imaps://user:password@host/INBOX")
    kind = MailBox if parts.scheme == "imaps" else MailBoxUnencrypted
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    summary: dict[str, int] = {"read": 0, "failed": 0}
    with kind(parts.hostname, parts.port or (993 if parts.scheme == "imaps" else 143),
              timeout=TIMEOUT_SECONDS).login(
        unquote(parts.username or ""), unquote(parts.password or ""), initial_folder=folder
    ) as mailbox:  # fmt: skip
        mailbox.email_message_class = RawMailMessage
        for message in mailbox.fetch(AND(seen=False), limit=BATCH, mark_seen=False, bulk=False):
            received = _receive(url, message)
            if received is None:
                summary["failed"] += 1
                continue
            mailbox.flag(message.uid, MailMessageFlags.SEEN, True)
            summary["read"] += 1
            summary[received.outcome] = summary.get(received.outcome, 0) + 1
    return summary


def _receive(url: str, message: RawMailMessage):
    """What became of the message, or None when it should be tried again later."""
    try:
        return email_receive(raw=message.raw)
    except TRANSIENT_ERRORS as error:
        key = f"mailbox-failures:{url}:{message.uid}"
        tries = cache.get(key, 0) + 1
        cache.set(key, tries, 7 * 86400)
        logger.warning("email %s not handled (try %s): %s", message.uid, tries, error)
        if tries < MAX_TRIES:
            return None
        try:
            return email_hold(raw=message.raw, error=error)
        except TRANSIENT_ERRORS:
            return None
