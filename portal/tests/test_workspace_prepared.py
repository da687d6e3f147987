"""The staff workspace's queries run by SQL built once per process (config/prepared.py):
the same rows as the ORM built afresh, for every role, at any moment; an account taken
off someone stops counting on their next request; a build that reads the clock is refused."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organisation, User
from accounts.tests.factories import StaffFactory
from config import prepared
from portal.relationship.selectors import overdue_reviews
from portal.tests.test_workspace import open_ticket
from portal.workspace import selectors
from tickets import services as ticket_services
from tickets.models import Ticket
from tiers.models import ServiceTier

pytestmark = pytest.mark.django_db


def _counted(user, now) -> dict:
    return prepared.rows(selectors._queue_counts, user=user, now=now, today=now.date())[0]


def _expected(user, now) -> dict:
    return selectors._queue_counts(user=user, now=now, today=now.date()).get()


def _orm_tables(user, now, rows: int) -> dict:
    """The work queue's tables as the selectors' querysets say them, each on its own."""
    from tickets.selectors import ticket_list

    def table(sla_state):
        return ticket_list(user=user, status="open", sla_state=sla_state, now=now)

    return {
        "waiting": ticket_list(user=user, status="open", now=now)
        .order_by("created_at", "pk")
        .filter(selectors.WAITING_FOR_STAFF)[:rows],
        "at_risk": table("at_risk")[:rows],
        "breached": table("breached")[:rows],
    }


def _tables(user, now, rows: int = selectors.QUEUE_ROWS) -> tuple[dict, dict]:
    """The work queue's tables as its one prepared query gives them, and as the ORM does."""
    found = selectors.work_queue_tickets(user=user, now=now, rows=rows)
    expected = _orm_tables(user, now, rows)
    return (
        {n: [(t.pk, t.sla_state, t.organisation_name, t.created_at) for t in found[n]]
         for n in found},
        {n: [(t.pk, t.sla_state, t.organisation.name, t.created_at) for t in expected[n]]
         for n in expected},
    )  # fmt: skip


def _people(world) -> list[User]:
    gone = StaffFactory(email="gone@portal.test", is_active=False)
    return [world.am_a, world.am_b, world.agent, world.admin, world.member_a, gone]


def test_every_role_gets_the_rows_the_orm_gives_at_each_moment(world):
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    for organisation, requester in ((world.org_a, world.member_a), (world.org_b, world.member_b)):
        for hours, subject in ((0, "delivery"), (30, "billing"), (200, "product")):
            at = start + timedelta(hours)
            open_ticket(world, organisation, requester, f"{subject} {hours}", at)
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
            found, expected = _tables(user, now)
            assert found == expected, (user.email, now)
            states |= {state for rows in found.values() for _, state, _, _ in rows}
    assert {"at_risk", "breached"} <= states  # the moments cover the states


def test_the_tables_read_at_once_are_each_tables_own_cut_at_any_length(world):
    """One query picks the three tables' tickets: a ticket waiting and at risk is in both
    tables, each table is cut at its own length, whatever the other tables hold."""
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    for n in range(14):
        organisation, requester, am = (
            (world.org_a, world.member_a, world.am_a)
            if n % 3
            else (world.org_b, world.member_b, world.am_b)
        )
        ticket = open_ticket(world, organisation, requester, f"T {n}", start + timedelta(hours=n))
        if n % 2:  # we spoke last: not waiting for us
            ticket_services.ticket_reply(ticket=ticket, author=am, body="On it")
        warn = start + timedelta(hours=(n * 7) % 11)
        Ticket.objects.filter(pk=ticket.pk).update(
            status="waiting" if n % 3 == 2 else "open",  # every third waits on the customer
            first_responded_at=None,
            first_response_warn_at=warn,
            first_response_due_at=warn + timedelta(hours=4),
            created_at=start + timedelta(hours=n // 2),  # pairs made at the same moment
        )
    shown, both, people = set(), set(), _people(world)
    for hours in (0, 5, 9, 30):
        now = start + timedelta(hours=hours)
        for rows in (1, 2, 3, 5, 50):
            for user in people:
                found, expected = _tables(user, now, rows)
                assert found == expected, (user.email, now, rows)
                waiting = {pk for pk, *_ in found["waiting"]}
                risky = {pk for pk, *_ in found["at_risk"] + found["breached"]}
                shown |= {len(found[n]) for n in found}
                both |= waiting & risky
    assert {0, 1, 2, 3, 5} <= shown  # empty, and cut at each length
    assert both  # a ticket in two tables at once


def test_a_person_removed_from_an_account_stops_counting_it_on_the_next_request(world):
    open_ticket(world, world.org_a, world.member_a, "Late")
    assert selectors.workspace_counts(user=world.am_a)["waiting"] == 1
    assert selectors.workspace_counts(user=world.am_a)["accounts"] == 1
    world.am_a.assignments.update(ended_at=timezone.now())
    assert selectors.workspace_counts(user=world.am_a)["waiting"] == 0
    assert selectors.workspace_counts(user=world.am_a)["accounts"] == 0
    assert selectors.work_queue_tickets(user=world.am_a)["waiting"] == []


def test_overdue_reviews_are_the_orms_on_any_day(world):
    ServiceTier.objects.filter(pk=world.tier.pk).update(review_every_days=90)
    people, seen = _people(world), set()
    for day in (timezone.localdate(), timezone.localdate() + timedelta(days=400)):
        for user in people:
            found = prepared.objects(selectors._reviews_overdue, user=user, today=day)
            expected = overdue_reviews(user=user, today=day)[: selectors.QUEUE_ROWS]
            assert [(o.pk, o.name, o.review_due, o.check_due) for o in found] == [
                (o.pk, o.name, o.review_due, o.check_due) for o in expected
            ], (user.email, day)
            seen |= {o.pk for o in found}
    assert seen  # the later day finds reviews overdue


def _reads_the_clock(*, user):
    return Organisation.objects.visible_to(user).filter(created_at__lte=timezone.now())


def test_a_build_that_reads_the_clock_is_refused(world):
    with pytest.raises(ValueError, match="pass it as a value"):
        prepared.rows(_reads_the_clock, user=world.am_a)


def test_overdue_commitments_and_sponsor_lapses_are_the_orms_on_any_day(client, world):
    from portal.relationship import selectors as relationship_selectors
    from portal.relationship.models import Commitment, SponsorLapse

    today = timezone.localdate()
    for organisation in (world.org_a, world.org_b):
        for due, owner in ((-30, world.am_a), (-3, None), (5, world.am_b)):
            Commitment.objects.create(
                organisation=organisation, title=f"<b>Promise</b> {due}", owner=owner,
                due_on=today + timedelta(days=due), status="open",
            )  # fmt: skip
        for due, sponsor in ((-20, world.am_a), (-10, None)):
            SponsorLapse.objects.create(
                organisation=organisation, sponsor=sponsor, due_on=today + timedelta(days=due),
                detected_at=timezone.now(),
            )  # fmt: skip
    people = _people(world)
    for day in (today, today + timedelta(days=10)):
        for user in people:
            found = prepared.objects(selectors._commitments_overdue, user=user, today=day)
            expected = relationship_selectors.overdue_commitments(user=user, today=day)
            assert [(c.pk, c.organisation_name, c.owner_name, c.due_on) for c in found] == [
                (c.pk, c.organisation.name, c.owner and c.owner.full_name, c.due_on)
                for c in expected
            ], (user.email, day)
        for user in people:
            found = prepared.objects(selectors._sponsor_lapses, user=user)
            expected = relationship_selectors.sponsor_lapses(user=user)
            assert [(s.pk, s.organisation_name, s.sponsor_name, s.due_on) for s in found] == [
                (s.pk, s.organisation.name, s.sponsor and s.sponsor.full_name, s.due_on)
                for s in expected
            ], user.email
    # The page shows them as before, for the AM of A only: names, owners, no sponsor named.
    client.force_login(world.am_a)
    page = client.get(reverse("portal:work_queue")).content.decode()
    assert page.count("&lt;b&gt;Promise&lt;/b&gt; -3</td>") == 1
    assert f"<td>{world.am_a.full_name}</td>" in page  # the owner
    assert world.org_b.name not in page
    assert "no sponsor named; contact was due by" in page
    assert f"{world.am_a.full_name} was due to be in touch by" in page


def test_the_at_risk_table_is_every_ticket_at_risk_though_it_reads_only_open_ones(world):
    """Its query reads the open tickets' index: no ticket resolved or closed is at risk."""
    from tickets.selectors import ticket_list

    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    for n, status in enumerate(["new", "open", "waiting", "resolved", "closed"] * 2):
        ticket = open_ticket(world, world.org_a, world.member_a, f"T {n}", start)
        warn = start + timedelta(hours=n)
        Ticket.objects.filter(pk=ticket.pk).update(
            status=status, first_responded_at=None, first_response_warn_at=warn,
            first_response_due_at=warn + timedelta(hours=30), sla_paused_at=None,
        )  # fmt: skip
    people = _people(world)
    for hours in (0, 3, 6, 12, 40):
        now = start + timedelta(hours=hours)
        for user in people:
            every = ticket_list(user=user, sla_state="at_risk", now=now)
            found = selectors.work_queue_tickets(user=user, now=now)["at_risk"]
            assert [t.pk for t in found] == [t.pk for t in every[: selectors.QUEUE_ROWS]]


def test_customers_to_match_count_the_waiting_identities_only(world):
    from portal.sync.models import CustomerIdentity

    assert selectors.workspace_counts(user=world.am_a)["to_match"] == 0
    for n in range(3):
        CustomerIdentity.objects.create(system="crm", external_id=str(n), external_name="HP")
    CustomerIdentity.objects.filter(external_id="0").update(
        status="matched", organisation=world.org_a
    )
    assert selectors.workspace_counts(user=world.am_a)["to_match"] == 2
    assert selectors.customers_to_match() == 2
