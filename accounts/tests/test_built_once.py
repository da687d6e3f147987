"""Queries built once per process (accounts.platform.built_once): the same rows as the
ORM built afresh, for every role, at any moment; a build that bakes a value in is refused."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from accounts.models import Organisation, User
from accounts.platform import built_once
from accounts.tests.factories import StaffFactory
from tickets import services
from tickets.models import Ticket
from tickets.selectors import ticket_list


def _open_tickets(user, now, today):
    tickets = ticket_list(user=user, status="open", now=now)
    return tickets.order_by().values("sla_state").annotate(n=Count("pk")).order_by("sla_state")


def _counted(user, now):
    rows = built_once.rows(_open_tickets, user, now=now, today=now.date())
    return {row["sla_state"]: row["n"] for row in rows}


def _expected(user, now):
    return {row["sla_state"]: row["n"] for row in _open_tickets(user, now, now.date())}


def _people(world) -> list[User]:
    gone = StaffFactory(email="gone@portal.test", is_active=False)
    return [world.am_a, world.am_b, world.agent, world.admin, world.member_a, gone]


def test_every_role_gets_the_rows_the_orm_gives_at_each_moment(world):
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    for organisation, requester in ((world.org_a, world.member_a), (world.org_b, world.member_b)):
        for hours, category in ((0, "delivery"), (30, "billing"), (200, "product")):
            services.ticket_create(
                organisation=organisation,
                requester=requester,
                subject=f"{category} {hours}",
                category=category,
                priority="normal",
                body="?",
                now=start + timedelta(hours=hours),
            )
    # Clocks that warn and run out at different moments: each state is met on the way.
    for n, ticket in enumerate(Ticket.objects.order_by("pk")):
        warn = start + timedelta(hours=10 * n + 1)
        Ticket.objects.filter(pk=ticket.pk).update(
            first_responded_at=None,
            first_response_warn_at=warn,
            first_response_due_at=warn + timedelta(hours=8),
        )
    states, people = set(), _people(world)
    for hours in (0, 3, 13, 25, 35, 45, 55, 70, 5000):
        now = start + timedelta(hours=hours)
        for user in people:
            assert _counted(user, now) == _expected(user, now), (user.email, now)
            states |= set(_counted(user, now))
    assert {"on_track", "at_risk", "breached"} <= states  # the moments cover the states


def test_a_person_removed_from_an_account_stops_counting_it_on_the_next_request(world):
    services.ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject="Late",
        category="delivery",
        priority="normal",
        body="?",
    )
    now = timezone.now()
    assert sum(_counted(world.am_a, now).values()) == 1
    world.am_a.assignments.update(ended_at=now)
    assert _counted(world.am_a, now) == {}


def _bakes_in_the_clock(user, now, today):
    return Organisation.objects.visible_to(user).filter(created_at__lte=timezone.now())


def test_a_build_that_bakes_in_the_clock_is_refused(world):
    with pytest.raises(ValueError, match="bakes in"):
        built_once.compiled(_bakes_in_the_clock, world.am_a)
