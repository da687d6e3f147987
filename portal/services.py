"""Writes for the single view and the relationship: engagements, commitments, contact, health."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import (
    Avg,
    Case,
    Count,
    DateField,
    DecimalField,
    F,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts import outbox, policy
from accounts.choices import AuditAction, LifecycleStage
from accounts.models import Membership, Organisation, User
from accounts.services import audit_record
from portal import selectors, tasks
from portal.choices import CommitmentStatus, EngagementStatus, HealthColour, HealthSignal
from portal.models import (
    Commitment,
    Engagement,
    HealthScore,
    HealthWeight,
    Invoice,
    LastContact,
    Order,
    SponsorLapse,
    TimelineEvent,
)
from tickets.models import Message, Rating, Ticket


def timeline_record(
    *,
    organisation: Organisation,
    kind: str,
    at: datetime,
    title: str,
    body: str = "",
    link: str = "",
) -> TimelineEvent:
    return TimelineEvent.objects.create(
        organisation=organisation, kind=kind, at=at, title=title[:200], body=body, link=link
    )


# --- Who may write ------------------------------------------------------------------------------


def _check_account_staff(user: User, organisation: Organisation) -> None:
    """Engagements and commitments are written by the account team and admins only."""
    if not (user.is_employee and policy.can_view_as(user, organisation)):
        raise PermissionDenied


def _check_attendees(organisation: Organisation, attendees) -> None:
    """Attendees are staff or active members of the organisation: nobody from elsewhere."""
    members = set(
        Membership.objects.filter(
            organisation=organisation, is_active=True, user__in=attendees
        ).values_list("user_id", flat=True)
    )
    strangers = [u for u in attendees if not u.is_employee and u.pk not in members]
    if strangers:
        raise ValidationError({"attendees": "Choose staff or people of this organisation."})


# --- Last contact -------------------------------------------------------------------------------


def _midday(day: date) -> datetime:
    # Engagements have a day, not a time; midday keeps the day in any nearby time zone.
    return timezone.make_aware(datetime.combine(day, time(12)))


def last_contact_record(*, organisation: Organisation | int, at: datetime) -> None:
    """We were in touch at `at` (a staff reply, an engagement held): keep the latest."""
    organisation_id = getattr(organisation, "pk", organisation)
    updated = LastContact.objects.filter(organisation_id=organisation_id, at__lt=at).update(at=at)
    if not updated:
        LastContact.objects.bulk_create(
            [LastContact(organisation_id=organisation_id, at=at)], ignore_conflicts=True
        )


def last_contact_refresh() -> int:
    """Rebuild every stored last contact from staff replies and held engagements.

    The nightly safety net behind last_contact_record: it backfills history and
    catches anything written around the services. Returns the rows written.
    """
    replies = (
        Message.objects.filter(is_internal=False, author__kind__in=selectors.STAFF_KINDS)
        .values("ticket__organisation_id")
        .annotate(latest=Max("created_at"))
        .values_list("ticket__organisation_id", "latest")
    )
    latest: dict[int, datetime] = dict(replies)
    held = (
        Engagement.objects.filter(status=EngagementStatus.HELD)
        .values("organisation_id")
        .annotate(latest=Max("on"))
        .values_list("organisation_id", "latest")
    )
    for organisation_id, day in held:
        at = _midday(day)
        if organisation_id not in latest or latest[organisation_id] < at:
            latest[organisation_id] = at
    rows = [LastContact(organisation_id=pk, at=at) for pk, at in latest.items()]
    LastContact.objects.bulk_create(
        rows,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["organisation"],
        update_fields=["at"],
    )
    return len(rows)


# --- Engagements --------------------------------------------------------------------------------


def _validate_engagement(engagement: Engagement, today: date) -> None:
    if engagement.status == EngagementStatus.HELD and engagement.on > today:
        raise ValidationError({"on": "A held engagement cannot be in the future; plan it instead."})
    if engagement.status == EngagementStatus.PLANNED and engagement.on < today:
        raise ValidationError({"on": "A planned engagement is in the future; record it as held."})
    engagement.full_clean(exclude=["organisation", "recorded_by"])


def _after_engagement(engagement: Engagement) -> None:
    """A held engagement is contact, and ends a lapsed sponsor promise the sponsor attended."""
    if engagement.status != EngagementStatus.HELD:
        return
    last_contact_record(organisation=engagement.organisation, at=_midday(engagement.on))
    SponsorLapse.objects.filter(
        organisation=engagement.organisation,
        ended_at__isnull=True,
        sponsor__in=engagement.attendees.all(),
    ).update(ended_at=timezone.now())


@transaction.atomic
def engagement_record(
    *,
    by: User,
    organisation: Organisation,
    kind: str,
    on: date,
    status: str = EngagementStatus.HELD,
    attendees=(),
    other_attendees: str = "",
    summary: str = "",
    next_steps: str = "",
    internal_notes: str = "",
    via_view_as: bool = False,
) -> Engagement:
    """Record a review, health check or executive touchpoint (held, or planned ahead)."""
    _check_account_staff(by, organisation)
    engagement = Engagement(
        organisation=organisation,
        kind=kind,
        on=on,
        status=status,
        other_attendees=other_attendees,
        summary=summary,
        next_steps=next_steps,
        internal_notes=internal_notes,
        recorded_by=by,
    )
    _validate_engagement(engagement, timezone.localdate())
    _check_attendees(organisation, attendees)
    engagement.save()
    engagement.attendees.set(attendees)
    _after_engagement(engagement)
    audit_record(
        actor=by,
        action=AuditAction.RECORD_CREATED,
        organisation=organisation,
        target=f"engagement {engagement.pk}: {engagement}",
        via_view_as=via_view_as,
    )
    return engagement


ENGAGEMENT_FIELDS = ["kind", "on", "status", "other_attendees", "summary", "next_steps"]


@transaction.atomic
def engagement_update(
    *, by: User, engagement: Engagement, attendees=None, via_view_as: bool = False, **fields
) -> Engagement:
    """Change an engagement: mark a planned one held, add the notes, cancel it."""
    _check_account_staff(by, engagement.organisation)
    allowed = {*ENGAGEMENT_FIELDS, "internal_notes"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"Engagements have no fields {sorted(unknown)}")
    engagement = Engagement.objects.select_for_update().get(pk=engagement.pk)
    changed = sorted(k for k, v in fields.items() if getattr(engagement, k) != v)
    for name, value in fields.items():
        setattr(engagement, name, value)
    _validate_engagement(engagement, timezone.localdate())
    if attendees is not None:
        _check_attendees(engagement.organisation, attendees)
    engagement.save()
    if attendees is not None:
        engagement.attendees.set(attendees)
        changed.append("attendees")
    _after_engagement(engagement)
    audit_record(
        actor=by,
        action=AuditAction.RECORD_CHANGED,
        organisation=engagement.organisation,
        target=f"engagement {engagement.pk}: {engagement}",
        detail={"fields": changed},
        via_view_as=via_view_as,
    )
    return engagement


# --- Commitments --------------------------------------------------------------------------------


def _validate_commitment(commitment: Commitment) -> None:
    errors = {}
    if commitment.owner is not None and not commitment.owner.is_employee:
        errors["owner"] = "The owner of a promise to a customer is one of our staff."
    engagement = commitment.engagement
    if engagement and engagement.organisation_id != commitment.organisation_id:
        errors["engagement"] = "Choose an engagement of this organisation."
    if errors:
        raise ValidationError(errors)
    commitment.full_clean(exclude=["organisation", "created_by"])


@transaction.atomic
def commitment_create(
    *,
    by: User,
    organisation: Organisation,
    title: str,
    due_on: date,
    owner: User | None = None,
    details: str = "",
    engagement: Engagement | None = None,
    via_view_as: bool = False,
) -> Commitment:
    """Write down a promise made to the customer; they see it on their portal at once."""
    _check_account_staff(by, organisation)
    commitment = Commitment(
        organisation=organisation,
        title=title,
        details=details,
        owner=owner,
        due_on=due_on,
        engagement=engagement,
        created_by=by,
    )
    _validate_commitment(commitment)
    commitment.save()
    audit_record(
        actor=by,
        action=AuditAction.RECORD_CREATED,
        organisation=organisation,
        target=f"commitment {commitment.pk}: {commitment.title}",
        via_view_as=via_view_as,
    )
    return commitment


COMMITMENT_FIELDS = ["title", "details", "owner", "due_on", "status", "engagement"]


@transaction.atomic
def commitment_update(
    *, by: User, commitment: Commitment, via_view_as: bool = False, **fields
) -> Commitment:
    """Change a commitment: move its date, hand it over, mark it done or dropped."""
    _check_account_staff(by, commitment.organisation)
    unknown = set(fields) - set(COMMITMENT_FIELDS)
    if unknown:
        raise ValueError(f"Commitments have no fields {sorted(unknown)}")
    commitment = Commitment.objects.select_for_update().get(pk=commitment.pk)
    changed = sorted(k for k, v in fields.items() if getattr(commitment, k) != v)
    was_open = commitment.status == CommitmentStatus.OPEN
    for name, value in fields.items():
        setattr(commitment, name, value)
    is_open = commitment.status == CommitmentStatus.OPEN
    if was_open and not is_open:
        commitment.closed_at = timezone.now()
    elif is_open:
        commitment.closed_at = None
    _validate_commitment(commitment)
    commitment.save()
    audit_record(
        actor=by,
        action=AuditAction.RECORD_CHANGED,
        organisation=commitment.organisation,
        target=f"commitment {commitment.pk}: {commitment.title}",
        detail={"fields": changed, "status": commitment.status},
        via_view_as=via_view_as,
    )
    return commitment


# --- Health -------------------------------------------------------------------------------------

HEALTH_WINDOW_DAYS = 90


def _per_organisation(queryset, function: str = "COUNT", field: str = "pk", output=None):
    """COUNT or AVG over a correlated subquery's rows, without a GROUP BY."""
    output = output or IntegerField()
    value = Func(F(field), function=function, output_field=output)
    return Subquery(queryset.order_by().annotate(v=value).values("v"), output_field=output)


def _organisation_inputs(today: date):
    """Per organisation, the cheap inputs: one index lookup each (schedule, contact,
    overdue commitments)."""
    of_org = {"organisation": OuterRef("pk")}
    contact = Subquery(LastContact.objects.filter(**of_org).values("at")[:1])
    one_if_overdue = {
        field: Case(When(**{f"{field}__lt": today}, then=1), default=0)
        for field in ("review_due", "check_due")
    }
    organisations = Organisation.objects.exclude(lifecycle_stage=LifecycleStage.CHURNED)
    return (
        selectors.with_schedule(organisations)
        .annotate(
            in_organisation=F("pk"),
            in_overdue_commitments=_per_organisation(
                Commitment.objects.filter(**of_org, status=CommitmentStatus.OPEN, due_on__lt=today)
            ),
            in_days_since_contact=selectors.DaysBetween(
                Value(today, output_field=DateField()), TruncDate(contact)
            ),
            in_reviews_overdue=Case(
                When(review_every__isnull=True, check_every__isnull=True, then=Value(None)),
                default=one_if_overdue["review_due"] + one_if_overdue["check_due"],
                output_field=IntegerField(),
            ),
        )
        .order_by()
        .values_list(
            "in_organisation",
            "in_overdue_commitments",
            "in_days_since_contact",
            "in_reviews_overdue",
        )
    )


def _grouped(queryset, organisation: str, **aggregates):
    """`SELECT grp, <aggregates> ... GROUP BY grp`: one pass over the table for everyone."""
    return (
        queryset.order_by()
        .annotate(grp=F(organisation))
        .values("grp")
        .annotate(**aggregates)
        .values_list("grp", *aggregates)
    )


def _record_inputs(today: date, now: datetime) -> dict:
    """The inputs from the big tables, each grouped by organisation in one pass.

    Grouped, not correlated per organisation: a customer with 200,000 orders costs a
    share of one scan rather than a walk of its own, whatever the planner guesses.
    """
    since = now - timedelta(days=HEALTH_WINDOW_DAYS)
    before = since - timedelta(days=HEALTH_WINDOW_DAYS)
    average = DecimalField(max_digits=6, decimal_places=2)
    return {
        "tickets": _grouped(
            Ticket.objects.filter(created_at__gte=since, sla_breached_at__isnull=False),
            "organisation_id",
            breaches=Count("pk"),
        ),
        "ratings": _grouped(
            Rating.objects.filter(created_at__gte=since),
            "ticket__organisation_id",
            csat=Avg("csat", output_field=average),
            effort=Avg("effort", output_field=average),
        ),
        "orders": _grouped(
            Order.objects.filter(deleted_at__isnull=True, ordered_at__gte=before),
            "organisation_id",
            recent=Count("pk", filter=Q(ordered_at__gte=since)),
            previous=Count("pk", filter=Q(ordered_at__lt=since)),
        ),
        "invoices": _grouped(
            Invoice.objects.filter(deleted_at__isnull=True, paid_on__isnull=True, due_on__lt=today),
            "organisation_id",
            overdue=Count("pk"),
        ),
    }


def health_inputs_sql(*, today: date, now: datetime) -> tuple[str, list]:
    """One SELECT: every live organisation with the raw value of each signal."""
    base_sql, params = _organisation_inputs(today).query.sql_with_params()
    params = list(params)
    joins = []
    for alias, queryset in _record_inputs(today, now).items():
        sql, grouped_params = queryset.query.sql_with_params()
        joins.append(f" LEFT JOIN ({sql}) {alias} ON {alias}.grp = base.in_organisation")
        params += grouped_params
    columns = (
        "base.in_organisation, COALESCE(tickets.breaches, 0) AS in_sla_breaches,"
        " ratings.csat AS in_csat, ratings.effort AS in_effort,"
        " COALESCE(orders.recent, 0) AS in_orders_recent,"
        " COALESCE(orders.previous, 0) AS in_orders_previous,"
        " COALESCE(invoices.overdue, 0) AS in_overdue_invoices,"
        " base.in_overdue_commitments, base.in_days_since_contact, base.in_reviews_overdue"
    )
    # Every name is ours; every value a parameter of the querysets.
    return f"SELECT {columns} FROM ({base_sql}) base{''.join(joins)}", params  # noqa: S608


# HealthScore column <- health_inputs() column.
HEALTH_INPUTS = {
    "sla_breaches": "in_sla_breaches",
    "csat": "in_csat",
    "effort": "in_effort",
    "orders_recent": "in_orders_recent",
    "orders_previous": "in_orders_previous",
    "overdue_invoices": "in_overdue_invoices",
    "overdue_commitments": "in_overdue_commitments",
    "days_since_contact": "in_days_since_contact",
    "reviews_overdue": "in_reviews_overdue",
}

# Never in touch scores as if the last contact were this long ago: as bad as it gets.
NEVER_CONTACTED_DAYS = selectors.NEVER_CONTACTED_DAYS

# The value each signal is scored on, as SQL over health_inputs()'s columns; the same
# as portal.selectors.signal_values, which explains the stored scores.
SIGNAL_SQL = {
    HealthSignal.SLA_BREACHES: "in_sla_breaches",
    HealthSignal.CSAT: "in_csat",
    HealthSignal.EFFORT: "in_effort",
    HealthSignal.ORDER_TREND: (
        "CASE WHEN in_orders_previous > 0 THEN in_orders_recent * 1.0 / in_orders_previous"
        " WHEN in_orders_recent > 0 THEN 1.0 END"
    ),
    HealthSignal.OVERDUE_INVOICES: "in_overdue_invoices",
    HealthSignal.OVERDUE_COMMITMENTS: "in_overdue_commitments",
    HealthSignal.LAST_CONTACT: f"COALESCE(in_days_since_contact, {NEVER_CONTACTED_DAYS})",
    HealthSignal.REVIEWS_OVERDUE: "in_reviews_overdue",
}


def _signal_score_sql(value: str, good_at: float, bad_at: float) -> tuple[str, list]:
    """SQL for selectors.signal_score: 1 at good, 0 at bad, linear between, NULL stays NULL."""
    raw = f"(({value}) - %s) * %s"
    slope = 1.0 / (good_at - bad_at)
    sql = (
        f"CASE WHEN ({value}) IS NULL THEN NULL WHEN {raw} <= 0 THEN 0.0"
        f" WHEN {raw} >= 1 THEN 1.0 ELSE {raw} END"
    )
    return sql, [bad_at, slope] * 3


# The starting weights, as migration 0003 seeds them: [weight, good at, bad at]. A signal
# without a row in HealthWeight counts with these.
DEFAULT_WEIGHTS = {
    HealthSignal.SLA_BREACHES: [20, 0, 5],
    HealthSignal.CSAT: [15, 5, 1],
    HealthSignal.EFFORT: [10, 5, 1],
    HealthSignal.ORDER_TREND: [15, 1, 0],
    HealthSignal.OVERDUE_INVOICES: [15, 0, 3],
    HealthSignal.OVERDUE_COMMITMENTS: [10, 0, 3],
    HealthSignal.LAST_CONTACT: [10, 30, 90],
    HealthSignal.REVIEWS_OVERDUE: [5, 0, 2],
}


def health_weights(*, lock: bool = False) -> dict[str, list]:
    """{signal: [weight, good at, bad at]} for the signals that count (weight above 0)."""
    rows = HealthWeight.objects.all()
    if lock:  # two computations at once wait for each other instead of colliding
        rows = rows.select_for_update()
    weights = {str(s): list(v) for s, v in DEFAULT_WEIGHTS.items()}
    weights.update({w.signal: [w.weight, float(w.good_at), float(w.bad_at)] for w in rows})
    return {signal: w for signal, w in weights.items() if w[0] > 0}


def _health_insert_sql(weights: dict, today: date, now: datetime) -> tuple[str, list]:
    """INSERT ... SELECT of the whole computation: inputs, signal scores, weighted score.

    Each layer selects from the one inside it, so every correlated subquery of the
    inputs runs once per organisation however often the formula uses its value.
    """
    inputs_sql, input_params = health_inputs_sql(today=today, now=now)
    scores, score_params, weighted, applied = [], [], [], []
    for signal, (weight, good_at, bad_at) in weights.items():
        sql, params = _signal_score_sql(SIGNAL_SQL[signal], good_at, bad_at)
        scores.append(f"{sql} AS s_{signal}")
        score_params += params
        weighted.append(f"{int(weight)} * COALESCE(s_{signal}, 0)")
        applied.append(f"CASE WHEN s_{signal} IS NULL THEN 0 ELSE {int(weight)} END")
    # No signal that counts applies (or none counts at all): nothing is wrong, 100.
    score = (
        f"COALESCE(ROUND(CAST(100.0 * ({' + '.join(weighted) or '0'})"
        f" / NULLIF({' + '.join(applied) or '0'}, 0) AS NUMERIC)), 100)"
    )
    colour = (
        f"CASE WHEN score >= {selectors.GREEN_FROM} THEN '{HealthColour.GREEN}'"
        f" WHEN score >= {selectors.AMBER_FROM} THEN '{HealthColour.AMBER}'"
        f" ELSE '{HealthColour.RED}' END"
    )
    quote = connection.ops.quote_name
    columns = ["organisation_id", "computed_on", "computed_at", "score", "colour"]
    columns += [*HEALTH_INPUTS, "weights"]
    postgres = connection.vendor == "postgresql"
    json_param = "CAST(%s AS jsonb)" if postgres else "%s"
    # A fence: without it the planner inlines each layer into the next, and every use of
    # a value repeats its correlated subquery (planning alone then takes minutes).
    fence = " OFFSET 0" if postgres else " LIMIT -1 OFFSET 0"
    # Names come from our models and constants; every value is a parameter.
    table = quote(HealthScore._meta.db_table)
    sql = (
        f"INSERT INTO {table} ({', '.join(map(quote, columns))})"  # noqa: S608
        f" SELECT in_organisation, %s, %s, score, {colour},"
        f" {', '.join(HEALTH_INPUTS.values())}, {json_param}"
        f" FROM (SELECT signals.*, {score} AS score"
        f" FROM (SELECT inputs.*{''.join(', ' + s for s in scores)}"
        f" FROM ({inputs_sql}{fence}) inputs{fence}) signals) scored"
    )
    params = [today, now, json.dumps(weights), *score_params, *input_params]
    return sql, params


def _without_jit() -> None:
    """No JIT for this transaction on PostgreSQL: the scoring statement's cost estimate
    is high enough to trigger it, and compiling took longer (3 s) than running it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")


@transaction.atomic
def health_compute(*, now: datetime | None = None) -> dict:
    """Score every live organisation for today, set-based: one INSERT ... SELECT.

    Today's earlier scores are replaced, so the history keeps one row per
    organisation per day however often beat runs this.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    _without_jit()
    weights = health_weights(lock=True)
    contacts = last_contact_refresh()
    HealthScore.objects.filter(computed_on=today).delete()
    sql, params = _health_insert_sql(weights, today, now)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        scored = cursor.rowcount
    return {"day": today.isoformat(), "scored": scored, "contacts": contacts}


# --- The executive-sponsor promise ---------------------------------------------------------------


@transaction.atomic
def sponsor_promise_scan(*, now: datetime | None = None) -> dict[str, int]:
    """Record lapsed sponsor promises, end the mended ones, warn once per lapse.

    A lapse is an organisation whose tier promises executive involvement and whose
    sponsor contact was due before today (portal.selectors.with_schedule). It is keyed
    by its due day, so rescanning finds the same lapse and never warns twice; a new
    touchpoint moves the due day on and ends it.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    _without_jit()
    # Only organisations whose current tier makes the promise: usually the top few.
    promised = Organisation.objects.exclude(lifecycle_stage=LifecycleStage.CHURNED).filter(
        tier_assignments__ended_at__isnull=True,
        tier_assignments__tier__executive_sponsor_promised=True,
    )
    lapsed = {
        (pk, selectors.as_date(due)): sponsor_id
        for pk, sponsor_id, due in selectors.with_schedule(promised)
        .filter(sponsor_due__lt=today)
        .values_list("pk", "sponsor_id", "sponsor_due")
    }
    with transaction.atomic():
        SponsorLapse.objects.bulk_create(
            [
                SponsorLapse(organisation_id=pk, due_on=due, sponsor_id=sponsor, detected_at=now)
                for (pk, due), sponsor in lapsed.items()
            ],
            ignore_conflicts=True,
        )
        still_open = SponsorLapse.objects.filter(ended_at__isnull=True)
        open_rows = still_open.values_list("pk", "organisation_id", "due_on")
        mended = [pk for pk, org, due in open_rows if (org, due) not in lapsed]
        ended = SponsorLapse.objects.filter(pk__in=mended).update(ended_at=now)
        # Claimed under a row lock: two scans at once never warn about the same lapse.
        to_warn = list(
            still_open.filter(warned_at__isnull=True)
            .exclude(pk__in=mended)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        SponsorLapse.objects.filter(pk__in=to_warn).update(warned_at=now)
        if to_warn:
            outbox.enqueue_on_commit(tasks.notify_sponsor_lapses, to_warn)
    return {"lapsed": len(lapsed), "warned": len(to_warn), "ended": ended}
