"""The timeline: every touchpoint across departments, newest first."""

from __future__ import annotations

import re
from datetime import datetime

from django.db import connection
from django.db.models import (
    CharField,
    DateTimeField,
    F,
    QuerySet,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Concat
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from config import prepared
from portal.records.models import (
    Invoice,
    LegacyTicket,
    Order,
    Shipment,
)
from portal.timeline.models import TimelineEvent
from tickets.models import Ticket

TIMELINE_KINDS = {
    "order": _("Orders placed"),
    "delivery": _("Deliveries"),
    "invoice": _("Invoices issued"),
    "payment": _("Payments"),
    "ticket": _("Tickets"),
    "legacy_ticket": _("Old help-desk tickets"),
    "note": _("News from us"),
}
ARM_KINDS = {"ticket_resolved": "ticket"}  # the kind of an arm not named by its kind


def _title(text: str, **fields) -> Concat:
    """A translated title with fields in it, as SQL: "Order %(number)s placed" becomes
    Concat('Order ', number, ' placed'), whatever the word order of the language."""
    pieces = re.split(r"%\((\w+)\)s", text)  # text, field name, text, field name, ...
    # Empty texts are left out: each is a parameter, and past 50 psycopg parses the
    # timeline's SQL again on every request instead of caching it.
    parts = [fields[piece] if i % 2 else Value(piece) for i, piece in enumerate(pieces) if piece]
    parts += [Value("")] * (2 - len(parts))  # Concat takes at least two
    return Concat(*parts, output_field=CharField())


def _touchpoints(queryset, kind: str, at: str, title, target, limit: int) -> QuerySet:
    """One kind of touchpoint as (kind, at, title, target) rows: the newest `limit` only.

    Each part is cut to its own newest rows first (through an index on the
    organisation and the date) so the UNION never reads a big customer's whole history.
    """
    if connection.features.supports_slicing_ordering_in_compound:
        # PostgreSQL: each arm sorted and cut itself. Planning the IN (newest ids) form of
        # eight arms cost PostgreSQL 2 ms of CPU per home page, more than all else it did.
        shown = queryset.order_by(f"-{at}")
        return _columns(shown, kind, at, title, target)[:limit]
    newest = queryset.order_by(f"-{at}").values("pk")[:limit]
    # SQLite refuses ORDER BY and LIMIT in the arms of a UNION: each arm takes the ids of
    # its newest rows.
    shown = queryset.model.objects.filter(pk__in=newest).order_by()
    return _columns(shown, kind, at, title, target)


def _columns(queryset, kind: str, at: str, title, target) -> QuerySet:
    # Prefixed names: TimelineEvent has fields called kind, at and title.
    return queryset.annotate(
        tl_kind=_literal(kind),
        tl_at=Cast(F(at), DateTimeField()),
        tl_title=Cast(title, CharField()),
        tl_target=Cast(target, CharField()),
    ).values_list("tl_kind", "tl_at", "tl_title", "tl_target")


def _literal(kind: str) -> RawSQL:
    """A kind (a name from this module, never input) written into the SQL rather than
    passed: with a parameter per arm the timeline passed psycopg's 50, past which it parses
    the query again on every request instead of caching it."""
    if not kind.isidentifier():
        raise ValueError(f"not a touchpoint kind: {kind!r}")
    return RawSQL(f"'{kind}'", (), output_field=CharField())  # noqa: S611 (checked above)


def timeline(*, organisation: Organisation, kind: str = "", limit: int = 20) -> list[dict]:
    """Touchpoints from every system in one query (a UNION), newest first.

    The query's shape depends only on the kind and the limit, so its SQL is built once per
    process (config/prepared.py; building and compiling its nine querysets cost more CPU
    than the rest of the customer's home) and run with this organisation's id. The titles
    are worded in SQL, in the reader's language (part of the key).
    """
    kind = kind if kind in TIMELINE_KINDS else ""
    return [
        {
            "kind": row["tl_kind"],
            "at": _moment(row["tl_at"]),
            "title": row["tl_title"],
            "target": row["tl_target"],
        }
        for row in prepared.rows(_query, kind, limit, organisation=organisation.pk)
    ]


def _moment(value) -> datetime:
    """A touchpoint's time as the ORM would give it (SQLite answers text)."""
    if isinstance(value, datetime):
        return value
    return connection.ops.convert_datetimefield_value(value, None, connection)


def _query(kind: str, limit: int, *, organisation: int) -> QuerySet:
    live = {"organisation": organisation, "deleted_at__isnull": True}
    parts = {
        "order": _touchpoints(
            Order.objects.filter(**live),
            "order",
            "ordered_at",
            _title(gettext("Order %(number)s placed"), number=F("number")),
            F("pk"),
            limit,
        ),
        "delivery": _touchpoints(
            Shipment.objects.filter(**live, delivered_at__isnull=False),
            "delivery",
            "delivered_at",
            _title(
                gettext("Delivered by %(carrier)s %(tracking)s"),
                carrier=F("carrier"),
                tracking=F("tracking_number"),
            ),
            F("order_id"),
            limit,
        ),
        "invoice": _touchpoints(
            Invoice.objects.filter(**live),
            "invoice",
            "issued_on",
            _title(gettext("Invoice %(number)s issued"), number=F("number")),
            F("pk"),
            limit,
        ),
        "payment": _touchpoints(
            Invoice.objects.filter(**live, paid_on__isnull=False),
            "payment",
            "paid_on",
            _title(gettext("Invoice %(number)s paid"), number=F("number")),
            F("pk"),
            limit,
        ),
        "ticket": _touchpoints(
            Ticket.objects.filter(organisation=organisation),
            "ticket",
            "created_at",
            _title(gettext("Ticket opened: %(subject)s"), subject=F("subject")),
            F("pk"),
            limit,
        ),
        "ticket_resolved": _touchpoints(
            Ticket.objects.filter(organisation=organisation, resolved_at__isnull=False),
            "ticket",
            "resolved_at",
            _title(gettext("Ticket resolved: %(subject)s"), subject=F("subject")),
            F("pk"),
            limit,
        ),
        "legacy_ticket": _touchpoints(
            LegacyTicket.objects.filter(**live),
            "legacy_ticket",
            "opened_at",
            _title(gettext("Help-desk ticket: %(subject)s"), subject=F("subject")),
            F("pk"),
            limit,
        ),
        "note": _touchpoints(
            TimelineEvent.objects.filter(organisation=organisation),
            "note",
            "at",
            F("title"),
            F("body"),
            limit,
        ),
    }
    # Tickets have two arms (opened, resolved), side by side: a UNION nested in another
    # cannot hold PostgreSQL's sorted and cut arms.
    chosen = [arm for name, arm in parts.items() if kind in ("", ARM_KINDS.get(name, name))]
    if len(chosen) == 1:  # one arm is the list; on PostgreSQL already sorted and cut
        arm = chosen[0]
        return arm if arm.query.is_sliced else arm.order_by("-tl_at")[:limit]
    return chosen[0].union(*chosen[1:], all=True).order_by("-tl_at")[:limit]
