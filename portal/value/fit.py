"""Tier fit: organisations whose value rank suits another tier than the one they are on.

Ranked with the same revenue and conventions as the 80/20 view (selectors.py,
docs/relationship-value.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import EmptyResultSet
from django.utils.translation import gettext as _

from accounts import policy
from accounts.choices import LifecycleStage
from accounts.models import Organisation, User
from portal.value.selectors import (
    Period,
    as_decimal,
    conversion,
    fetch_rows,
    ranked_cte,
    revenue_by_line_sql,
    share,
    table_name,
    top_count,
    top_sql,
)
from tiers.models import ServiceTier, TierAssignment

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
        on = (
            _("on %(tier)s") % {"tier": self.current_tier}
            if self.current_tier
            else _("has no tier")
        )
        if self.revenue is None:
            if self.fit_top_percent is None:
                text = _("No revenue in the period; %(on)s, while %(tier)s suits anyone.")
            else:
                text = _("No revenue in the period; %(on)s, while %(tier)s is the lowest tier.")
            return text % {"on": on, "tier": self.fit_tier}
        standing = _("#%(rank)s of %(customers)s customers by revenue (top %(share)s %%)") % {
            "rank": self.rank,
            "customers": self.customers,
            "share": f"{share(self.rank, self.customers).normalize():f}",
        }
        if self.fit_top_percent is None:
            suits = _("%(tier)s suits the rest") % {"tier": self.fit_tier}
        else:
            suits = _("%(tier)s is for the top %(percent)s %% (the %(count)s largest)") % {
                "tier": self.fit_tier,
                "percent": self.fit_top_percent,
                "count": top_count(self.fit_top_percent, self.customers),
            }
        return _("%(standing)s; %(suits)s; %(on)s.") % {
            "standing": standing,
            "suits": suits,
            "on": on,
        }


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
        per_line_sql, params = revenue_by_line_sql(None, period, rates)
        visible_sql, visible_params = _visible_sql(user)
    except EmptyResultSet:
        return result
    tier = table_name(ServiceTier)
    sql = f"""
    WITH {ranked_cte(per_line_sql)},
    fit AS (
        SELECT o.id AS organisation_id, o.name, o.customer_number,
               ct.name AS current_tier,
               COALESCE(ct.rank, (SELECT MIN(rank) FROM {tier})) AS current_rank,
               r.revenue, r.rank, r.customers, COALESCE(r.breadth, 0) AS breadth,
               COALESCE(
                   (SELECT t.id FROM {tier} t
                     WHERE t.value_top_percent IS NULL
                        OR r.rank <= {top_sql("t.value_top_percent", "r.customers")}
                     ORDER BY t.rank DESC LIMIT 1),
                   (SELECT t.id FROM {tier} t ORDER BY t.rank LIMIT 1)
               ) AS fit_tier_id
        FROM {table_name(Organisation)} o
        LEFT JOIN ranked r ON r.organisation_id = o.id
        LEFT JOIN {table_name(TierAssignment)} ta
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
    rows = fetch_rows(
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
        revenue=as_decimal(row["revenue"]),
        rank=row["rank"],
        customers=row["customers"],
        breadth=int(row["breadth"]),
    )
