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

from accounts.choices import UserKind
from accounts.models import Organisation, User
from config import prepared
from portal.records.models import Invoice, RevenueTally
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
    """The admin's rates into settings.VALUE_CURRENCY (their SQL built once per process)."""
    currency = settings.VALUE_CURRENCY
    rates = prepared.objects(_other_rates, currency)
    return Conversion(currency=currency, rates={rate.currency: rate.rate for rate in rates})


def _other_rates(currency: str) -> QuerySet[ExchangeRate]:
    return ExchangeRate.objects.exclude(currency=currency).order_by()


# Whose revenue: every organisation's (tier fit ranks them all) or those a user may see.
EVERYONE, VISIBLE = "everyone", "visible"


def whole_months(period: Period) -> tuple[date, date]:
    """The first day of the period's first whole month and the day after its last one
    (the same day twice, or the end before the start, when it holds no whole month)."""
    first = period.start.replace(day=1)
    if first != period.start:
        first = months_before(first, -1)
    after = period.end.replace(day=1)
    if period.end + timedelta(days=1) == months_before(after, -1):  # the month's last day
        after = months_before(after, -1)
    return first, after


def _month_sums(scope: str, **values) -> QuerySet:
    """Sums of the stored revenue tallies of the whole months (RevenueTally)."""
    tallies = RevenueTally.objects.all()
    if scope == VISIBLE:
        tallies = tallies.visible_to(values["user"])
    return (
        tallies.filter(month__gte=values["first"], month__lt=values["after"])
        .exclude(invoices=0)  # a tally whose invoices all went
        .values("organisation_id", "product_line", "currency")
        .annotate(amount=Sum("amount"), invoices=Sum("invoices"))
        .order_by()
    )


def _day_sums(scope: str, **values) -> QuerySet:
    """Sums of the invoices issued from `since` to the day before `until`: an index range
    of (organisation, issued_on)."""
    if scope == VISIBLE:
        invoices = Invoice.objects.visible_to(values["user"])
    else:  # the same live invoices of every organisation
        invoices = Invoice.objects.filter(deleted_at__isnull=True, organisation__isnull=False)
    return (
        invoices.filter(issued_on__gte=values["since"], issued_on__lt=values["until"])
        .values("organisation_id", "product_line", "currency")
        .annotate(amount=Sum("amount"), invoices=Count("pk"))
        .order_by()
    )


def revenue_by_line_sql(user: User | None, period: Period, rates: Conversion) -> tuple[str, tuple]:
    """SQL of revenue per organisation and product line: (organisation_id, line, left_out,
    revenue, amount, invoices), of the organisations `user` may see (None: every one; tier
    fit ranks against all customers).

    `left_out` is '' for invoices counted, or the currency of those that cannot be
    converted (their `revenue` is NULL; `amount` and `invoices` say how much was left
    out). The period's whole months are read from the stored tallies (RevenueTally, a few
    rows per organisation and month), only its other days from the invoices; both are
    grouped by plain columns (organisation, line, currency), and converting and
    normalising the line names then works on those few sums.
    Raises EmptyResultSet when the invoices can match nothing (e.g. an inactive user).
    """
    first, after = whole_months(period)
    scope, who = (EVERYONE, {}) if user is None else (VISIBLE, {"user": user})
    months_sql, months_params = prepared.prepared_sql(
        _month_sums, scope, first=first, after=after, **who
    )
    # The days before the first whole month, then those after the last one (all of the
    # period's days, once, when it holds no whole month).
    before = min(first, period.end + timedelta(days=1))
    head_sql, head_params = prepared.prepared_sql(
        _day_sums, scope, since=period.start, until=before, **who
    )
    tail_sql, tail_params = prepared.prepared_sql(
        _day_sums, scope, since=max(after, before), until=period.end + timedelta(days=1), **who
    )
    known = ", ".join(["%s"] * len(rates.currencies))
    converted, converted_params = rates.sql("amount")
    sql = f"""
        SELECT organisation_id, LOWER(TRIM(product_line)) AS line,
               CASE WHEN currency IN ({known}) THEN '' ELSE currency END AS left_out,
               SUM({converted}) AS revenue, SUM(amount) AS amount, SUM(invoices) AS invoices
        FROM ({months_sql} UNION ALL {head_sql} UNION ALL {tail_sql}) AS sums
        GROUP BY 1, 2, 3
    """  # noqa: S608 - placeholders and ORM-compiled SQL; the values are parameters
    # GROUP BY the output columns by position: repeating the CASE would not be the same
    # expression to PostgreSQL with server-side binding ($1 in SELECT, $9 in GROUP BY).
    params = (*rates.currencies, *converted_params, *months_params, *head_params, *tail_params)
    return sql, params


def ranked_cte(per_line_sql: str) -> str:
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


def top_sql(percent: int | str, customers: str = "customers") -> str:
    """SQL for ceil(percent * customers / 100) in integer arithmetic (SQLite has no CEIL).

    `percent` is a whole number or the SQL of one (a column); so is `customers`.
    """
    percent = str(int(percent)) if isinstance(percent, int) else percent
    return f"(({customers}) * ({percent}) + 99) / 100"


def top_count(percent: int, customers: int) -> int:
    """How many customers the top `percent` % of `customers` are (the same rule as top_sql)."""
    return (customers * percent + 99) // 100


def as_decimal(value) -> Decimal | None:
    """Numbers as Decimal (SQLite returns floats for sums of decimals)."""
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def share(part, whole) -> Decimal:
    """`part` as a percentage of `whole`, to one decimal place."""
    part, whole = as_decimal(part), as_decimal(whole)
    if not whole:
        return Decimal(0)
    return (part * 100 / whole).quantize(Decimal("0.1"))


def table_name(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def fetch_rows(sql: str, params) -> list[dict]:
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
        return share(self.concentration_customers, self.customers)


def pareto(*, user: User, period: Period, page: int = 1, per_page: int = 50) -> Pareto:
    """The organisations `user` may see, ranked by revenue, with the 80/20 figures.

    One statement: the ranking, the headline sums, the chart's bands (each band's
    last row carries the band's sum), the requested page of rows and, below them, the
    invoices left out for want of an exchange rate.
    """
    rates = conversion()
    result = Pareto(period=period, currency=rates.currency, page=page, per_page=per_page)
    try:
        per_line_sql, params = revenue_by_line_sql(user, period, rates)
    except EmptyResultSet:
        return result
    headline_sums = ",\n".join(
        f"SUM(CASE WHEN position <= {top_sql(p)} THEN revenue ELSE 0 END) OVER () AS top_{p}"
        for p in HEADLINE_PERCENTS
    )
    sql = f"""
    WITH {ranked_cte(per_line_sql)},
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
    JOIN {table_name(Organisation)} o ON o.id = s.organisation_id
    LEFT JOIN {table_name(TierAssignment)} ta
           ON ta.organisation_id = s.organisation_id AND ta.ended_at IS NULL
    LEFT JOIN {table_name(ServiceTier)} t ON t.id = ta.tier_id
    WHERE (s.position > %s AND s.position <= %s) OR s.position = s.band_last
    UNION ALL
    SELECT 'left_out', NULL, NULL, NULL, NULL, NULL, NULL, SUM(amount), NULL, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL, {", ".join("NULL" for _ in HEADLINE_PERCENTS)},
           0, left_out, SUM(invoices)
    FROM per_line WHERE left_out <> '' GROUP BY left_out
    ORDER BY 1, 2, 20
    """  # noqa: S608 - names and numbers are ours; values are parameters
    offset = (page - 1) * per_page
    rows = fetch_rows(sql, (*params, offset, offset + per_page, offset, offset + per_page))
    result.left_out = [
        LeftOut(r["currency"], int(r["invoices"]), as_decimal(r["revenue"]))
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
    result.total = as_decimal(first["total"])
    result.concentration_customers = int(first["concentration"] or 0)
    for p in HEADLINE_PERCENTS:
        revenue = as_decimal(first[f"top_{p}"])
        result.headlines.append(
            Headline(
                percent=p,
                customers=top_count(p, result.customers),
                revenue=revenue,
                share=share(revenue, result.total),
            )
        )
    for row in rows:
        if row["position"] == row["band_last"]:
            result.bars.append(
                ParetoBar(
                    first=int(row["band_first"]),
                    last=int(row["band_last"]),
                    revenue=as_decimal(row["band_revenue"]),
                    share=share(row["band_revenue"], result.total),
                    cumulative_share=share(row["cumulative"], result.total),
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
                    revenue=as_decimal(row["revenue"]),
                    breadth=int(row["breadth"]),
                    share=share(row["revenue"], result.total),
                    cumulative_share=share(row["cumulative"], result.total),
                )
            )
