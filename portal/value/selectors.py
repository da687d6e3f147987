"""Customer value: revenue per customer, the 80/20 ranking and tier fit.

The value analysis reads synced invoices (portal.records.models.Invoice) and is set-based:
one SQL statement ranks every organisation with window functions and returns only
the rows a page shows, so a page costs the same few queries at 5 or 5,000
customers. Conventions (docs/relationship-value.md):

- revenue: live invoices (deleted ones left out) of matched organisations, issued
  in the period, net of credit notes, in settings.VALUE_CURRENCY; other currencies
  are converted at the admin's ExchangeRate, and invoices in a currency without a
  rate are left out and reported, never added as they are;
- customers: organisations with positive revenue in the period;
- the top p % of n customers: the ceil(p * n / 100) largest;
- product line: the invoice's billing product line, ignoring case and spaces;
  breadth counts the lines with positive revenue, depth is revenue per line.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, QuerySet, Sum

from accounts import policy
from accounts.choices import LifecycleStage, UserKind
from accounts.models import Organisation, User
from portal.records.models import Invoice
from tiers.models import ExchangeRate, ServiceTier, TierAssignment

# The chart has at most this many bars; with more customers each bar is a band of them.
CHART_BARS = 20
HEADLINE_PERCENTS = (20, 5)
CONCENTRATION_PERCENT = 80


# --- Customer value -----------------------------------------------------------------------


def may_see_value(user: User) -> bool:
    """Admins (every organisation) and account teams (their own); not agents or customers."""
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_portal_admin or user.kind in (UserKind.ACCOUNT_MANAGER, UserKind.EXECUTIVE)


@dataclass(frozen=True)
class Period:
    """Days from `start` to `end`, both included."""

    start: date
    end: date

    @property
    def label(self) -> str:
        return f"{self.start:%-d %b %Y} – {self.end:%-d %b %Y}"


def months_before(day: date, months: int) -> date:
    """The same day `months` months earlier (the month's last day when it has fewer)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def trailing_months(months: int, *, today: date) -> Period:
    """The last `months` months up to and including today."""
    return Period(start=months_before(today, months) + timedelta(days=1), end=today)


@dataclass(frozen=True)
class Conversion:
    """The reporting currency and the rates of the other currencies into it."""

    currency: str
    rates: dict[str, Decimal]

    @property
    def currencies(self) -> list[str]:
        return [self.currency, *self.rates]

    def sql(self, amount: str) -> tuple[str, list]:
        """SQL of `amount` (a column next to `currency`) in the reporting currency, NULL
        where there is no rate, and its parameters."""
        whens, params = ["WHEN %s THEN {0}"], [self.currency]
        for code, rate in self.rates.items():
            whens.append("WHEN %s THEN {0} * %s")
            params += [code, rate]
        return "CASE currency " + " ".join(whens).format(amount) + " END", params


def conversion() -> Conversion:
    currency = settings.VALUE_CURRENCY
    rates = ExchangeRate.objects.exclude(currency=currency).values_list("currency", "rate")
    return Conversion(currency=currency, rates=dict(rates))


def _live_invoices() -> QuerySet[Invoice]:
    """Every organisation's live invoices: tier fit ranks against all customers."""
    return Invoice.objects.filter(deleted_at__isnull=True, organisation__isnull=False)


def _in_period(invoices: QuerySet[Invoice], period: Period) -> QuerySet[Invoice]:
    return invoices.filter(issued_on__gte=period.start, issued_on__lte=period.end)


def _revenue_by_line_sql(
    invoices: QuerySet[Invoice], period: Period, rates: Conversion
) -> tuple[str, tuple]:
    """SQL of revenue per organisation and product line: (organisation_id, line, left_out,
    revenue, amount, invoices).

    `left_out` is '' for invoices counted, or the currency of those that cannot be
    converted (their `revenue` is NULL; `amount` and `invoices` say how much was left
    out): one scan of the invoices serves both. The scan groups by plain columns
    (organisation, line, currency), which PostgreSQL hashes cheaply; converting and
    normalising the line names then works on those few sums, not on every invoice.
    Raises EmptyResultSet when the invoices can match nothing (e.g. an inactive user).
    """
    sums = (
        _in_period(invoices, period)
        .values("organisation_id", "product_line", "currency")
        .annotate(amount=Sum("amount"), invoices=Count("pk"))
        .order_by()
    )
    sums_sql, sums_params = sums.query.sql_with_params()
    known = ", ".join(["%s"] * len(rates.currencies))
    converted, converted_params = rates.sql("amount")
    sql = f"""
        SELECT organisation_id, LOWER(TRIM(product_line)) AS line,
               CASE WHEN currency IN ({known}) THEN '' ELSE currency END AS left_out,
               SUM({converted}) AS revenue, SUM(amount) AS amount, SUM(invoices) AS invoices
        FROM ({sums_sql}) AS sums
        GROUP BY organisation_id, LOWER(TRIM(product_line)),
                 CASE WHEN currency IN ({known}) THEN '' ELSE currency END
    """  # noqa: S608 - placeholders and ORM-compiled SQL; the values are parameters
    params = (*rates.currencies, *converted_params, *sums_params, *rates.currencies)
    return sql, params


def _ranked_cte(per_line_sql: str) -> str:
    """CTEs ending in `ranked`: customers by revenue with rank, position and running sum.

    `rank` ties equal revenue (RANK); `position` orders ties by organisation id so the
    running sum and the bands are well defined.
    """
    return f"""
    per_line AS ({per_line_sql}),
    revenue AS (
        SELECT organisation_id, SUM(revenue) AS revenue,
               SUM(CASE WHEN line <> '' AND revenue > 0 THEN 1 ELSE 0 END) AS breadth
        FROM per_line
        WHERE left_out = ''
        GROUP BY organisation_id
        HAVING SUM(revenue) > 0
    ),
    ranked AS (
        SELECT organisation_id, revenue, breadth,
               RANK() OVER (ORDER BY revenue DESC) AS rank,
               ROW_NUMBER() OVER (ORDER BY revenue DESC, organisation_id) AS position,
               SUM(revenue) OVER (
                   ORDER BY revenue DESC, organisation_id ROWS UNBOUNDED PRECEDING
               ) AS cumulative,
               SUM(revenue) OVER () AS total,
               COUNT(*) OVER () AS customers
        FROM revenue
    )"""  # noqa: S608 - per_line_sql is compiled by Django's ORM, with its values as parameters


def _top(percent: int | str, customers: str = "customers") -> str:
    """SQL for ceil(percent * customers / 100) in integer arithmetic (SQLite has no CEIL).

    `percent` is a whole number or the SQL of one (a column); so is `customers`.
    """
    percent = str(int(percent)) if isinstance(percent, int) else percent
    return f"(({customers}) * ({percent}) + 99) / 100"


def top_count(percent: int, customers: int) -> int:
    """How many customers the top `percent` % of `customers` are (the same rule as _top)."""
    return (customers * percent + 99) // 100


def _decimal(value) -> Decimal | None:
    """Numbers as Decimal (SQLite returns floats for sums of decimals)."""
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _share(part, whole) -> Decimal:
    """`part` as a percentage of `whole`, to one decimal place."""
    part, whole = _decimal(part), _decimal(whole)
    if not whole:
        return Decimal(0)
    return (part * 100 / whole).quantize(Decimal("0.1"))


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _fetch(sql: str, params) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@dataclass(frozen=True)
class LeftOut:
    """Invoices in the period that could not be converted: no rate for their currency."""

    currency: str
    invoices: int
    amount: Decimal


@dataclass(frozen=True)
class ValueRow:
    """One customer on the Pareto list."""

    position: int
    rank: int
    organisation_id: int
    name: str
    customer_number: str
    tier: str | None
    revenue: Decimal
    breadth: int
    share: Decimal
    cumulative_share: Decimal

    @property
    def depth(self) -> Decimal | None:
        """Revenue per product line bought."""
        return (self.revenue / self.breadth).quantize(Decimal("0.01")) if self.breadth else None


@dataclass(frozen=True)
class ParetoBar:
    """A band of customers (largest first) and its share of revenue."""

    first: int
    last: int
    revenue: Decimal
    share: Decimal
    cumulative_share: Decimal


@dataclass(frozen=True)
class Headline:
    percent: int
    customers: int
    revenue: Decimal
    share: Decimal


@dataclass
class Pareto:
    period: Period
    currency: str
    customers: int = 0
    total: Decimal = Decimal(0)
    headlines: list[Headline] = field(default_factory=list)
    # How many of the largest customers it takes to reach CONCENTRATION_PERCENT of revenue.
    concentration_customers: int = 0
    rows: list[ValueRow] = field(default_factory=list)
    bars: list[ParetoBar] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)
    page: int = 1
    per_page: int = 50

    @property
    def concentration_share_of_customers(self) -> Decimal:
        return _share(self.concentration_customers, self.customers)


def pareto(*, user: User, period: Period, page: int = 1, per_page: int = 50) -> Pareto:
    """The organisations `user` may see, ranked by revenue, with the 80/20 figures.

    One statement: the ranking, the headline sums, the chart's bands (each band's
    last row carries the band's sum), the requested page of rows and, below them, the
    invoices left out for want of an exchange rate.
    """
    rates = conversion()
    invoices = Invoice.objects.visible_to(user)
    result = Pareto(period=period, currency=rates.currency, page=page, per_page=per_page)
    try:
        per_line_sql, params = _revenue_by_line_sql(invoices, period, rates)
    except EmptyResultSet:
        return result
    headline_sums = ",\n".join(
        f"SUM(CASE WHEN position <= {_top(p)} THEN revenue ELSE 0 END) OVER () AS top_{p}"
        for p in HEADLINE_PERCENTS
    )
    sql = f"""
    WITH {_ranked_cte(per_line_sql)},
    banded AS (
        SELECT ranked.*,
               ((position - 1) * (CASE WHEN customers < {CHART_BARS} THEN customers
                                  ELSE {CHART_BARS} END)) / customers AS band
        FROM ranked
    ),
    summed AS (
        SELECT banded.*,
               SUM(revenue) OVER (PARTITION BY band) AS band_revenue,
               MIN(position) OVER (PARTITION BY band) AS band_first,
               MAX(position) OVER (PARTITION BY band) AS band_last,
               MIN(CASE WHEN cumulative >= total * {CONCENTRATION_PERCENT} / 100
                        THEN position END) OVER () AS concentration,
               {headline_sums}
        FROM banded
    )
    SELECT 'row' AS kind, s.position, s.rank, s.organisation_id, o.name, o.customer_number,
           t.name AS tier_name, s.revenue, s.breadth, s.cumulative, s.total, s.customers,
           s.band_first, s.band_last, s.band_revenue, s.concentration,
           {", ".join(f"s.top_{p}" for p in HEADLINE_PERCENTS)},
           CASE WHEN s.position > %s AND s.position <= %s THEN 1 ELSE 0 END AS on_page,
           NULL AS currency, NULL AS invoices
    FROM summed s
    JOIN {_table(Organisation)} o ON o.id = s.organisation_id
    LEFT JOIN {_table(TierAssignment)} ta
           ON ta.organisation_id = s.organisation_id AND ta.ended_at IS NULL
    LEFT JOIN {_table(ServiceTier)} t ON t.id = ta.tier_id
    WHERE (s.position > %s AND s.position <= %s) OR s.position = s.band_last
    UNION ALL
    SELECT 'left_out', NULL, NULL, NULL, NULL, NULL, NULL, SUM(amount), NULL, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL, {", ".join("NULL" for _ in HEADLINE_PERCENTS)},
           0, left_out, SUM(invoices)
    FROM per_line WHERE left_out <> '' GROUP BY left_out
    ORDER BY 1, 2, 20
    """  # noqa: S608 - names and numbers are ours; values are parameters
    offset = (page - 1) * per_page
    rows = _fetch(sql, (*params, offset, offset + per_page, offset, offset + per_page))
    result.left_out = [
        LeftOut(r["currency"], int(r["invoices"]), _decimal(r["revenue"]))
        for r in rows
        if r["kind"] == "left_out"
    ]
    ranked = [r for r in rows if r["kind"] == "row"]
    if ranked:
        _fill_pareto(result, ranked)
    return result


def _fill_pareto(result: Pareto, rows: list[dict]) -> None:
    first = rows[0]
    result.customers = int(first["customers"])
    result.total = _decimal(first["total"])
    result.concentration_customers = int(first["concentration"] or 0)
    for p in HEADLINE_PERCENTS:
        revenue = _decimal(first[f"top_{p}"])
        result.headlines.append(
            Headline(
                percent=p,
                customers=top_count(p, result.customers),
                revenue=revenue,
                share=_share(revenue, result.total),
            )
        )
    for row in rows:
        if row["position"] == row["band_last"]:
            result.bars.append(
                ParetoBar(
                    first=int(row["band_first"]),
                    last=int(row["band_last"]),
                    revenue=_decimal(row["band_revenue"]),
                    share=_share(row["band_revenue"], result.total),
                    cumulative_share=_share(row["cumulative"], result.total),
                )
            )
        if row["on_page"]:
            result.rows.append(
                ValueRow(
                    position=int(row["position"]),
                    rank=int(row["rank"]),
                    organisation_id=row["organisation_id"],
                    name=row["name"],
                    customer_number=row["customer_number"],
                    tier=row["tier_name"],
                    revenue=_decimal(row["revenue"]),
                    breadth=int(row["breadth"]),
                    share=_share(row["revenue"], result.total),
                    cumulative_share=_share(row["cumulative"], result.total),
                )
            )


# --- Tier fit -----------------------------------------------------------------------------

UPGRADE, DOWNGRADE = "up", "down"


@dataclass(frozen=True)
class FitRow:
    """An organisation whose value rank suits another tier than the one it is on."""

    organisation_id: int
    name: str
    customer_number: str
    direction: str
    current_tier: str | None
    fit_tier: str
    fit_top_percent: int | None
    revenue: Decimal | None
    rank: int | None
    customers: int | None
    breadth: int

    @property
    def reason(self) -> str:
        on = f"on {self.current_tier}" if self.current_tier else "has no tier"
        if self.revenue is None:
            fits = "suits anyone" if self.fit_top_percent is None else "is the lowest tier"
            return f"No revenue in the period; {on}, while {self.fit_tier} {fits}."
        standing = (
            f"#{self.rank} of {self.customers} customers by revenue "
            f"(top {_share(self.rank, self.customers).normalize():f} %)"
        )
        if self.fit_top_percent is None:
            suits = f"{self.fit_tier} suits the rest"
        else:
            n = top_count(self.fit_top_percent, self.customers)
            suits = f"{self.fit_tier} is for the top {self.fit_top_percent} % (the {n} largest)"
        return f"{standing}; {suits}; {on}."


@dataclass
class TierFit:
    period: Period
    currency: str
    configured: bool
    tiers: list[ServiceTier]
    upgrades: int = 0
    downgrades: int = 0
    rows: list[FitRow] = field(default_factory=list)
    page: int = 1
    per_page: int = 50

    @property
    def matching(self) -> int:
        return self.upgrades + self.downgrades


def tier_fit(
    *, user: User, period: Period, direction: str = "", page: int = 1, per_page: int = 50
) -> TierFit:
    """Upgrade and downgrade candidates among the organisations `user` may see.

    Ranks are company-wide (a small book does not make its largest account a top
    customer); only the organisations `user` may see are listed. Churned
    organisations are left out; one without a tier counts as on the entry tier.
    """
    rates = conversion()
    tiers = list(ServiceTier.objects.order_by("rank"))
    result = TierFit(
        period=period,
        currency=rates.currency,
        configured=any(t.value_top_percent is not None for t in tiers),
        tiers=tiers,
        page=page,
        per_page=per_page,
    )
    if not result.configured:
        return result
    try:
        per_line_sql, params = _revenue_by_line_sql(_live_invoices(), period, rates)
        visible_sql, visible_params = _visible_sql(user)
    except EmptyResultSet:
        return result
    tier = _table(ServiceTier)
    sql = f"""
    WITH {_ranked_cte(per_line_sql)},
    fit AS (
        SELECT o.id AS organisation_id, o.name, o.customer_number,
               ct.name AS current_tier,
               COALESCE(ct.rank, (SELECT MIN(rank) FROM {tier})) AS current_rank,
               r.revenue, r.rank, r.customers, COALESCE(r.breadth, 0) AS breadth,
               COALESCE(
                   (SELECT t.id FROM {tier} t
                     WHERE t.value_top_percent IS NULL
                        OR r.rank <= {_top("t.value_top_percent", "r.customers")}
                     ORDER BY t.rank DESC LIMIT 1),
                   (SELECT t.id FROM {tier} t ORDER BY t.rank LIMIT 1)
               ) AS fit_tier_id
        FROM {_table(Organisation)} o
        LEFT JOIN ranked r ON r.organisation_id = o.id
        LEFT JOIN {_table(TierAssignment)} ta
               ON ta.organisation_id = o.id AND ta.ended_at IS NULL
        LEFT JOIN {tier} ct ON ct.id = ta.tier_id
        WHERE o.lifecycle_stage <> %s {visible_sql}
    ),
    candidates AS (
        SELECT fit.*, ft.name AS fit_tier, ft.value_top_percent AS fit_top_percent,
               CASE WHEN ft.rank > fit.current_rank THEN '{UPGRADE}' ELSE '{DOWNGRADE}' END
                   AS direction
        FROM fit JOIN {tier} ft ON ft.id = fit.fit_tier_id
        WHERE ft.rank <> fit.current_rank
    ),
    listed AS (
        SELECT * FROM candidates WHERE %s = '' OR direction = %s
        ORDER BY CASE WHEN direction = '{UPGRADE}' THEN 0 ELSE 1 END,
                 COALESCE(revenue, 0) DESC, name, organisation_id
        LIMIT %s OFFSET %s
    ),
    counts AS (
        SELECT SUM(CASE WHEN direction = '{UPGRADE}' THEN 1 ELSE 0 END) AS upgrades,
               SUM(CASE WHEN direction = '{DOWNGRADE}' THEN 1 ELSE 0 END) AS downgrades
        FROM candidates
    )
    SELECT counts.upgrades, counts.downgrades, listed.*
    FROM counts LEFT JOIN listed ON 1 = 1
    ORDER BY CASE WHEN listed.direction = '{UPGRADE}' THEN 0 ELSE 1 END,
             COALESCE(listed.revenue, 0) DESC, listed.name, listed.organisation_id
    """  # noqa: S608 - names and numbers are ours; values are parameters
    offset = (page - 1) * per_page
    rows = _fetch(
        sql,
        (
            *params,
            LifecycleStage.CHURNED.value,
            *visible_params,
            direction,
            direction,
            per_page,
            offset,
        ),
    )
    result.upgrades = int(rows[0]["upgrades"] or 0)
    result.downgrades = int(rows[0]["downgrades"] or 0)
    result.rows = [_fit_row(row) for row in rows if row["organisation_id"] is not None]
    return result


def _visible_sql(user: User) -> tuple[str, tuple]:
    """An `AND o.id IN (...)` clause for the organisations `user` may see ('' for all)."""
    ids = policy.visible_organisation_ids(user)
    if ids is None:
        return "", ()
    return f"AND o.id IN ({ids.sql})", tuple(ids.params)


def _fit_row(row: dict) -> FitRow:
    return FitRow(
        organisation_id=row["organisation_id"],
        name=row["name"],
        customer_number=row["customer_number"],
        direction=row["direction"],
        current_tier=row["current_tier"],
        fit_tier=row["fit_tier"],
        fit_top_percent=row["fit_top_percent"],
        revenue=_decimal(row["revenue"]),
        rank=row["rank"],
        customers=row["customers"],
        breadth=int(row["breadth"]),
    )
