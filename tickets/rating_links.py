"""The rating links in the "resolved" email: one per score, no login, single use, expiring.

A link is signed (Django's signing, with SECRET_KEY) and names the ticket, the score and
the resolution it is about: once the ticket is rated, reopened or resolved again, or after
RATING_LINK_DAYS, it no longer works. Whoever holds it rates as the ticket's requester,
through the same service and access policy as the ticket page.

Opening a link shows the score chosen, the effort question and a Send button: the rating
is written by that button, not by the click in the email, because mail security scanners
open every link of a message (they would rate a ticket 1 to 5 in turn).
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from tickets.choices import DONE_STATUSES
from tickets.models import Ticket

SALT = "tickets.rating-link"


def rating_link(ticket: Ticket, score: int) -> str:
    path = reverse("tickets:rate_link", args=[rating_token(ticket, score)])
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def rating_token(ticket: Ticket, score: int) -> str:
    return signing.dumps({"t": ticket.pk, "s": score, "r": _resolution(ticket)}, salt=SALT)


def rating_link_read(token: str) -> tuple[Ticket, int] | None:
    """The ticket and score a link stands for, or None once it is no longer good."""
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.RATING_LINK_DAYS * 86400)
    except signing.BadSignature:  # also expired (SignatureExpired is a BadSignature)
        return None
    ticket = (
        Ticket.objects.select_related("requester", "organisation")
        .filter(pk=data.get("t"), status__in=DONE_STATUSES, requester__is_active=True)
        .first()
    )
    if ticket is None or _resolution(ticket) != data.get("r") or data.get("s") not in range(1, 6):
        return None
    return ticket, data["s"]


def _resolution(ticket: Ticket) -> str:
    return ticket.resolved_at.isoformat() if ticket.resolved_at else ""
