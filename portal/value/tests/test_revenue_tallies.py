"""The value screens read whole months from the stored revenue tallies (RevenueTally) and
only a period's other days from the invoices: the figures are those of the invoices for
any period, and the tallies follow every write (the write paths themselves are walked in
portal/records/tests/test_tallies.py, whose check covers these tallies too)."""

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.tests.factories import OrganisationFactory
from portal.records import revenue_tallies
from portal.records.models import Invoice, RevenueTally
from portal.value.selectors import Period, pareto, whole_months
from portal.value.tests.test_value import invoice
from tiers.models import ExchangeRate

RATES = {"GBP": Decimal(1), "EUR": Decimal("0.75")}  # USD has no rate: left out
FIRST_DAY, LAST_DAY = date(2024, 12, 20), date(2025, 3, 10)
DAYS = st.dates(FIRST_DAY, LAST_DAY)
INVOICES = st.lists(
    st.tuples(
        st.integers(0, 2),  # which organisation
        DAYS,
        st.decimals(min_value=-200, max_value=1000, places=2),
        st.sampled_from(["GBP", "EUR", "USD"]),
        st.sampled_from(["Vaccines", " vaccines", "Cardiology", ""]),
        st.booleans(),  # deleted
    ),
    max_size=12,
)


def exact(amount) -> Decimal:
    """To a hundredth of a penny: SQLite sums decimals as floats (0.060000000000000005)."""
    return Decimal(amount).quantize(Decimal("0.0001"))


def expected(period: Period) -> tuple[dict, dict]:
    """Revenue and breadth per organisation, and what is left out, from the invoices."""
    lines, left_out = {}, {}
    live = Invoice.objects.filter(deleted_at__isnull=True, organisation__isnull=False)
    for row in live.filter(issued_on__gte=period.start, issued_on__lte=period.end):
        if row.currency not in RATES:
            count, amount = left_out.get(row.currency, (0, 0))
            left_out[row.currency] = (count + 1, amount + row.amount)
            continue
        key = (row.organisation_id, row.product_line.strip().lower())
        lines[key] = lines.get(key, 0) + row.amount * RATES[row.currency]
    revenue = {}
    for (organisation, line), amount in lines.items():
        total, breadth = revenue.get(organisation, (0, 0))
        revenue[organisation] = (total + amount, breadth + (1 if line and amount > 0 else 0))
    return {org: figures for org, figures in revenue.items() if figures[0] > 0}, left_out


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(rows=INVOICES, start=DAYS, days=st.integers(0, 80))
def test_any_period_has_the_revenue_of_its_invoices(world, rows, start, days):
    Invoice.objects.all().delete()
    ExchangeRate.objects.get_or_create(currency="EUR", defaults={"rate": RATES["EUR"]})
    if not hasattr(world, "org_c"):  # one world for all the examples
        world.org_c = OrganisationFactory()
    organisations = [world.org_a, world.org_b, world.org_c]
    for which, issued, amount, currency, line, deleted in rows:
        invoice(organisations[which], amount, currency=currency, line=line, issued=issued,
                deleted=deleted)  # fmt: skip
    period = Period(start=start, end=start + timedelta(days=days))
    revenue, left_out = expected(period)
    result = pareto(user=world.admin, period=period, per_page=10)
    assert {row.organisation_id: (exact(row.revenue), row.breadth) for row in result.rows} == {
        organisation: (exact(total), breadth) for organisation, (total, breadth) in revenue.items()
    }
    assert {o.currency: (o.invoices, exact(o.amount)) for o in result.left_out} == {
        currency: (count, exact(amount)) for currency, (count, amount) in left_out.items()
    }
    assert revenue_tallies.drift(connection) == {}


@pytest.mark.parametrize(
    ("start", "end", "first", "after"),
    [
        (date(2025, 1, 1), date(2025, 12, 31), date(2025, 1, 1), date(2026, 1, 1)),
        (date(2024, 12, 8), date(2025, 12, 7), date(2025, 1, 1), date(2025, 12, 1)),
        (date(2024, 2, 29), date(2024, 2, 29), date(2024, 3, 1), date(2024, 3, 1)),
        (date(2024, 2, 1), date(2024, 2, 29), date(2024, 2, 1), date(2024, 3, 1)),
        (date(2025, 1, 31), date(2025, 2, 27), date(2025, 2, 1), date(2025, 2, 1)),
    ],
)
def test_whole_months_of_a_period(start, end, first, after):
    assert whole_months(Period(start=start, end=end)) == (first, after)


def test_whole_months_are_read_from_the_tallies_not_the_invoices(world):
    invoice(world.org_a, 100, line="Vaccines", issued=date(2025, 3, 15))
    with CaptureQueriesContext(connection) as queries:
        result = pareto(user=world.am_a, period=Period(date(2025, 1, 1), date(2025, 6, 30)))
    assert [row.revenue for row in result.rows] == [Decimal("100.00")]
    ranking = queries.captured_queries[-1]["sql"]
    assert "portal_revenuetally" in ranking


def test_without_the_triggers_a_bulk_write_is_caught_and_rebuilt(world):
    skip = {  # the update trigger off, in the test's transaction
        "postgresql": "ALTER TABLE portal_invoice DISABLE TRIGGER portal_invoice_revenue_update",
        "sqlite": "DROP TRIGGER portal_invoice_revenue_update",
    }
    with connection.cursor() as cursor:
        cursor.execute(skip[connection.vendor])
    invoice(world.org_a, 100, issued=date(2025, 3, 15))
    assert RevenueTally.objects.get().amount == Decimal("100.00")  # inserts still counted
    Invoice.objects.update(amount=Decimal("7.00"))
    assert revenue_tallies.drift(connection) != {}
    with pytest.raises(CommandError, match="tallies differ from the rows"):
        call_command("record_tallies", stdout=StringIO())
    # What the migration and bench_data fill them with from the rows.
    call_command("record_tallies", rebuild=True, stdout=StringIO())
    assert revenue_tallies.drift(connection) == {}
    assert RevenueTally.objects.get().amount == Decimal("7.00")


def test_an_organisation_removed_takes_its_tallies_and_a_move_carries_them(world):
    moved = invoice(world.org_a, 100, issued=date(2025, 3, 15))
    Invoice.objects.filter(pk=moved.pk).update(organisation=world.org_b)
    assert {(t.organisation_id, t.invoices) for t in RevenueTally.objects.exclude(invoices=0)} == {
        (world.org_b.pk, 1)
    }
    other = OrganisationFactory()
    invoice(other, 50, issued=date(2025, 3, 1))
    other.delete()  # its invoices lose their organisation (SET NULL)
    assert revenue_tallies.drift(connection) == {}
