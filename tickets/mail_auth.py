"""Whether an email's From may act as that person: what the receiving server found.

Anyone can write any From header. The mail server that received the message checks DKIM
signatures, SPF and DMARC, and writes what it found in an `Authentication-Results` header
(RFC 8601) named by its authserv-id (Postfix with OpenDKIM/OpenDMARC, or the mailbox
provider: docs/email.md). Only headers from the authserv-ids in INBOUND_EMAIL_AUTHSERV_IDS
are read (the receiving server removes ones that arrive claiming its name); the From is
vouched for when one of them says

- dmarc=pass for the From's domain, or
- dkim=pass with a signing domain (header.d, or header.i's domain) aligned with it, or
- spf=pass with an envelope sender (smtp.mailfrom) aligned with it,

and none of them says dmarc=fail. "Aligned" is DMARC's relaxed alignment: the same
domain, or one a subdomain of the other. Anything else, or no trusted header at all, is
not proof: the message is handled as from nobody (tickets/inbound.py holds it).
"""

from __future__ import annotations

import logging
from email.message import EmailMessage

import authres
from django.conf import settings

logger = logging.getLogger(__name__)
_FEATURES = authres.all_features()


def sender_authenticated(message: EmailMessage, sender: str) -> bool:
    """Whether a trusted receiving server vouched for the From address `sender`."""
    trusted = {name.lower() for name in settings.INBOUND_EMAIL_AUTHSERV_IDS}
    domain = sender.rpartition("@")[2].lower()
    if not trusted or not domain:
        return False
    results = [r for header in _trusted_headers(message, trusted) for r in header.results]
    if any(r.method == "dmarc" and r.result == "fail" for r in results):
        return False
    return any(_vouches(result, domain) for result in results)


def _trusted_headers(message: EmailMessage, trusted: set[str]) -> list:
    found = []
    for value in message.get_all("Authentication-Results") or []:
        text = " ".join(str(value).split())  # unfolded
        try:
            header = _FEATURES.parse_value(text)
        except Exception:  # authres raises its own and plain errors on junk
            logger.info("unreadable Authentication-Results: %.200s", text)
            continue
        if (header.authserv_id or "") in trusted:
            found.append(header)
    return found


def _vouches(result, domain: str) -> bool:
    if result.result != "pass":
        return False
    values = {(p.type, p.name): (p.value or "").lower() for p in result.properties}
    if result.method == "dmarc":
        return values.get(("header", "from"), domain) == domain
    if result.method == "dkim":
        signer = values.get(("header", "d")) or values.get(("header", "i"), "").rpartition("@")[2]
        return _aligned(signer, domain)
    if result.method == "spf":
        return _aligned(values.get(("smtp", "mailfrom"), "").rpartition("@")[2], domain)
    return False


def _aligned(one: str, other: str) -> bool:
    one, other = one.strip(". "), other.strip(". ")
    if not one or not other:
        return False
    return one == other or one.endswith("." + other) or other.endswith("." + one)
