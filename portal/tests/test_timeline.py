"""The timeline's one query (a UNION of each kind's newest rows) gives the newest touchpoints
of all an organisation's records, as reading every record would: with more rows of each kind
than the page shows, with deleted records, for every kind filter."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection
from django.utils import translation

from portal.records.models import Invoice, Order, Shipment
from portal.tests.records import add_orders
from portal.timeline.models import TimelineEvent
from portal.timeline.selectors import TIMELINE_KINDS, timeline
from tickets.models import Ticket
from tickets.services import ticket_create


def _every_moment(organisation) -> dict[str, list[datetime]]:
    """Every touchpoint's moment by kind, read record by record."""
    live = {"organisation": organisation, "deleted_at__isnull": True}

    def day(value):
        return datetime.combine(value, time(), UTC)

    tickets = Ticket.objects.filter(organisation=organisation)
    return {
        "order": [o.ordered_at for o in Order.objects.filter(**live)],
        "delivery": [
            s.delivered_at for s in Shipment.objects.filter(**live, delivered_at__isnull=False)
        ],
        "invoice": [day(i.issued_on) for i in Invoice.objects.filter(**live)],
        "payment": [day(i.paid_on) for i in Invoice.objects.filter(**live, paid_on__isnull=False)],
        "ticket": [t.created_at for t in tickets]
        + [t.resolved_at for t in tickets if t.resolved_at],
        "legacy_ticket": [],
        "note": [e.at for e in TimelineEvent.objects.filter(organisation=organisation)],
    }


@pytest.mark.parametrize("limit", [5, 20])
def test_the_timeline_is_the_newest_touchpoints_of_every_record(world, limit):
    add_orders(world.org_a, 25)
    add_orders(world.org_a, 3, start=100, deleted=True)  # newest of all, but deleted
    add_orders(world.org_b, 30, start=200)  # another organisation's, newer still
    for n in range(8):
        ticket = ticket_create(
            organisation=world.org_a, requester=world.member_a, subject=f"Question {n}",
            category="delivery", priority="normal", body="?",
        )  # fmt: skip
        resolved = datetime(2026, 1, 10, tzinfo=UTC) + timedelta(hours=n)
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=datetime(2026, 1, 3, tzinfo=UTC) + timedelta(days=2 * n, hours=5),
            resolved_at=resolved if n % 2 else None,
        )
    for n in range(12):
        TimelineEvent.objects.create(
            organisation=world.org_a, kind="improvement", title=f"News {n}",
            at=datetime(2026, 1, 1, 7, tzinfo=UTC) + timedelta(days=3 * n),
        )  # fmt: skip
    moments = _every_moment(world.org_a)
    for kind in ["", *TIMELINE_KINDS]:
        expected = [m for k, ms in moments.items() if kind in ("", k) for m in ms]
        shown = timeline(organisation=world.org_a, kind=kind, limit=limit)
        # Moments, not rows: records of the same moment may come in either order.
        assert [e["at"] for e in shown] == sorted(expected, reverse=True)[:limit], kind
        if kind:
            assert {e["kind"] for e in shown} <= {kind}, kind


@pytest.mark.parametrize("language", ["en-gb", "de"])
def test_the_timeline_query_stays_within_what_psycopg_caches(world, language):
    """Past 50 parameters psycopg parses a query again on every run instead of caching
    it: the timeline's UNION of eight arms once passed 60, a cost on every home page."""
    from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH, MAX_CACHED_STATEMENT_PARAMS

    seen = []

    def record(execute, sql, params, many, context):
        seen.append((sql, params))
        return execute(sql, params, many, context)

    with translation.override(language), connection.execute_wrapper(record):
        timeline(organisation=world.org_a)
    (sql, params), *_ = seen
    assert len(params) <= MAX_CACHED_STATEMENT_PARAMS
    assert len(sql.encode()) <= MAX_CACHED_STATEMENT_LENGTH
