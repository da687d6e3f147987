"""with_schedule reads the current tier and sponsor by joins (issue 26): the same due days
as the subquery per column it replaced, for any mix of tiers, sponsors and engagements."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import transaction
from django.db.models import Case, F, OuterRef, Q, Subquery, When
from django.db.models.functions import Coalesce, Least, TruncDate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.choices import TeamRole
from accounts.models import AccountAssignment, Organisation
from accounts.tests.factories import OrganisationFactory, StaffFactory
from portal.relationship.choices import EngagementKind, EngagementStatus
from portal.relationship.models import Engagement
from portal.relationship.selectors import AddDays, _current_tier, _last_held, with_schedule
from tiers.models import ServiceTier, TierAssignment

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)  # late in the day: the date truncation shows
COLUMNS = ("tier_since", "review_every", "check_every", "sponsor_every", "last_review",
           "last_check", "sponsor_id", "sponsor_since", "sponsor_touch", "review_due",
           "check_due", "sponsor_due")  # fmt: skip


def _with_schedule_by_subqueries(organisations):
    """with_schedule as it was before the joins: the reference."""
    sponsor = AccountAssignment.objects.filter(
        organisation=OuterRef("pk"), role=TeamRole.EXECUTIVE_SPONSOR, ended_at__isnull=True
    ).order_by()
    promised = TierAssignment.objects.filter(
        organisation=OuterRef("pk"), ended_at__isnull=True, tier__executive_sponsor_promised=True
    ).order_by()
    touch = Engagement.objects.filter(
        organisation=OuterRef("pk"), status=EngagementStatus.HELD, attendees=OuterRef("sponsor_id")
    )
    return (
        organisations.annotate(
            tier_since=TruncDate(_current_tier("started_at")),
            review_every=_current_tier("tier__review_every_days"),
            check_every=_current_tier("tier__health_check_every_days"),
            sponsor_every=Subquery(promised.values("tier__sponsor_contact_every_days")[:1]),
            last_review=_last_held(EngagementKind.QBR),
            last_check=_last_held(EngagementKind.HEALTH_CHECK),
            sponsor_id=Subquery(sponsor.values("user_id")[:1]),
            sponsor_since=TruncDate(Subquery(sponsor.values("started_at")[:1])),
        )
        .annotate(sponsor_touch=Subquery(touch.order_by("-on").values("on")[:1]))
        .annotate(
            review_due=AddDays(Coalesce("last_review", "tier_since"), "review_every"),
            check_due=AddDays(Coalesce("last_check", "tier_since"), "check_every"),
            sponsor_due=AddDays(
                Case(
                    When(sponsor_touch__gt=F("sponsor_since"), then=F("sponsor_touch")),
                    default=Coalesce("sponsor_since", "tier_since"),
                ),
                "sponsor_every",
            ),
        )
    )


cadence = st.one_of(st.none(), st.integers(1, 400))
tiers = st.fixed_dictionaries(
    {"review": cadence, "check": cadence, "promised": st.booleans(), "sponsor_every": cadence}
)
engagements = st.lists(
    st.tuples(
        st.sampled_from(list(EngagementKind.values)),
        st.sampled_from(list(EngagementStatus.values)),
        st.integers(-60, 400),  # days after START
        st.booleans(),  # the sponsor attended
    ),
    max_size=4,
)
accounts = st.fixed_dictionaries(
    {
        "tier": st.sampled_from(["none", "current", "ended", "ended and current"]),
        "sponsor": st.sampled_from(["none", "current", "ended", "ended and current"]),
        "sponsor_days": st.integers(-30, 300),
        "engagements": engagements,
    }
)


def _tier(spec, rank) -> ServiceTier:
    promised = spec["promised"]
    return ServiceTier.objects.create(
        name=f"Tier {rank}", rank=rank, annual_fee=1000, review_every_days=spec["review"],
        health_check_every_days=spec["check"], executive_sponsor_promised=promised,
        sponsor_contact_every_days=(spec["sponsor_every"] or 30) if promised
        else spec["sponsor_every"],
    )  # fmt: skip


def _account(spec, tier, n) -> Organisation:
    organisation = OrganisationFactory(name=f"Account {n}", customer_number=f"C-{n:04d}")
    if "ended" in spec["tier"]:
        TierAssignment.objects.create(
            organisation=organisation, tier=tier, started_at=START - timedelta(days=400),
            ended_at=START - timedelta(days=100),
        )  # fmt: skip
    if "current" in spec["tier"]:
        TierAssignment.objects.create(organisation=organisation, tier=tier, started_at=START)
    sponsor = StaffFactory(email=f"sponsor{n}@portal.test", kind="executive")
    since = START + timedelta(days=spec["sponsor_days"])
    if "ended" in spec["sponsor"]:
        AccountAssignment.objects.create(
            organisation=organisation, user=StaffFactory(email=f"old{n}@portal.test"),
            role=TeamRole.EXECUTIVE_SPONSOR, started_at=since - timedelta(days=200),
            ended_at=since - timedelta(days=1),
        )  # fmt: skip
    if "current" in spec["sponsor"]:
        AccountAssignment.objects.create(
            organisation=organisation, user=sponsor, role=TeamRole.EXECUTIVE_SPONSOR,
            started_at=since,
        )  # fmt: skip
    for kind, status, days, attended in spec["engagements"]:
        engagement = Engagement.objects.create(
            organisation=organisation, kind=kind, status=status, on=START.date() + timedelta(days)
        )
        if attended:
            engagement.attendees.add(sponsor)
    return organisation


def _rows(queryset, today: date) -> list[tuple]:
    # As the work queue and the health page ask: filtered and sorted on the due days.
    overdue = queryset.filter(Q(review_due__lt=today) | Q(check_due__lt=today))
    return [
        *queryset.order_by("pk").values_list("pk", *COLUMNS),
        *overdue.order_by(Least("review_due", "check_due").asc(nulls_last=True), "pk").values_list(
            "pk", flat=True
        ),
        *queryset.filter(sponsor_due__lt=today).order_by("pk").values_list("pk", flat=True),
    ]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(specs=st.lists(st.tuples(tiers, accounts), min_size=1, max_size=4), day=st.integers(0, 500))
def test_the_joins_give_the_due_days_the_subqueries_gave(db, specs, day):
    with transaction.atomic():
        for n, (tier_spec, account_spec) in enumerate(specs):
            _account(account_spec, _tier(tier_spec, n + 1), n)
        today = START.date() + timedelta(days=day)
        organisations = Organisation.objects.all()
        assert _rows(with_schedule(organisations), today) == _rows(
            _with_schedule_by_subqueries(organisations), today
        )
        transaction.set_rollback(True)


def test_an_organisation_is_listed_once_whatever_its_history(db):
    """Ended tiers and sponsors are joined away: one row per organisation."""
    organisation = _account(
        {"tier": "ended and current", "sponsor": "ended and current", "sponsor_days": 3,
         "engagements": [("qbr", "held", 10, True)]},
        _tier({"review": 90, "check": None, "promised": True, "sponsor_every": 30}, 1), 1,
    )  # fmt: skip
    (row,) = with_schedule(Organisation.objects.filter(pk=organisation.pk))
    assert row.review_due == START.date() + timedelta(days=100)
    assert row.sponsor_due == START.date() + timedelta(days=40)
