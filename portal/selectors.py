"""Reads for the single view, always through the access policy."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DateField,
    DateTimeField,
    Exists,
    F,
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
from django.db.models.functions import Cast, Coalesce, Concat, Least, TruncDate
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import pluralize
from django.utils import timezone

from accounts.choices import LifecycleStage, TeamRole, UserKind
from accounts.models import AccountAssignment, Organisation, User
from portal.choices import (
    CommitmentStatus,
    EngagementKind,
    EngagementStatus,
    HealthColour,
    HealthSignal,
)
from portal.models import (
    Commitment,
    CustomerIdentity,
    Engagement,
    HealthScore,
    Invoice,
    LastContact,
    LegacyTicket,
    Order,
    OrderLine,
    Shipment,
    SourceSystem,
    SponsorLapse,
    TimelineEvent,
)
from tickets.choices import OPEN_STATUSES, SlaState
from tickets.models import Message, Ticket
from tickets.selectors import ticket_list
from tiers.models import TierAssignment

ORDER_SORTS = {
    "newest": ("-ordered_at", "-pk"),
    "oldest": ("ordered_at", "pk"),
    "number": ("number", "pk"),
    "total": ("-total", "-pk"),
}


def source_freshness() -> dict[int, SourceSystem]:
    """Every source by id, to label records with where they came from and how fresh."""
    return {s.pk: s for s in SourceSystem.objects.only("pk", "name", "last_success_at")}


def order_list(
    *,
    user: User,
    organisation: Organisation | None = None,
    search: str = "",
    status: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    sort: str = "newest",
) -> QuerySet[Order]:
    """Orders the user may see, of one organisation (the screens) or all visible (the API)."""
    orders = _of_organisation(Order.objects, user, organisation)
    if search:
        lines = OrderLine.objects.filter(order=OuterRef("pk")).filter(
            Q(product_code__icontains=search) | Q(product_name__icontains=search)
        )
        orders = orders.filter(Q(number__icontains=search) | Exists(lines))
    if status:
        orders = orders.filter(status=status)
    if date_from:
        orders = orders.filter(ordered_at__date__gte=date_from)
    if date_to:
        orders = orders.filter(ordered_at__date__lte=date_to)
    return orders.order_by(*ORDER_SORTS.get(sort, ORDER_SORTS["newest"]))


def order_rows(orders: QuerySet[Order]) -> QuerySet[Order]:
    """The screens' order rows: each with its live line count and latest shipment's status.

    Subqueries, not a join with GROUP BY: only the rows of the page are counted.
    """
    live_lines = OrderLine.objects.filter(order=OuterRef("pk"), deleted_at__isnull=True)
    return orders.annotate(
        line_count=Coalesce(
            Subquery(live_lines.order_by().values("order").annotate(n=Count("pk")).values("n")[:1]),
            0,
        ),
        shipment_status=latest_shipment_status(),
    )


def latest_shipment_status() -> Subquery:
    """The status of an order's latest live shipment (None before it ships)."""
    latest = Shipment.objects.filter(order=OuterRef("pk"), deleted_at__isnull=True)
    return Subquery(latest.order_by("-shipped_at").values("status")[:1])


def _of_organisation(records: QuerySet, user: User, organisation: Organisation | None):
    """One organisation's records (the screens), or those of all the user's (the API),
    under the access policy."""
    if organisation is not None:
        return records.visible_to(user).filter(organisation=organisation)
    return records.visible_to(user, as_list=True)


def order_statuses(*, organisation: Organisation) -> list[str]:
    return list(
        Order.objects.filter(organisation=organisation, deleted_at__isnull=True)
        .order_by("status")
        .values_list("status", flat=True)
        .distinct()
    )


def order_get(*, user: User, pk: int) -> Order:
    """An order with its lines, shipments and invoices; 404 unless visible."""
    live = {"deleted_at__isnull": True}
    return get_object_or_404(
        Order.objects.visible_to(user)
        .select_related("organisation")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.filter(**live).order_by("pk")),
            Prefetch("shipments", queryset=Shipment.objects.filter(**live)),
            Prefetch("invoices", queryset=Invoice.objects.filter(**live)),
        ),
        pk=pk,
    )


def shipment_list(
    *, user: User, organisation: Organisation | None = None, status: str = ""
) -> QuerySet[Shipment]:
    shipments = (
        _of_organisation(Shipment.objects, user, organisation)
        .select_related("order")
        .order_by(F("shipped_at").desc(nulls_last=True), "-pk")
    )
    return shipments.filter(status=status) if status else shipments


INVOICE_STATES = {"open": "Open", "overdue": "Overdue", "paid": "Paid"}


def invoice_list(
    *, user: User, organisation: Organisation | None = None, state: str = ""
) -> QuerySet[Invoice]:
    today = timezone.localdate()
    invoices = _of_organisation(Invoice.objects, user, organisation)
    invoices = (
        invoices.annotate(
            state=Case(
                When(paid_on__isnull=False, then=Value("paid")),
                When(due_on__lt=today, then=Value("overdue")),
                default=Value("open"),
                output_field=CharField(),
            )
        )
        .select_related("order")
        .order_by("-issued_on", "-pk")
    )
    if state == "unpaid":  # what the home page lists: overdue first, then by due date
        return invoices.filter(paid_on__isnull=True).order_by(
            F("due_on").asc(nulls_last=True), "-pk"
        )
    return invoices.filter(state=state) if state in INVOICE_STATES else invoices


def invoice_get(*, user: User, pk: int) -> Invoice:
    invoices = Invoice.objects.visible_to(user).select_related("organisation", "order")
    return get_object_or_404(invoices, pk=pk)


# --- The timeline: every touchpoint across departments, newest first --------------------------

TIMELINE_KINDS = {
    "order": "Orders placed",
    "delivery": "Deliveries",
    "invoice": "Invoices issued",
    "payment": "Payments",
    "ticket": "Tickets",
    "legacy_ticket": "Old help-desk tickets",
    "note": "News from us",
}


def _touchpoints(queryset, kind: str, at: str, title, target, limit: int) -> QuerySet:
    """One kind of touchpoint as (kind, at, title, target) rows: the newest `limit` only.

    Each part is cut to its own newest rows first (through an index on the
    organisation and the date) so the UNION never reads a big customer's whole history.
    """
    newest = queryset.order_by(f"-{at}").values("pk")[:limit]
    # Prefixed names: TimelineEvent has fields called kind, at and title. No ordering
    # inside the arms: SQLite refuses ORDER BY in the arms of a UNION.
    return (
        queryset.model.objects.filter(pk__in=newest)
        .order_by()
        .annotate(
            tl_kind=Value(kind, output_field=CharField()),
            tl_at=Cast(F(at), DateTimeField()),
            tl_title=Cast(title, CharField()),
            tl_target=Cast(target, CharField()),
        )
        .values_list("tl_kind", "tl_at", "tl_title", "tl_target")
    )


def timeline(*, organisation: Organisation, kind: str = "", limit: int = 20) -> list[dict]:
    """Touchpoints from every system in one query (a UNION), newest first."""
    live = {"organisation": organisation, "deleted_at__isnull": True}
    parts = {
        "order": _touchpoints(
            Order.objects.filter(**live),
            "order",
            "ordered_at",
            Concat(Value("Order "), F("number"), Value(" placed")),
            F("pk"),
            limit,
        ),
        "delivery": _touchpoints(
            Shipment.objects.filter(**live, delivered_at__isnull=False),
            "delivery",
            "delivered_at",
            Concat(Value("Delivered by "), F("carrier"), Value(" "), F("tracking_number")),
            F("order_id"),
            limit,
        ),
        "invoice": _touchpoints(
            Invoice.objects.filter(**live),
            "invoice",
            "issued_on",
            Concat(Value("Invoice "), F("number"), Value(" issued")),
            F("pk"),
            limit,
        ),
        "payment": _touchpoints(
            Invoice.objects.filter(**live, paid_on__isnull=False),
            "payment",
            "paid_on",
            Concat(Value("Invoice "), F("number"), Value(" paid")),
            F("pk"),
            limit,
        ),
        "ticket": _touchpoints(
            Ticket.objects.filter(organisation=organisation),
            "ticket",
            "created_at",
            Concat(Value("Ticket opened: "), F("subject")),
            F("pk"),
            limit,
        ).union(
            _touchpoints(
                Ticket.objects.filter(organisation=organisation, resolved_at__isnull=False),
                "ticket",
                "resolved_at",
                Concat(Value("Ticket resolved: "), F("subject")),
                F("pk"),
                limit,
            ),
            all=True,
        ),
        "legacy_ticket": _touchpoints(
            LegacyTicket.objects.filter(**live),
            "legacy_ticket",
            "opened_at",
            Concat(Value("Help-desk ticket: "), F("subject")),
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
    chosen = [parts[kind]] if kind in parts else list(parts.values())
    query = chosen[0].union(*chosen[1:], all=True) if len(chosen) > 1 else chosen[0]
    rows = query.order_by("-tl_at")[:limit]
    return [dict(zip(("kind", "at", "title", "target"), row, strict=True)) for row in rows]


# --- The staff workspace ------------------------------------------------------------------------

ACCOUNT_SORTS = {
    "name": ("name",),
    "renewal": (F("renewal_date").asc(nulls_last=True), "name"),
    "stage": ("lifecycle_stage", "name"),
    "open": ("-open_tickets", "name"),
    "risk": ("-tickets_at_risk", "-open_tickets", "name"),
    "contact": (F("last_contact").asc(nulls_first=True), "name"),
    "health": (F("health_score").asc(nulls_last=True), "name"),
}


def workspace_accounts(*, user: User, sort: str = "name") -> QuerySet[Organisation]:
    """The accounts a staff member looks after, with what needs attention.

    Last contact is the stored one (portal.services.last_contact_record), one row per
    account, rather than a scan of every message of every account.
    """
    now = timezone.now()
    open_tickets = Ticket.objects.filter(organisation=OuterRef("pk"), status__in=OPEN_STATUSES)
    risky = open_tickets.with_sla_state(now).filter(
        sla_state__in=[SlaState.AT_RISK, SlaState.BREACHED]
    )
    current_tier = TierAssignment.objects.filter(organisation=OuterRef("pk"), ended_at__isnull=True)
    return (
        with_health(Organisation.objects.visible_to(user))
        .annotate(
            tier_name=Subquery(current_tier.values("tier__name")[:1]),
            open_tickets=_count(open_tickets),
            tickets_at_risk=_count(risky),
            last_contact=Subquery(
                LastContact.objects.filter(organisation=OuterRef("pk")).values("at")[:1]
            ),
        )
        .order_by(*ACCOUNT_SORTS.get(sort, ACCOUNT_SORTS["name"]))
    )


STAFF_KINDS = [kind for kind in UserKind.values if kind != UserKind.CUSTOMER]


def _count(queryset):
    counted = queryset.order_by().values("organisation").annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted), 0)


def tickets_waiting_for_staff(*, user: User) -> QuerySet[Ticket]:
    """Open tickets whose last public word is the customer's: the ball is in our court."""
    last_public = Message.objects.filter(ticket=OuterRef("pk"), is_internal=False).order_by(
        "-created_at", "-pk"
    )
    return (
        ticket_list(user=user, status="open")
        .order_by("created_at", "pk")
        .annotate(last_author_kind=Subquery(last_public.values("author__kind")[:1]))
        .filter(Q(last_author_kind="customer") | Q(last_author_kind__isnull=True))
        .exclude(status="waiting")
    )


def work_queue_counts(*, user: User) -> dict[str, int]:
    """The numbers on the workspace's queue card: one query each, whatever the data."""
    return {
        "waiting": tickets_waiting_for_staff(user=user).count(),
        "at_risk": ticket_list(user=user, status="open", sla_state="at_risk").count(),
        "breached": ticket_list(user=user, status="open", sla_state="breached").count(),
        "to_match": CustomerIdentity.objects.filter(organisation__isnull=True).count(),
    }


# --- The relationship: schedule, engagements, commitments, health, renewals ----------------------


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
    sponsor = AccountAssignment.objects.filter(
        organisation=OuterRef("pk"), role=TeamRole.EXECUTIVE_SPONSOR, ended_at__isnull=True
    ).order_by()
    promised = TierAssignment.objects.filter(
        organisation=OuterRef("pk"), ended_at__isnull=True, tier__executive_sponsor_promised=True
    ).order_by()
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


def overdue_reviews(*, user: User, today: date | None = None) -> QuerySet[Organisation]:
    """Visible organisations with a review or health check past its due day, most overdue first."""
    today = today or timezone.localdate()
    return (
        with_schedule(Organisation.objects.visible_to(user))
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

    One query: the schedule and the next booked engagement come as annotations.
    """
    today = today or timezone.localdate()
    booked = Engagement.objects.filter(
        organisation=OuterRef("pk"),
        status=EngagementStatus.PLANNED,
        on__gte=today,
        kind__in=[EngagementKind.QBR, EngagementKind.HEALTH_CHECK],
    ).order_by("on", "pk")
    row = (
        with_schedule(Organisation.objects.filter(pk=organisation.pk))
        .annotate(
            booked_on=Subquery(booked.values("on")[:1]),
            booked_kind=Subquery(booked.values("kind")[:1]),
        )
        .values("review_due", "check_due", "booked_on", "booked_kind")
        .first()
    )
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


def as_date(value) -> date:
    # SQLite hands computed dates back as text.
    return date.fromisoformat(value) if isinstance(value, str) else value


def commitment_list(
    *, user: User, organisation: Organisation, state: str = ""
) -> QuerySet[Commitment]:
    """Commitments to an organisation with an `is_overdue` flag: open ones first, by due day."""
    today = timezone.localdate()
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


def commitment_get(*, user: User, pk: int) -> Commitment:
    if not user.is_employee:
        raise Http404
    return get_object_or_404(
        Commitment.objects.visible_to(user).select_related("organisation", "owner"), pk=pk
    )


def overdue_commitments(*, user: User) -> QuerySet[Commitment]:
    """Open commitments past their due day on the accounts this person sees, oldest first."""
    return (
        Commitment.objects.visible_to(user)
        .filter(status=CommitmentStatus.OPEN, due_on__lt=timezone.localdate())
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


def _count_of(queryset) -> Subquery:
    counted = queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Subquery(counted, output_field=IntegerField())


def relationship_counts(*, user: User) -> dict[str, int]:
    """Overdue reviews, overdue commitments and lapsed sponsor promises, for the queue card.

    One query: the three counts are subqueries of a one-row SELECT (the user's own row).
    """
    counts = {
        "reviews_overdue": _count_of(overdue_reviews(user=user)),
        "commitments_overdue": _count_of(overdue_commitments(user=user)),
        "sponsor_lapses": _count_of(sponsor_lapses(user=user)),
    }
    row = User.objects.filter(pk=user.pk).annotate(**counts).values(*counts).first()
    return row or dict.fromkeys(counts, 0)


def account_get(*, user: User, pk: int) -> Organisation:
    """A staff member's account with its schedule and tier; 404 unless theirs."""
    if not user.is_employee:
        raise Http404
    organisations = with_schedule(Organisation.objects.visible_to(user)).annotate(
        tier_name=_current_tier("tier__name"),
        sponsor_promised=Coalesce(_current_tier("tier__executive_sponsor_promised"), False),
        last_contact_at=Subquery(
            LastContact.objects.filter(organisation=OuterRef("pk")).values("at")[:1]
        ),
    )
    return get_object_or_404(organisations, pk=pk)


# Health --------------------------------------------------------------------------------------

GREEN_FROM = 70  # scores from here up are green
NEVER_CONTACTED_DAYS = 100_000  # "no contact on record" scores as the worst contact
AMBER_FROM = 40  # from here up amber, below red


def health_colour(score: int) -> str:
    if score >= GREEN_FROM:
        return HealthColour.GREEN
    return HealthColour.AMBER if score >= AMBER_FROM else HealthColour.RED


def signal_values(row) -> dict[str, float | None]:
    """The value each signal is scored on, from a HealthScore's stored inputs.

    None means the signal does not apply (no ratings, no orders in either period,
    no review cadence) and leaves the weighting.
    """
    if row.orders_previous:
        trend = row.orders_recent / row.orders_previous
    else:
        trend = 1.0 if row.orders_recent else None
    return {
        HealthSignal.SLA_BREACHES: row.sla_breaches,
        HealthSignal.CSAT: None if row.csat is None else float(row.csat),
        HealthSignal.EFFORT: None if row.effort is None else float(row.effort),
        HealthSignal.ORDER_TREND: trend,
        HealthSignal.OVERDUE_INVOICES: row.overdue_invoices,
        HealthSignal.OVERDUE_COMMITMENTS: row.overdue_commitments,
        HealthSignal.LAST_CONTACT: (
            NEVER_CONTACTED_DAYS if row.days_since_contact is None else row.days_since_contact
        ),
        HealthSignal.REVIEWS_OVERDUE: row.reviews_overdue,
    }


def signal_score(value: float | None, good_at: float, bad_at: float) -> float | None:
    """1 at `good_at`, 0 at `bad_at`, linear in between and flat beyond."""
    if value is None:
        return None
    return min(1.0, max(0.0, (value - bad_at) / (good_at - bad_at)))


def _reason(signal: str, row) -> str:
    """The signal's value in words, as a person would say it."""
    n = {
        HealthSignal.SLA_BREACHES: row.sla_breaches,
        HealthSignal.OVERDUE_INVOICES: row.overdue_invoices,
        HealthSignal.OVERDUE_COMMITMENTS: row.overdue_commitments,
        HealthSignal.REVIEWS_OVERDUE: row.reviews_overdue,
    }.get(signal)
    if signal == HealthSignal.SLA_BREACHES:
        return f"{n} SLA breach{'es' if n != 1 else ''} in 90 days"
    if signal == HealthSignal.OVERDUE_INVOICES:
        return f"{n} overdue invoice{pluralize(n)}"
    if signal == HealthSignal.OVERDUE_COMMITMENTS:
        return f"{n} overdue commitment{pluralize(n)}"
    if signal == HealthSignal.REVIEWS_OVERDUE:
        return f"{n} review{pluralize(n)} overdue"
    if signal == HealthSignal.CSAT:
        return f"CSAT {row.csat:.1f} of 5"
    if signal == HealthSignal.EFFORT:
        return f"effort {row.effort:.1f} of 5 (5 is easy)"
    if signal == HealthSignal.LAST_CONTACT:
        if row.days_since_contact is None:
            return "no contact on record"
        return f"last contact {row.days_since_contact} day{pluralize(row.days_since_contact)} ago"
    # The order trend.
    if not row.orders_previous:
        return f"{row.orders_recent} orders in 90 days, none in the 90 before"
    change = round(100 * (row.orders_recent - row.orders_previous) / row.orders_previous)
    if change == 0:
        return "orders steady on the 90 days before"
    return f"orders {'down' if change < 0 else 'up'} {abs(change)} % on the 90 days before"


def health_breakdown(row) -> list[dict]:
    """Each signal of a score: its value in words, its score, weight and the points it cost.

    Uses the weights stored with the score, so an old score explains itself even after
    the weights changed.
    """
    values = signal_values(row)
    parts = []
    for signal, (weight, good_at, bad_at) in row.weights.items():
        score = signal_score(values.get(signal), float(good_at), float(bad_at))
        parts.append(
            {
                "signal": signal,
                "label": HealthSignal(signal).label,
                "weight": weight,
                "score": score,
                "words": _reason(signal, row) if score is not None else "does not apply",
            }
        )
    applied = sum(p["weight"] for p in parts if p["score"] is not None) or 1
    for part in parts:
        score = part["score"]
        part["lost"] = 0.0 if score is None else 100 * part["weight"] * (1 - score) / applied
    return sorted(parts, key=lambda p: (-p["lost"], p["label"]))


def health_reasons(row, limit: int = 3) -> str:
    """ "3 overdue invoices, last contact 74 days ago": what costs the most points."""
    costly = [p["words"] for p in health_breakdown(row) if p["lost"] >= 0.5][:limit]
    return ", ".join(costly) if costly else "all signals healthy"


def health_history(*, organisation: Organisation, days: int = 90) -> list[HealthScore]:
    """The organisation's daily scores over the last `days`, oldest first."""
    since = timezone.localdate() - timedelta(days=days)
    return list(
        HealthScore.objects.filter(organisation=organisation, computed_on__gte=since).order_by(
            "computed_on"
        )
    )


def trend_points(history: list[HealthScore], width: int = 300, height: int = 60) -> str:
    """SVG polyline points for the score trend (0 at the bottom, 100 at the top)."""
    if not history:
        return ""
    step = width / max(len(history) - 1, 1)
    return " ".join(
        f"{i * step:.1f},{height - height * h.score / 100:.1f}" for i, h in enumerate(history)
    )


def _latest_health(field: str):
    latest = HealthScore.objects.filter(organisation=OuterRef("pk")).order_by("-computed_on")
    return Subquery(latest.values(field)[:1])


def with_health(organisations: QuerySet[Organisation]) -> QuerySet[Organisation]:
    """Annotate the latest score and its row's id (to fetch the explanations in one query)."""
    return organisations.annotate(
        health_score=_latest_health("score"), health_id=_latest_health("pk")
    )


def attach_health(organisations) -> None:
    """Set `.health` (the latest HealthScore or None) and `.health_reasons` (its why,
    in words) on each organisation annotated by with_health: one query."""
    ids = [o.health_id for o in organisations if o.health_id]
    rows = HealthScore.objects.in_bulk(ids)
    for organisation in organisations:
        organisation.health = rows.get(organisation.health_id)
        organisation.health_reasons = (
            health_reasons(organisation.health) if organisation.health else ""
        )


RENEWAL_BUCKETS = [(30, "Next 30 days"), (60, "31 to 60 days"), (90, "61 to 90 days")]


def renewal_pipeline(*, user: User, today: date | None = None) -> list[dict]:
    """Renewals in the next 90 days in 30-day buckets, each account with its health."""
    today = today or timezone.localdate()
    organisations = list(
        with_health(Organisation.objects.visible_to(user))
        .filter(renewal_date__gte=today, renewal_date__lte=today + timedelta(days=90))
        .exclude(lifecycle_stage=LifecycleStage.CHURNED)
        .annotate(tier_name=_current_tier("tier__name"))
        .order_by("renewal_date", "name")
    )
    attach_health(organisations)
    buckets = [{"label": label, "organisations": []} for _, label in RENEWAL_BUCKETS]
    for organisation in organisations:
        days = (organisation.renewal_date - today).days
        index = next(i for i, (end, _) in enumerate(RENEWAL_BUCKETS) if days <= end)
        buckets[index]["organisations"].append(organisation)
    return buckets
