"""Reading the support mailbox over IMAP (imap-tools): each unread message goes through
tickets.inbound.email_receive, then is flagged as seen.

The flag is set only after the message's transaction committed, so a crash in between
reads it again next time, and the Message-ID check then does nothing twice. Messages
that fail are left unread (and logged) for the next poll; the others go on.
"""

from __future__ import annotations

import logging
from urllib.parse import unquote, urlsplit

from django.conf import settings
from imap_tools import AND, MailBox, MailBoxUnencrypted, MailMessageFlags

from tickets.inbound import email_receive

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 30
BATCH = 50  # messages a poll reads at most; the rest wait for the next minute


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
        for message in mailbox.fetch(AND(seen=False), limit=BATCH, mark_seen=False, bulk=True):
            try:
                received = email_receive(raw=message.obj.as_bytes())
            except Exception:
                logger.exception("email %s from %s not handled", message.uid, message.from_)
                summary["failed"] += 1
                continue
            mailbox.flag(message.uid, MailMessageFlags.SEEN, True)
            summary["read"] += 1
            summary[received.outcome] = summary.get(received.outcome, 0) + 1
    return summary
