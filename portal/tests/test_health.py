"""The health score against hand-computed expectations, and its history."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from portal.relationship import health
from portal.relationship import services as relationship_services
from portal.relationship.models import Commitment, HealthScore, HealthWeight
from portal.tests.relationship import add_invoice, add_order, premium_tier, put_on_tier
from tickets.models import Rating, Ticket
from tickets.services import ticket_create

DEFAULTS = {signal: list(w) for signal, w in health.DEFAULT_WEIGHTS.items()}


def set_weights(weights: dict) -> None:
    for signal, (weight, good_at, bad_at) in weights.items():
        HealthWeight.objects.update_or_create(
            signal=signal, defaults={"weight": weight, "good_at": good_at, "bad_at": bad_at}
        )


def ticket(world, at, *, breached=False, rating=None):
    made = ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject=f"Ticket of {at:%Y-%m-%d}",
        category="delivery",
        priority="normal",
        body="?",
        now=at,
    )
    if breached:
        Ticket.objects.filter(pk=made.pk).update(sla_breached_at=at + timedelta(hours=2))
    if rating:
        csat, effort = rating
        made_rating = Rating.objects.create(ticket=made, csat=csat, effort=effort)
        Rating.objects.filter(pk=made_rating.pk).update(created_at=at + timedelta(days=1))
    return made


@pytest.fixture
def signals_of_a(world):
    """Organisation A with a known value for every signal (see the test for the sums)."""
    now = timezone.now()
    today = timezone.localdate(now)
    days = lambda n: now - timedelta(days=n)  # noqa: E731
    put_on_tier(world.org_a, premium_tier(), since=days(200))  # a QBR every 90 days, none held
    # SLA breaches in the last 90 days: 2 (the one 120 days ago is outside the window).
    ticket(world, days(10), breached=True, rating=(4, 5))
    ticket(world, days(20), breached=True, rating=(2, 3))
    ticket(world, days(30))
    ticket(world, days(120), breached=True, rating=(1, 1))  # rated long ago: left out
    # Orders: 3 in the last 90 days, 4 in the 90 before; older and deleted ones left out.
    for n in (5, 40, 80):
        add_order(world.org_a, days(n))
    for n in (100, 120, 150, 170):
        add_order(world.org_a, days(n))
    add_order(world.org_a, days(200))
    add_order(world.org_a, days(3), deleted=True)
    # Invoices: 2 overdue; paid, deleted and not yet due ones do not count.
    add_invoice(world.org_a, today - timedelta(days=10))
    add_invoice(world.org_a, today - timedelta(days=40))
    add_invoice(world.org_a, today - timedelta(days=40), paid_on=today)
    add_invoice(world.org_a, today - timedelta(days=40), deleted=True)
    add_invoice(world.org_a, today + timedelta(days=5))
    # Commitments: 1 overdue; done ones and ones not yet due do not count.
    for due, status in [(-3, "open"), (-3, "done"), (7, "open")]:
        Commitment.objects.create(
            organisation=world.org_a,
            title=f"Promise {due} {status}",
            due_on=today + timedelta(days=due),
            status=status,
        )
    # Last contact: an executive touchpoint 60 days ago.
    relationship_services.engagement_record(
        by=world.am_a, organisation=world.org_a, kind="executive", on=today - timedelta(days=60)
    )
    return world


def scores():
    return {s.organisation_id: s for s in HealthScore.objects.all()}


def test_health_score_matches_the_hand_computed_signals(signals_of_a):
    world = signals_of_a
    set_weights({**DEFAULTS, "overdue_commitments": [10, 0, 4]})
    result = health.health_compute()
    assert result["scored"] == 2
    a = scores()[world.org_a.pk]
    assert (a.sla_breaches, a.csat, a.effort) == (2, Decimal("3.00"), Decimal("4.00"))
    assert (a.orders_recent, a.orders_previous) == (3, 4)
    assert (a.overdue_invoices, a.overdue_commitments) == (2, 1)
    assert (a.days_since_contact, a.reviews_overdue) == (60, 1)
    # weight x score, out of 100:
    #   SLA 20 x (1 - 2/5) = 12       CSAT 15 x (3-1)/4 = 7.5     effort 10 x (4-1)/4 = 7.5
    #   orders 15 x 3/4 = 11.25        invoices 15 x (1 - 2/3) = 5  commitments 10 x (1 - 1/4) = 7.5
    #   contact 10 x (90-60)/60 = 5    reviews 5 x (1 - 1/2) = 2.5  -> 58.25
    assert (a.score, a.colour) == (58, "amber")
    assert health.health_reasons(a) == (
        "2 overdue invoices, 2 SLA breaches in 90 days, CSAT 3.0 of 5"
    )
    breakdown = {p["signal"]: p for p in health.health_breakdown(a)}
    assert breakdown["order_trend"]["words"] == "orders down 25 % on the 90 days before"
    assert breakdown["last_contact"]["words"] == "last contact 60 days ago"
    assert round(sum(p["lost"] for p in breakdown.values()), 2) == 41.75


def test_signals_without_data_leave_the_weighting(signals_of_a):
    """B has no tickets, ratings, orders or review cadence, and was never contacted.

    Applicable: SLA 20 x 1, invoices 15 x 1, commitments 10 x 1, contact 10 x 0
    -> 45 of 55 = 81.8.
    """
    health.health_compute()
    b = scores()[signals_of_a.org_b.pk]
    assert (b.csat, b.effort, b.reviews_overdue, b.days_since_contact) == (None,) * 4
    assert (b.score, b.colour) == (82, "green")
    assert health.health_reasons(b) == "no contact on record"


def test_weights_edited_in_admin_change_the_score(signals_of_a):
    set_weights({signal: [0, *w[1:]] for signal, w in DEFAULTS.items()})
    set_weights({"overdue_invoices": [15, 0, 3]})
    health.health_compute()
    a = scores()[signals_of_a.org_a.pk]
    assert (a.score, a.colour) == (33, "red")  # 1 - 2/3
    assert a.weights == {"overdue_invoices": [15, 0.0, 3.0]}


def test_one_score_per_organisation_per_day_kept_as_history(world):
    now = timezone.now()
    health.health_compute(now=now - timedelta(days=1))
    health.health_compute(now=now)
    health.health_compute(now=now)  # again the same day: replaces, never duplicates
    assert HealthScore.objects.filter(organisation=world.org_a).count() == 2
    history = health.health_history(organisation=world.org_a)
    assert [h.computed_on for h in history] == [
        timezone.localdate(now) - timedelta(days=1),
        timezone.localdate(now),
    ]
    assert health.trend_points(history).count(",") == 2


def test_churned_organisations_are_not_scored(world):
    world.org_b.lifecycle_stage = "churned"
    world.org_b.save()
    health.health_compute()
    assert set(scores()) == {world.org_a.pk}


def test_an_accounts_health_follows_its_changes_at_once_and_only_its_own(
    world, django_capture_on_commit_callbacks
):
    from portal.relationship.models import LastContact
    from tickets.services import ticket_reply

    health.health_compute()
    before = {s.organisation_id: s for s in HealthScore.objects.all()}
    due = timezone.localdate() - timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True):
        relationship_services.commitment_create(
            by=world.am_a, organisation=world.org_a, title="Send the new price list",
            details="", owner=world.am_a, due_on=due, engagement=None,
        )  # fmt: skip
    scores = {s.organisation_id: s for s in HealthScore.objects.all()}
    assert scores[world.org_a.pk].overdue_commitments == 1  # scored again, not tomorrow
    assert scores[world.org_a.pk].computed_at > before[world.org_a.pk].computed_at
    assert scores[world.org_b.pk].computed_at == before[world.org_b.pk].computed_at
    assert HealthScore.objects.filter(organisation=world.org_a).count() == 1  # one a day
    opened = ticket(world, timezone.now())
    assert not LastContact.objects.filter(organisation=world.org_a).exists()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket=opened, author=world.am_a, body="On it.")
    assert HealthScore.objects.get(organisation=world.org_a).days_since_contact == 0


def test_last_contact_is_the_meeting_day_and_follows_an_edit_to_an_earlier_day(world):
    from portal.relationship.models import LastContact

    today = timezone.localdate()
    engagement = relationship_services.engagement_record(
        by=world.am_a, organisation=world.org_a, kind="qbr", on=today - timedelta(days=2),
        status="held", attendees=[world.member_a],
    )  # fmt: skip
    contact = LastContact.objects.get(organisation=world.org_a).at
    assert timezone.localdate(contact) == today - timedelta(days=2)  # not when it was typed
    relationship_services.engagement_update(
        by=world.am_a, engagement=engagement, on=today - timedelta(days=40)
    )
    contact = LastContact.objects.get(organisation=world.org_a).at
    assert timezone.localdate(contact) == today - timedelta(days=40)
    relationship_services.engagement_update(
        by=world.am_a, engagement=engagement, status="cancelled"
    )
    assert not LastContact.objects.filter(organisation=world.org_a).exists()
