"""The stored tallies of orders, deliveries and invoices agree with the rows after every
kind of write: the sync's COPY and upsert, identity links, deletions, bulk_update,
queryset.update(), raw SQL (portal/records/tallies.py)."""

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.records import revenue_tallies, selectors, tallies
from portal.records.models import Invoice, Order, RecordTally, Shipment
from portal.sync import identity
from portal.sync.models import CustomerIdentity
from portal.sync.tests.legacy import T0, sync
from portal.tests.records import add_orders, source


def assert_kept():
    assert tallies.drift(connection) == {}
    assert revenue_tallies.drift(connection) == {}


def test_sync_batches_links_status_changes_and_deletions_keep_the_tallies(
    legacy, order_source, world
):
    for i in range(1, 8):  # batches of 3: COPY into the stage, then INSERT ... ON CONFLICT
        legacy.put(i, cust="OE-77", status="open" if i % 2 else "held")
    sync(order_source)
    assert_kept()
    assert not RecordTally.objects.filter(count__gt=0).exists()  # nobody's orders yet
    pending = CustomerIdentity.objects.get(external_id="OE-77")
    identity.identity_match(identity=pending, organisation=world.org_a, by=world.am_a)
    assert_kept()  # the link is one raw UPDATE of organisation_id
    count = selectors.record_count(user=world.member_a, organisation=world.org_a, record="order")
    assert count == 7
    for i in (1, 2):
        legacy.put(i, cust="OE-77", status="cancelled", at=T0 + timedelta(minutes=5))
    legacy.delete(3)
    sync(order_source)
    sync(order_source, full=True)  # marks 3 deleted
    assert_kept()
    assert selectors.order_statuses(user=world.member_a, organisation=world.org_a) == [
        "cancelled",
        "delivered",
        "held",
        "open",
    ]
    assert (
        selectors.record_count(user=world.member_a, organisation=world.org_a, record="order")
        == Order.objects.visible_to(world.member_a).count()
        == 6
    )
    identity.identity_match(identity=pending, organisation=world.org_b, by=world.admin)
    assert_kept()
    assert selectors.record_count(user=world.admin, organisation=world.org_a, record="order") == 0


def test_bulk_writes_that_skip_model_signals_keep_the_tallies(world):
    orders = add_orders(world.org_a, 6)
    assert_kept()
    Order.objects.filter(pk__in=[o.pk for o in orders[:2]]).update(status="cancelled")
    assert_kept()
    Order.objects.filter(pk=orders[2].pk).update(deleted_at=timezone.now())
    assert_kept()
    for order in orders[3:]:
        order.status, order.organisation = "returned", world.org_b
    Order.objects.bulk_update(orders[3:], ["status", "organisation"])
    assert_kept()
    Shipment.objects.filter(order__in=orders[:3]).update(status="lost")
    Invoice.objects.filter(order=orders[0]).update(paid_on=date(2026, 3, 1))
    Invoice.objects.filter(order=orders[1]).update(currency="EUR", amount=Decimal("7.10"))
    Invoice.objects.filter(order=orders[4]).update(due_on=None)
    assert_kept()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE portal_invoice SET status = 'cancelled' WHERE order_id = %s",
                       [orders[2].pk])  # fmt: skip
    Shipment.objects.filter(order=orders[5]).delete()
    Invoice.objects.bulk_create(
        Invoice(source=source(), external_id=f"B{i}", organisation=world.org_a,
                content_hash="x", synced_at=timezone.now(), customer_id="C",
                number=f"B{i}", amount=Decimal("3.00"), currency="USD",
                issued_on=date(2026, 1, 1), due_on=date(2026, 1, 31))
        for i in range(3)
    )  # fmt: skip
    assert_kept()
    world.org_b.delete()  # its records lose their organisation (SET NULL)
    assert_kept()


def test_without_the_triggers_a_bulk_write_is_caught(world):
    """The check the tests above rely on fails when a write path skips the tallies."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE portal_order DISABLE TRIGGER portal_order_tally_update")
    add_orders(world.org_a, 2)
    assert_kept()  # inserts still counted
    Order.objects.filter(organisation=world.org_a).update(status="cancelled")
    assert tallies.drift(connection) != {}
    with pytest.raises(CommandError, match="tallies differ from the rows"):
        call_command("record_tallies", stdout=StringIO())
    call_command("record_tallies", rebuild=True, stdout=StringIO())
    assert_kept()


def test_the_totals_to_pay_are_per_currency_and_due_day(world):
    today = timezone.localdate()
    add_orders(world.org_a, 3)  # 25.00 GBP each; the first paid, the others due long ago
    late, later = Invoice.objects.filter(paid_on__isnull=True).order_by("pk")
    Invoice.objects.filter(pk=later.pk).update(due_on=today + timedelta(days=3))
    Invoice.objects.filter(pk=late.pk).update(currency="EUR")
    totals = selectors.invoice_totals(user=world.member_a, organisation=world.org_a)
    assert totals == [
        {"currency": "EUR", "open": Decimal("25.00"), "overdue": Decimal("25.00"),
         "overdue_count": 1},
        {"currency": "GBP", "open": Decimal("25.00"), "overdue": Decimal("0"),
         "overdue_count": 0},
    ]  # fmt: skip
    assert selectors.invoice_totals(user=world.member_b, organisation=world.org_a) == []


CURRENCIES = st.sampled_from(["GBP", "EUR", "CHF"])
INVOICE_CHANGES = st.fixed_dictionaries(
    {},
    optional={
        "currency": CURRENCIES,
        "amount": st.decimals(min_value=0, max_value=10**6, places=2),
        "status": st.sampled_from(["", "open", "paid", "cancelled", "disputed"]),
        "paid_on": st.one_of(st.none(), st.just(date(2026, 5, 1))),
        "due_on": st.one_of(st.none(), st.dates(date(2025, 1, 1), date(2027, 12, 31))),
        "deleted_at": st.one_of(st.none(), st.just(T0)),
    },
)


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(st.integers(0, 5), INVOICE_CHANGES), max_size=8))
def test_any_sequence_of_invoice_updates_keeps_the_totals_exact(steps):
    from accounts.tests.factories import OrganisationFactory

    organisation = OrganisationFactory()
    add_orders(organisation, 6)
    ids = list(Invoice.objects.filter(organisation=organisation).values_list("pk", flat=True))
    for index, changes in steps:
        if changes:
            Invoice.objects.filter(pk=ids[index]).update(**changes)
    assert_kept()


@pytest.mark.parametrize("name", ["portal:orders", "portal:shipments", "portal:invoices"])
def test_the_lists_page_through_live_records_without_counting_them(client, world, name):
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    orders = add_orders(world.org_a, 30)
    add_orders(world.org_b, 30, start=100)
    Order.objects.filter(pk__in=[o.pk for o in orders[:4]]).update(deleted_at=timezone.now())
    Shipment.objects.filter(order__in=orders[:4]).update(deleted_at=timezone.now())
    Invoice.objects.filter(order__in=orders[:4]).update(deleted_at=timezone.now())
    client.force_login(world.member_a)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse(name), {"page": 2}).context["page"]
    assert (page.paginator.count, page.paginator.num_pages, len(page)) == (26, 2, 1)
    counts = [q["sql"] for q in queries if "__count" in q["sql"]]  # Paginator.count
    assert counts == []
