"""Reads of the relationship: review schedule, engagements, commitments, sponsor lapses."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import (
    BooleanField,
    Case,
    DateField,
    F,
    FilteredRelation,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least, TruncDate
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.choices import LifecycleStage, TeamRole
from accounts.models import Organisation, User
from config import prepared
from portal.relationship.choices import (
    CommitmentStatus,
    EngagementKind,
    EngagementStatus,
)
from portal.relationship.models import (
    Commitment,
    Engagement,
    LastContact,
    SponsorLapse,
)
from tiers.models import TierAssignment


class AddDays(Func):
    """`date + n days` in SQL. Django cannot multiply a duration by a column, so this
    says it per database: PostgreSQL adds an integer to a date, SQLite has date()."""

    output_field = DateField()
    arity = 2

    def as_sql(self, compiler, connection, **extra):
        return super().as_sql(
            compiler, connection, template="(%(expressions)s)", arg_joiner=" + ", **extra
        )

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(
            compiler,
            connection,
            template="date(%(expressions)s || ' days')",
            arg_joiner=", '+' || ",
            **extra,
        )


class DaysBetween(Func):
    """Whole days from the second date to the first, in SQL."""

    output_field = IntegerField()
    arity = 2

    def as_sql(self, compiler, connection, **extra):
        return super().as_sql(
            compiler, connection, template="(%(expressions)s)", arg_joiner=" - ", **extra
        )

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(
            compiler,
            connection,
            template="CAST(julianday(%(expressions)s) AS INTEGER)",
            arg_joiner=") - julianday(",
            **extra,
        )


def _current_tier(field: str):
    # order_by(): the model's ordering (by organisation name) would add a join and a sort.
    current = TierAssignment.objects.filter(organisation=OuterRef("pk"), ended_at__isnull=True)
    return Subquery(current.order_by().values(field)[:1])


def _last_held(kind: str):
    held = Engagement.objects.filter(
        organisation=OuterRef("pk"), kind=kind, status=EngagementStatus.HELD
    )
    return Subquery(held.order_by("-on").values("on")[:1])


def with_schedule(organisations: QuerySet[Organisation]) -> QuerySet[Organisation]:
    """Organisations with when their next review, health check and sponsor contact are due.

    The next one of a kind is due one tier cadence after the last held, or after the
    tier started when none was held yet; empty when the tier promises none. Sponsor
    contact is due one promised period after the sponsor's last touchpoint (any held
    engagement they attended) or after they took the account, whichever is later.
    """
    # The current sponsor as a LEFT JOIN, as the tier (with_review_schedule): at most one
    # current of a role (assignment_one_current_per_role), so no organisation is repeated.
    promised = Q(schedule_tier__tier__executive_sponsor_promised=True)
    return (
        with_review_schedule(organisations)
        .alias(
            schedule_sponsor=FilteredRelation(
                "assignments",
                condition=Q(
                    assignments__role=TeamRole.EXECUTIVE_SPONSOR,
                    assignments__ended_at__isnull=True,
                ),
            ),
        )
        .annotate(
            sponsor_every=Case(
                When(promised, then=F("schedule_tier__tier__sponsor_contact_every_days")),
                output_field=IntegerField(),
            ),
            sponsor_id=F("schedule_sponsor__user_id"),
            sponsor_since=TruncDate("schedule_sponsor__started_at"),
        )
        .annotate(
            sponsor_touch=Subquery(
                Engagement.objects.filter(
                    organisation=OuterRef("pk"),
                    status=EngagementStatus.HELD,
                    attendees=OuterRef("sponsor_id"),
                )
                .order_by("-on")
                .values("on")[:1]
            ),
        )
        .annotate(
            sponsor_due=AddDays(
                Case(
                    When(sponsor_touch__gt=F("sponsor_since"), then=F("sponsor_touch")),
                    default=Coalesce("sponsor_since", "tier_since"),
                ),
                "sponsor_every",
            ),
        )
    )


def with_review_schedule(organisations: QuerySet[Organisation]) -> QuerySet[Organisation]:
    """Organisations with when their next review and health check are due (with_schedule
    without the sponsor: no join of the account team where only these are read)."""
    # The current tier as a LEFT JOIN, not a subquery per column: at most one current
    # (tier_one_current_per_organisation), so no organisation is repeated, and PostgreSQL
    # reads it once per organisation instead of once per use (a filter on the due days
    # repeats every subquery in it).
    tier = "schedule_tier__tier__"
    return (
        organisations.alias(
            schedule_tier=FilteredRelation(
                "tier_assignments", condition=Q(tier_assignments__ended_at__isnull=True)
            ),
        )
        .annotate(
            tier_since=TruncDate("schedule_tier__started_at"),
            review_every=F(f"{tier}review_every_days"),
            check_every=F(f"{tier}health_check_every_days"),
            last_review=_last_held(EngagementKind.QBR),
            last_check=_last_held(EngagementKind.HEALTH_CHECK),
        )
        .annotate(
            review_due=AddDays(Coalesce("last_review", "tier_since"), "review_every"),
            check_due=AddDays(Coalesce("last_check", "tier_since"), "check_every"),
        )
    )


def overdue_reviews(*, user: User, today: date | None = None) -> QuerySet[Organisation]:
    """Visible organisations with a review or health check past its due day, most overdue first."""
    today = today or timezone.localdate()
    return (
        with_review_schedule(Organisation.objects.visible_to(user))
        .exclude(lifecycle_stage=LifecycleStage.CHURNED)
        .filter(Q(review_due__lt=today) | Q(check_due__lt=today))
        .order_by(Least("review_due", "check_due").asc(nulls_last=True), "name")
    )


def engagement_list(
    *, user: User, organisation: Organisation, for_customer: bool
) -> QuerySet[Engagement]:
    """An organisation's engagements, newest first; customers never see cancelled ones."""
    engagements = (
        Engagement.objects.visible_to(user)
        .filter(organisation=organisation)
        .select_related("pack")
        .prefetch_related(
            Prefetch("attendees", queryset=User.objects.order_by("full_name").only("full_name"))
        )
    )
    if for_customer:
        engagements = engagements.exclude(status=EngagementStatus.CANCELLED).defer("internal_notes")
    return engagements


def engagement_get(*, user: User, pk: int) -> Engagement:
    """An engagement for staff to edit; 404 unless its organisation is theirs."""
    if not user.is_employee:
        raise Http404
    return get_object_or_404(
        Engagement.objects.visible_to(user).select_related("organisation"), pk=pk
    )


def upcoming_review(*, organisation: Organisation, today: date | None = None) -> dict | None:
    """The next review or health check: the booked one, else when the cadence says it is due.

    One query, its SQL built once per process (config/prepared.py): the schedule and the
    next booked engagement come as annotations.
    """
    today = today or timezone.localdate()
    found = prepared.rows(_upcoming_review, organisation=organisation.pk, today=today)
    row = found[0] if found else None
    if row is None:
        return None
    if row["booked_on"]:
        kind = EngagementKind(row["booked_kind"]).label
        return {"kind": kind, "on": as_date(row["booked_on"]), "booked": True}
    due = [
        (as_date(day), label)
        for day, label in [
            (row["review_due"], EngagementKind.QBR.label),
            (row["check_due"], EngagementKind.HEALTH_CHECK.label),
        ]
        if day
    ]
    if not due:
        return None
    day, label = min(due)
    return {"kind": label, "on": day, "booked": False, "overdue": day < today}


def _upcoming_review(*, organisation: int, today: date) -> QuerySet:
    booked = Engagement.objects.filter(
        organisation=OuterRef("pk"),
        status=EngagementStatus.PLANNED,
        on__gte=today,
        kind__in=[EngagementKind.QBR, EngagementKind.HEALTH_CHECK],
    ).order_by("on", "pk")
    return (
        # Only the review and health check's days are read; no ORDER BY (one organisation).
        with_review_schedule(Organisation.objects.filter(pk=organisation))
        .order_by()
        .annotate(
            booked_on=Subquery(booked.values("on")[:1]),
            booked_kind=Subquery(booked.values("kind")[:1]),
        )
        .values("review_due", "check_due", "booked_on", "booked_kind")[:1]
    )


def as_date(value) -> date:
    # SQLite hands computed dates back as text.
    return date.fromisoformat(value) if isinstance(value, str) else value


def commitment_list(
    *, user: User, organisation: Organisation | int, state: str = "", today: date | None = None
) -> QuerySet[Commitment]:
    """Commitments to an organisation with an `is_overdue` flag: open ones first, by due day."""
    today = today or timezone.localdate()
    commitments = (
        Commitment.objects.visible_to(user)
        .filter(organisation=organisation)
        .select_related("owner")
        .annotate(
            is_overdue=Case(
                When(status=CommitmentStatus.OPEN, due_on__lt=today, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
            is_open=Case(When(status=CommitmentStatus.OPEN, then=Value(0)), default=Value(1)),
        )
        .order_by("is_open", "due_on", "pk")
    )
    if state == "open":
        return commitments.filter(status=CommitmentStatus.OPEN)
    if state == "overdue":
        return commitments.filter(status=CommitmentStatus.OPEN, due_on__lt=today)
    return commitments


def open_commitments(*, user: User, organisation: Organisation, limit: int = 5) -> list[Commitment]:
    """The open commitments, soonest due first (the customer's home), each with its
    `owner_name`; the SQL built once per process (config/prepared.py)."""
    return prepared.objects(
        _open_commitments,
        limit,
        user=user,
        organisation=organisation.pk,
        today=timezone.localdate(),
    )


def _open_commitments(limit: int, *, user: User, organisation: int, today: date) -> QuerySet:
    commitments = commitment_list(user=user, organisation=organisation, state="open", today=today)
    commitments = commitments.select_related(None).only("title", "due_on", "owner_id")
    return commitments.annotate(owner_name=F("owner__full_name"))[:limit]


def commitment_get(*, user: User, pk: int) -> Commitment:
    if not user.is_employee:
        raise Http404
    return get_object_or_404(
        Commitment.objects.visible_to(user).select_related("organisation", "owner"), pk=pk
    )


def overdue_commitments(*, user: User, today: date | None = None) -> QuerySet[Commitment]:
    """Open commitments past their due day on the accounts this person sees, oldest first."""
    return (
        Commitment.objects.visible_to(user)
        .filter(status=CommitmentStatus.OPEN, due_on__lt=today or timezone.localdate())
        .select_related("organisation", "owner")
        .order_by("due_on", "pk")
    )


def sponsor_lapses(*, user: User) -> QuerySet[SponsorLapse]:
    """Executive-sponsor promises currently broken on the accounts this person sees."""
    return (
        SponsorLapse.objects.visible_to(user)
        .filter(ended_at__isnull=True)
        .select_related("organisation", "sponsor")
        .order_by("due_on", "pk")
    )


def account_sponsor_lapses(*, user: User, organisation: int) -> list[SponsorLapse]:
    """sponsor_lapses of one account, each with its sponsor's name (`sponsor_name`), for
    the account's page (its SQL built once per process)."""
    return prepared.objects(_account_lapses, user=user, organisation=organisation)


def _account_lapses(*, user: User, organisation: int) -> QuerySet[SponsorLapse]:
    lapses = SponsorLapse.objects.visible_to(user).filter(
        organisation=organisation, ended_at__isnull=True
    )
    return lapses.annotate(sponsor_name=F("sponsor__full_name")).order_by("due_on", "pk")


def account_get(*, user: User, pk: int) -> Organisation:
    """A staff member's account with its schedule and tier; 404 unless theirs.

    Its SQL is built once per process (config/prepared.py): composing it cost more CPU
    than the rest of the account's page."""
    if not user.is_employee:
        raise Http404
    found = prepared.objects(_account, user=user, pk=pk)
    if not found:
        raise Http404
    return found[0]


def _account(*, user: User, pk: int) -> QuerySet[Organisation]:
    organisations = with_schedule(Organisation.objects.visible_to(user)).annotate(
        tier_name=_current_tier("tier__name"),
        sponsor_promised=Coalesce(_current_tier("tier__executive_sponsor_promised"), False),
        last_contact_at=Subquery(
            LastContact.objects.filter(organisation=OuterRef("pk")).values("at")[:1]
        ),
    )
    return organisations.filter(pk=pk)


FIRST_PERIOD_DAYS = 90  # without an earlier review, the pack covers the last quarter


def previous_review(engagement: Engagement) -> Engagement | None:
    """The last QBR held before this engagement's day: where the pack's period starts."""
    return (
        Engagement.objects.filter(
            organisation_id=engagement.organisation_id,
            kind=EngagementKind.QBR,
            status=EngagementStatus.HELD,
            on__lt=engagement.on,
        )
        .exclude(pk=engagement.pk)
        .order_by("-on", "-pk")
        .first()
    )


def pack_period(engagement: Engagement) -> tuple[date, date]:
    """From the day after the last review (or a quarter back) to the review's day."""
    previous = previous_review(engagement)
    start = (
        previous.on + timedelta(days=1)
        if previous
        else engagement.on - timedelta(days=FIRST_PERIOD_DAYS)
    )
    return start, engagement.on
