"""The relationship pages make a number of queries that does not grow with the data."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.relationship import health
from portal.relationship import services as relationship_services
from portal.tests.relationship import add_sponsor, premium_tier, put_on_tier
from tests.helpers import as_browser


def add_relationship(world, n: int, start: int = 0) -> None:
    """n engagements with attendees, n commitments (half overdue), a day of health each."""
    today = timezone.localdate()
    for i in range(start, start + n):
        relationship_services.engagement_record(
            by=world.am_a,
            organisation=world.org_a,
            kind="qbr" if i % 2 else "health_check",
            on=today - timedelta(days=200 + i),
            attendees=[world.am_a, world.member_a],
            summary=f"Review {i}",
            internal_notes=f"Note {i}",
        )
        relationship_services.commitment_create(
            by=world.am_a,
            organisation=world.org_a,
            title=f"Promise {i}",
            due_on=today + timedelta(days=-5 if i % 2 else 5),
            owner=world.am_a,
        )
        health.health_compute(now=timezone.now() - timedelta(days=i))
    relationship_services.sponsor_promise_scan()


def count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = as_browser(client).get(url)
    assert response.status_code == 200, url
    return len(queries)


# Staff pages pay one query more: django-otp reads the device that verified the session.
PAGES = [
    ("member_a", "portal:reviews", 11),
    ("member_a", "portal:commitments", 9),
    ("member_a", "home", 17),
    ("am_a", "portal:account", 13),
    ("am_a", "portal:renewals", 8),
    ("am_a", "portal:work_queue", 14),  # +1: the legacy systems that need attention
    ("am_a", "home", 16),  # +1: the tiers the filter offers (issue 17)
    ("admin", "portal:renewals", 8),
]


@pytest.mark.parametrize(("role", "name", "maximum"), PAGES, ids=[f"{r}-{n}" for r, n, _ in PAGES])
def test_relationship_pages_queries_do_not_grow(client, world, role, name, maximum):
    put_on_tier(world.org_a, premium_tier(), since=timezone.now() - timedelta(days=400))
    add_sponsor(world.org_a, since=timezone.now() - timedelta(days=300))
    world.org_a.renewal_date = timezone.localdate() + timedelta(days=20)
    world.org_a.save()
    client.force_login(getattr(world, role))
    url = reverse(name, args=[world.org_a.pk]) if name == "portal:account" else reverse(name)
    add_relationship(world, 2)
    small = count(client, url)
    add_relationship(world, 10, start=2)
    large = count(client, url)
    assert large == small, f"{url}: {small} queries with little data, {large} with more"
    assert large <= maximum, f"{url}: {large} queries, pinned at {maximum}"
