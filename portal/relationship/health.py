"""The health score: its inputs, how each signal scores, the nightly compute, and how it reads."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

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
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.template.defaultfilters import floatformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.choices import LifecycleStage
from accounts.models import Organisation
from config import prepared
from portal.records.models import (
    UNPAID,
    Invoice,
    Order,
)
from portal.relationship import selectors
from portal.relationship.choices import (
    CommitmentStatus,
    HealthColour,
    HealthSignal,
)
from portal.relationship.models import (
    Commitment,
    HealthScore,
    HealthWeight,
    LastContact,
)
from portal.relationship.services import last_contact_refresh
from tickets.models import Rating, Ticket

GREEN_FROM = 70  # scores from here up are green
NEVER_CONTACTED_DAYS = 100_000  # "no contact on record" scores as the worst contact
AMBER_FROM = 40  # from here up amber, below red


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
        return ngettext("%(n)s SLA breach in 90 days", "%(n)s SLA breaches in 90 days", n) % {
            "n": n
        }
    if signal == HealthSignal.OVERDUE_INVOICES:
        return ngettext("%(n)s overdue invoice", "%(n)s overdue invoices", n) % {"n": n}
    if signal == HealthSignal.OVERDUE_COMMITMENTS:
        return ngettext("%(n)s overdue commitment", "%(n)s overdue commitments", n) % {"n": n}
    if signal == HealthSignal.REVIEWS_OVERDUE:
        return ngettext("%(n)s review overdue", "%(n)s reviews overdue", n) % {"n": n}
    if signal == HealthSignal.CSAT:
        return _("CSAT %(score)s of 5") % {"score": floatformat(row.csat, 1)}
    if signal == HealthSignal.EFFORT:
        return _("effort %(score)s of 5 (5 is easy)") % {"score": floatformat(row.effort, 1)}
    if signal == HealthSignal.LAST_CONTACT:
        days = row.days_since_contact
        if days is None:
            return _("no contact on record")
        return ngettext("last contact %(n)s day ago", "last contact %(n)s days ago", days) % {
            "n": days
        }
    # The order trend.
    if not row.orders_previous:
        return _("%(n)s orders in 90 days, none in the 90 before") % {"n": row.orders_recent}
    change = round(100 * (row.orders_recent - row.orders_previous) / row.orders_previous)
    if change == 0:
        return _("orders steady on the 90 days before")
    if change < 0:
        return _("orders down %(n)s %% on the 90 days before") % {"n": abs(change)}
    return _("orders up %(n)s %% on the 90 days before") % {"n": change}


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
                "words": _reason(signal, row) if score is not None else _("does not apply"),
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
    return ", ".join(costly) if costly else _("all signals healthy")


def health_history(*, organisation: Organisation, days: int = 90) -> list[HealthScore]:
    """The organisation's daily scores over the last `days`, oldest first (its SQL built
    once per process: config/prepared.py)."""
    since = timezone.localdate() - timedelta(days=days)
    return prepared.objects(_history, organisation=organisation.pk, since=since)


def _history(*, organisation: int, since: date) -> QuerySet[HealthScore]:
    return HealthScore.objects.filter(organisation=organisation, computed_on__gte=since).order_by(
        "computed_on"
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


HEALTH_WINDOW_DAYS = 90


def _per_organisation(queryset, function: str = "COUNT", field: str = "pk", output=None):
    """COUNT or AVG over a correlated subquery's rows, without a GROUP BY."""
    output = output or IntegerField()
    value = Func(F(field), function=function, output_field=output)
    return Subquery(queryset.order_by().annotate(v=value).values("v"), output_field=output)


def _organisation_inputs(today: date, organisation_ids=None):
    """Per organisation, the cheap inputs: one index lookup each (schedule, contact,
    overdue commitments)."""
    of_org = {"organisation": OuterRef("pk")}
    contact = Subquery(LastContact.objects.filter(**of_org).values("at")[:1])
    one_if_overdue = {
        field: Case(When(**{f"{field}__lt": today}, then=1), default=0)
        for field in ("review_due", "check_due")
    }
    organisations = Organisation.objects.exclude(lifecycle_stage=LifecycleStage.CHURNED)
    if organisation_ids is not None:
        organisations = organisations.filter(pk__in=organisation_ids)
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


def _record_inputs(today: date, now: datetime, organisation_ids=None) -> dict:
    """The inputs from the big tables, each grouped by organisation in one pass.

    Grouped, not correlated per organisation: a customer with 200,000 orders costs a
    share of one scan rather than a walk of its own, whatever the planner guesses.
    """
    since = now - timedelta(days=HEALTH_WINDOW_DAYS)
    before = since - timedelta(days=HEALTH_WINDOW_DAYS)
    average = DecimalField(max_digits=6, decimal_places=2)
    only = {} if organisation_ids is None else {"organisation_id__in": organisation_ids}
    of_ticket = (
        {} if organisation_ids is None else {"ticket__organisation_id__in": organisation_ids}
    )
    return {
        "tickets": _grouped(
            Ticket.objects.filter(created_at__gte=since, sla_breached_at__isnull=False, **only),
            "organisation_id",
            breaches=Count("pk"),
        ),
        "ratings": _grouped(
            Rating.objects.filter(created_at__gte=since, **of_ticket),
            "ticket__organisation_id",
            csat=Avg("csat", output_field=average),
            effort=Avg("effort", output_field=average),
        ),
        "orders": _grouped(
            Order.objects.filter(deleted_at__isnull=True, ordered_at__gte=before, **only),
            "organisation_id",
            recent=Count("pk", filter=Q(ordered_at__gte=since)),
            previous=Count("pk", filter=Q(ordered_at__lt=since)),
        ),
        "invoices": _grouped(
            Invoice.objects.filter(UNPAID, deleted_at__isnull=True, due_on__lt=today, **only),
            "organisation_id",
            overdue=Count("pk"),
        ),
    }


def health_inputs_sql(*, today: date, now: datetime, organisation_ids=None) -> tuple[str, list]:
    """One SELECT: every live organisation (or those of `organisation_ids`) with the raw
    value of each signal."""
    base_sql, params = _organisation_inputs(today, organisation_ids).query.sql_with_params()
    params = list(params)
    joins = []
    for alias, queryset in _record_inputs(today, now, organisation_ids).items():
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

# The value each signal is scored on, as SQL over health_inputs()'s columns; the same
# as signal_values above, which explains the stored scores.
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
    """SQL for signal_score: 1 at good, 0 at bad, linear between, NULL stays NULL."""
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


def _health_insert_sql(
    weights: dict, today: date, now: datetime, organisation_ids=None
) -> tuple[str, list]:
    """INSERT ... SELECT of the whole computation: inputs, signal scores, weighted score.

    Each layer selects from the one inside it, so every correlated subquery of the
    inputs runs once per organisation however often the formula uses its value.
    """
    inputs_sql, input_params = health_inputs_sql(
        today=today, now=now, organisation_ids=organisation_ids
    )
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
        f"CASE WHEN score >= {GREEN_FROM} THEN '{HealthColour.GREEN}'"
        f" WHEN score >= {AMBER_FROM} THEN '{HealthColour.AMBER}'"
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


@transaction.atomic
def health_compute(*, now: datetime | None = None, organisation_ids=None) -> dict:
    """Score every live organisation for today (or only those of `organisation_ids`, when
    their engagements, commitments or tickets changed), set-based: one INSERT ... SELECT.

    Today's earlier scores are replaced, so the history keeps one row per
    organisation per day however often beat or a change runs this.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    weights = health_weights(lock=True)
    contacts = last_contact_refresh(organisation_ids=organisation_ids)
    todays = HealthScore.objects.filter(computed_on=today)
    if organisation_ids is not None:
        todays = todays.filter(organisation_id__in=organisation_ids)
    todays.delete()
    sql, params = _health_insert_sql(weights, today, now, organisation_ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        scored = cursor.rowcount
    return {"day": today.isoformat(), "scored": scored, "contacts": contacts}
