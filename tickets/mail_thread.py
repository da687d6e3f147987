"""How a ticket's emails name themselves, so mail clients thread them and replies find
their way back: Message-IDs, the thread root, and the reply-to address.

Every notification about ticket 42 carries `References: <ticket-42@DOMAIN>` (the thread's
root) and a Message-ID of its own, `<ticket-42.HASH@DOMAIN>`; a reply names them in
In-Reply-To / References, which tickets/inbound.py reads back with `ticket_ids_in`. With
SUPPORT_EMAIL set, replies go to its plus address, `support+T-000042@DOMAIN`, the second
way back. Neither is a secret: a reply is appended only when its sender may see the ticket.
"""

from __future__ import annotations

import hashlib
import re

from django.conf import settings

# Our reference exactly: T- and six digits, more only past 999999 (never "T-11": a subject
# that mentions another system's numbers is no reply to our ticket 11).
REFERENCE = re.compile(r"(?<![\w-])T-(0\d{5}|[1-9]\d{5,11})(?![\w-])")
MESSAGE_IDS = re.compile(r"<([^<>\s]+)>")


def domain() -> str:
    """Our part after the @ in Message-IDs: the support address's, else the sender's."""
    address = settings.SUPPORT_EMAIL or settings.DEFAULT_FROM_EMAIL
    return address.rpartition("@")[2].strip("> ").lower() or "portal.invalid"


def root_id(ticket_id: int) -> str:
    return f"<ticket-{ticket_id}@{domain()}>"


def message_id(ticket_id: int, key: str, to: str) -> str:
    """One id per notification and person: a retried send reuses it."""
    digest = hashlib.sha256(f"{key}\n{to}".encode()).hexdigest()[:16]
    return f"<ticket-{ticket_id}.{digest}@{domain()}>"


def headers(ticket_id: int, key: str, to: str) -> dict[str, str]:
    """The headers that put a notification in its ticket's thread."""
    root = root_id(ticket_id)
    return {"Message-ID": message_id(ticket_id, key, to), "References": root, "In-Reply-To": root}


def reply_address(reference: str) -> str:
    """support+T-000042@domain, or "" while SUPPORT_EMAIL is not set (no email in)."""
    if not settings.SUPPORT_EMAIL:
        return ""
    local, _, host = settings.SUPPORT_EMAIL.partition("@")
    return f"{local}+{reference}@{host}"


def is_ours(message_id_value: str) -> bool:
    """Whether a Message-ID is one our notifications use (a loop if it comes back in)."""
    return bool(_our_id(message_id_value.strip("<> ")))


def ticket_ids_in(header_values: list[str]) -> list[int]:
    """Tickets named by our Message-IDs among In-Reply-To / References values, newest first."""
    found = []
    for value in header_values:
        for mid in MESSAGE_IDS.findall(value or ""):
            match = _our_id(mid)
            if match:
                found.append(int(match.group(1)))
    return list(dict.fromkeys(reversed(found)))


def message_ids_in(header_values: list[str]) -> list[str]:
    return [f"<{mid}>" for value in header_values for mid in MESSAGE_IDS.findall(value or "")]


def _our_id(mid: str):
    return re.fullmatch(rf"ticket-(\d+)(?:\.[0-9a-f]+)?@{re.escape(domain())}", mid, re.I)


def reference_in(*texts: str) -> int | None:
    """A ticket named exactly as T-000042 in a subject or a plus address."""
    for text in texts:
        match = REFERENCE.search(text or "")
        if match:
            return int(match.group(1))
    return None
