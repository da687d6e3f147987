"""Customer value: the 80/20 figures, ranks and tier fit against hand-computed numbers.

The estate (period: the year 2025, reporting currency GBP, 1 EUR = 0.75 GBP):

    P1  600 Antibiotics + 400 Vaccines          1000   breadth 2, depth 500
    P2  500 Antibiotics + 100 " antibiotics"     600   one line (case and spaces ignored)
        + a deleted invoice of 10,000            (left out)
    P3  EUR 400 Cardiology = 300 GBP             300   + USD 999 (no rate: left out)
    P4  300, no product line                     300   tied with P3; breadth 0
    P5  100 + 5,000 issued 31 Dec 2024           100   (outside the period)
    P6  no invoices
    P7  a credit note of -50 only                no revenue

Total 2,300 from 5 customers. Ranks 1, 2, 3, 3, 5. Cumulative shares 43.5, 69.6,
82.6, 95.7, 100.0 %. Top 20 % (1 customer) and top 5 % (1): 1000/2300 = 43.5 %.
80 % of revenue takes 3 customers (60 % of them).
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.choices import LifecycleStage, TeamRole, UserKind
from accounts.tests.factories import AssignmentFactory, OrganisationFactory, StaffFactory
from portal.records.models import Invoice
from portal.tests.records import source
from portal.value.fit import tier_fit
from portal.value.selectors import (
    LeftOut,
    Period,
    conversion,
    months_before,
    pareto,
    revenue_by_line_sql,
    trailing_months,
)
from tiers.models import ExchangeRate, ServiceTier, TierAssignment

YEAR_2025 = Period(start=date(2025, 1, 1), end=date(2025, 12, 31))
D = Decimal


def invoice(org, amount, *, currency="GBP", line="", issued=date(2025, 6, 1), deleted=False):
    now = timezone.now()
    number = Invoice.objects.count() + 1
    return Invoice.objects.create(
        source=source("Billing", "invoices"), external_id=f"V{number}", organisation=org,
        content_hash="x", synced_at=now, customer_id="C", number=f"INV-V{number}",
        amount=D(amount), currency=currency, issued_on=issued, product_line=line,
        deleted_at=now if deleted else None,
    )  # fmt: skip


@pytest.fixture
def estate(world):
    orgs = {f"P{n}": OrganisationFactory(name=f"Value P{n}") for n in range(1, 8)}
    invoice(orgs["P1"], 600, line="Antibiotics")
    invoice(orgs["P1"], 400, line="Vaccines")
    invoice(orgs["P2"], 500, line="Antibiotics")
    invoice(orgs["P2"], 100, line=" antibiotics ")
    invoice(orgs["P2"], 10000, line="Antibiotics", deleted=True)
    invoice(orgs["P3"], 400, currency="EUR", line="Cardiology")
    invoice(orgs["P3"], 999, currency="USD", line="Cardiology")
    invoice(orgs["P4"], 300)
    invoice(orgs["P5"], 100, line="Vaccines")
    invoice(orgs["P5"], 5000, line="Vaccines", issued=date(2024, 12, 31))
    invoice(orgs["P7"], -50, line="Vaccines")
    ExchangeRate.objects.create(currency="EUR", rate=D("0.75"))
    world.orgs = orgs
    return world


def test_pareto_ranks_shares_and_headline_match_hand_computation(estate):
    result = pareto(user=estate.admin, period=YEAR_2025)
    names = [row.name.removeprefix("Value ") for row in result.rows]
    assert names[:2] == ["P1", "P2"]
    assert set(names[2:4]) == {"P3", "P4"}
    assert names[4] == "P5"
    assert [row.rank for row in result.rows] == [1, 2, 3, 3, 5]
    assert [row.revenue for row in result.rows] == [D(1000), D(600), D(300), D(300), D(100)]
    assert [row.cumulative_share for row in result.rows] == [
        D("43.5"),
        D("69.6"),
        D("82.6"),
        D("95.7"),
        D("100.0"),
    ]
    assert result.customers == 5
    assert result.total == D(2300)
    assert [(h.percent, h.customers, h.share) for h in result.headlines] == [
        (20, 1, D("43.5")),
        (5, 1, D("43.5")),
    ]
    assert result.concentration_customers == 3
    assert result.concentration_share_of_customers == D("60.0")


def test_breadth_counts_product_lines_and_depth_is_revenue_per_line(estate):
    rows = {row.name: row for row in pareto(user=estate.admin, period=YEAR_2025).rows}
    assert (rows["Value P1"].breadth, rows["Value P1"].depth) == (2, D("500.00"))
    assert (rows["Value P2"].breadth, rows["Value P2"].depth) == (1, D("600.00"))
    assert (rows["Value P4"].breadth, rows["Value P4"].depth) == (0, None)


def test_other_currencies_convert_at_the_rate_or_are_reported_left_out(estate):
    result = pareto(user=estate.admin, period=YEAR_2025)
    p3 = next(row for row in result.rows if row.name == "Value P3")
    assert p3.revenue == D(300)  # EUR 400 at 0.75; the USD invoice is not added as it is
    assert result.left_out == [LeftOut(currency="USD", invoices=1, amount=D(999))]
    ExchangeRate.objects.create(currency="USD", rate=D("0.80"))
    result = pareto(user=estate.admin, period=YEAR_2025)
    assert result.left_out == []
    assert result.total == D("3099.20")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's binding")
def test_revenue_per_line_gives_the_same_rows_with_server_side_binding(estate):
    # With DB_PREPARED_STATEMENTS each value is a parameter of its own ($1, $9): an
    # expression holding one, repeated in GROUP BY, is no longer the SELECT's expression.
    import psycopg

    sql, params = revenue_by_line_sql(None, YEAR_2025, conversion())
    with connection.cursor() as cursor:  # client-side binding: the values written in
        cursor.execute(sql, params)
        expected = sorted(cursor.fetchall())
    with psycopg.Cursor(connection.connection) as cursor:  # server-side binding
        cursor.execute(sql, params)
        assert sorted(cursor.fetchall()) == expected
    assert ("", D(300)) in {(left_out, revenue) for _, _, left_out, revenue, _, _ in expected}


def test_no_invoices_in_the_period_means_no_customers(estate):
    result = pareto(user=estate.admin, period=Period(date(2020, 1, 1), date(2020, 12, 31)))
    assert (result.customers, result.rows, result.bars, result.headlines) == (0, [], [], [])


def test_an_account_manager_sees_the_80_20_of_their_own_accounts_only(estate):
    am = StaffFactory(full_name="Petra Portfolio")
    for name in ("P1", "P2"):
        AssignmentFactory(organisation=estate.orgs[name], user=am, role=TeamRole.PRIMARY_AM)
    result = pareto(user=am, period=YEAR_2025)
    assert [row.name for row in result.rows] == ["Value P1", "Value P2"]
    assert result.total == D(1600)
    assert [row.share for row in result.rows] == [D("62.5"), D("37.5")]
    assert result.left_out == []  # P3's USD invoice is not hers to know about


def test_bands_and_headlines_with_more_customers_than_bars(world):
    """21 customers paying 1..21: top 20 % = 5 largest (95 of 231 = 41.1 %), top 5 % = 2
    (41 = 17.7 %); 20 bars, the first holding the two largest."""
    for n in range(1, 22):
        invoice(OrganisationFactory(name=f"Band {n:02}"), n)
    result = pareto(user=world.admin, period=YEAR_2025, per_page=10)
    assert result.customers == 21
    assert [(h.customers, h.share) for h in result.headlines] == [(5, D("41.1")), (2, D("17.7"))]
    assert len(result.bars) == 20
    assert (result.bars[0].first, result.bars[0].last, result.bars[0].revenue) == (1, 2, D(41))
    assert result.bars[-1].cumulative_share == D("100.0")
    assert len(result.rows) == 10
    page_3 = pareto(user=world.admin, period=YEAR_2025, page=3, per_page=10)
    assert [row.name for row in page_3.rows] == ["Band 01"]


def test_trailing_months_end_today_and_handle_short_months():
    assert months_before(date(2025, 3, 31), 1) == date(2025, 2, 28)
    assert trailing_months(12, today=date(2026, 2, 10)) == Period(
        date(2025, 2, 11), date(2026, 2, 10)
    )


# --- Tier fit -----------------------------------------------------------------------------


@pytest.fixture
def tiered(estate):
    """Standard (anyone, the world's tier), Gold (top 40 % = 2 largest), Platinum (top 20 %
    = the largest)."""
    gold = ServiceTier.objects.create(name="Gold", rank=2, annual_fee=0, value_top_percent=40)
    platinum = ServiceTier.objects.create(
        name="Platinum", rank=3, annual_fee=0, value_top_percent=20
    )
    on = {"P1": gold, "P2": gold, "P3": platinum, "P5": estate.tier, "P6": gold}
    for name, tier in on.items():
        TierAssignment.objects.create(
            organisation=estate.orgs[name], tier=tier, started_at=timezone.now()
        )
    churned = OrganisationFactory(name="Gone Ltd", lifecycle_stage=LifecycleStage.CHURNED)
    TierAssignment.objects.create(organisation=churned, tier=platinum, started_at=timezone.now())
    estate.gold, estate.platinum = gold, platinum
    return estate


def _candidates(result):
    return [(r.name.removeprefix("Value "), r.direction, r.fit_tier) for r in result.rows]


def test_tier_fit_lists_upgrades_then_downgrades_with_reasons(tiered):
    result = tier_fit(user=tiered.admin, period=YEAR_2025)
    assert _candidates(result) == [
        ("P1", "up", "Platinum"),
        ("P3", "down", "Standard"),
        ("P6", "down", "Standard"),
    ]
    assert (result.upgrades, result.downgrades) == (1, 2)
    p1, p3, p6 = result.rows
    assert p1.reason == (
        "#1 of 5 customers by revenue (top 20 %); Platinum is for the top 20 % "
        "(the 1 largest); on Gold."
    )
    assert p3.reason == (
        "#3 of 5 customers by revenue (top 60 %); Standard suits the rest; on Platinum."
    )
    assert p6.reason == "No revenue in the period; on Gold, while Standard suits anyone."


def test_tied_customers_both_fit_the_tier_the_tie_reaches(tiered):
    ServiceTier.objects.filter(pk=tiered.gold.pk).update(value_top_percent=60)  # the 3 largest
    result = tier_fit(user=tiered.admin, period=YEAR_2025)
    assert ("P3", "down", "Gold") in _candidates(result)
    assert ("P4", "up", "Gold") in _candidates(result)  # no tier counts as the entry tier


def test_tier_fit_filters_by_direction(tiered):
    result = tier_fit(user=tiered.admin, period=YEAR_2025, direction="down")
    assert [r.direction for r in result.rows] == ["down", "down"]
    assert (result.upgrades, result.downgrades) == (1, 2)


def test_an_account_manager_gets_company_ranks_for_their_accounts_only(tiered):
    am = StaffFactory(full_name="Petra Portfolio")
    for name in ("P3", "P5"):
        AssignmentFactory(organisation=tiered.orgs[name], user=am, role=TeamRole.PRIMARY_AM)
    result = tier_fit(user=am, period=YEAR_2025)
    assert _candidates(result) == [("P3", "down", "Standard")]
    assert (result.rows[0].rank, result.rows[0].customers) == (3, 5)


def test_tier_fit_needs_tiers_that_say_whom_they_suit(estate):
    result = tier_fit(user=estate.admin, period=YEAR_2025)
    assert (result.configured, result.rows) == (False, [])


# --- The pages ----------------------------------------------------------------------------


def test_value_page_shows_figures_chart_and_ranking(client, estate):
    client.force_login(estate.admin)
    response = client.get(reverse("portal:value"), {"start": "2025-01-01", "end": "2025-12-31"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "43.5 %" in body
    assert 'data-testid="pareto-chart"' in body
    assert "<script" not in body.split('data-testid="pareto-chart"')[1].split("</svg>")[0]
    assert "1 invoice in USD" in body
    assert body.index("Value P1") < body.index("Value P2") < body.index("Value P5")


def test_bad_dates_get_a_field_error_and_the_default_period(client, estate):
    client.force_login(estate.admin)
    response = client.get(reverse("portal:value"), {"start": "2025-05-01", "end": "2025-04-01"})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "end": ["The last day cannot come before the first."]
    }
    assert response.context["result"].period == trailing_months(12, today=timezone.localdate())


@pytest.mark.parametrize("query", [{}, {"page": "1"}])
def test_the_period_picker_shows_the_period_analysed(client, estate, query):
    client.force_login(estate.admin)
    response = client.get(reverse("portal:value"), query)
    assert '<option value="12" selected>Last 12 months</option>' in response.content.decode()
    assert response.context["result"].period == trailing_months(12, today=timezone.localdate())


def test_tier_fit_page_lists_candidates_with_reasons(client, tiered):
    client.force_login(tiered.admin)
    period = {"period": "custom", "start": "2025-01-01", "end": "2025-12-31"}
    response = client.get(reverse("portal:tier_fit"), period)
    body = response.content.decode()
    assert "upgrade to Platinum" in body
    assert "Platinum is for the top 20 % (the 1 largest); on Gold." in body
    assert "Gone Ltd" not in body


@pytest.mark.parametrize("route", ["portal:value", "portal:tier_fit"])
def test_customers_get_404_and_agents_403(client, estate, route):
    client.force_login(estate.member_a)
    assert client.get(reverse(route)).status_code == 404
    client.force_login(estate.agent)
    assert client.get(reverse(route)).status_code == 403
    executive = StaffFactory(kind=UserKind.EXECUTIVE, email="exec@portal.test")
    client.force_login(executive)
    assert client.get(reverse(route)).status_code == 200


@pytest.mark.parametrize("route", ["portal:value", "portal:tier_fit"])
def test_value_pages_make_the_same_queries_at_any_size(
    client, tiered, route, django_assert_max_num_queries
):
    client.force_login(tiered.admin)
    params = {"start": "2025-01-01", "end": "2025-12-31"}
    # 9: one is django-otp's read of the device behind the staff member's second factor.
    with django_assert_max_num_queries(9):
        client.get(reverse(route), params)
    for n in range(60):
        org = OrganisationFactory(name=f"More {n}")
        invoice(org, 10 + n, line=f"Line {n % 4}")
        TierAssignment.objects.create(
            organisation=org, tier=tiered.platinum, started_at=timezone.now()
        )
    with django_assert_max_num_queries(9):
        response = client.get(reverse(route), {**params, "page": 2})
    assert response.status_code == 200
