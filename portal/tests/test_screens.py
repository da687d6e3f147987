"""The customer's single view: orders, deliveries, invoices and the timeline."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.records.models import Invoice, Order, Shipment
from portal.tests.records import add_orders
from portal.timeline.models import TimelineEvent
from tickets.services import ticket_create


def rows(html: str, kind: str) -> int:
    """How many links to a record of this kind ("orders", "invoices") the page has."""
    return len(re.findall(rf'href="/{kind}/\d+/"', html))


def page(client, name, *args, **params):
    response = client.get(reverse(name, args=args), params)
    assert response.status_code == 200
    return response.content.decode()


def test_orders_list_searches_filters_and_sorts(client, world):
    add_orders(world.org_a, 6)
    add_orders(world.org_b, 2)
    client.force_login(world.member_a)
    everything = page(client, "portal:orders")
    assert rows(everything, "orders") == 6
    assert f"SO-{world.org_b.pk}-" not in everything
    assert rows(page(client, "portal:orders", search=f"SO-{world.org_a.pk}-3"), "orders") == 1
    assert rows(page(client, "portal:orders", search="ibu-200"), "orders") == 6  # by product
    # Every parcel arrived: the filter takes the status the rows show (status_shown).
    assert rows(page(client, "portal:orders", status="delivered"), "orders") == 6
    assert rows(page(client, "portal:orders", status="shipped"), "orders") == 0
    Shipment.objects.filter(order__organisation=world.org_a).update(delivered_at=None)
    assert rows(page(client, "portal:orders", status="shipped"), "orders") == 3
    in_range = page(client, "portal:orders", date_from="2026-01-02", date_to="2026-01-03")
    assert rows(in_range, "orders") == 2
    oldest = page(client, "portal:orders", sort="oldest")
    assert oldest.index(f"SO-{world.org_a.pk}-0") < oldest.index(f"SO-{world.org_a.pk}-5")
    newest = page(client, "portal:orders")
    assert newest.index(f"SO-{world.org_a.pk}-5") < newest.index(f"SO-{world.org_a.pk}-0")


def test_orders_list_answers_htmx_with_only_the_results(client, world):
    add_orders(world.org_a, 2)
    client.force_login(world.member_a)
    response = client.get(reverse("portal:orders"), HTTP_HX_REQUEST="true")
    assert "<table" in response.content.decode()
    assert "<html" not in response.content.decode()
    assert "HX-Request" in response["Vary"]  # Back never shows a bare fragment from cache
    restore = client.get(
        reverse("portal:orders"), HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in restore.content.decode()


def test_deleted_and_unmatched_records_stay_hidden(client, world):
    add_orders(world.org_a, 1, start=0)
    add_orders(world.org_a, 1, start=1, deleted=True)
    Order.objects.filter(external_id=f"{world.org_a.pk}-0").update(organisation=None)
    client.force_login(world.member_a)
    assert rows(page(client, "portal:orders"), "orders") == 0


def test_order_detail_shows_lines_deliveries_invoice_and_where_it_came_from(client, world):
    order = add_orders(world.org_a, 1)[0]
    client.force_login(world.member_a)
    detail = page(client, "portal:order", order.pk)
    assert "AMX-500" in detail
    assert "IBU-200" in detail
    assert "7.50" in detail  # 3 × 2.50
    assert "TRK" in detail
    assert f"INV-{world.org_a.pk}-0" in detail
    assert "From Order entry · synced 5" in detail


def test_another_organisations_order_is_the_same_404_as_none(client, world):
    order = add_orders(world.org_a, 1)[0]
    client.force_login(world.member_b)
    assert client.get(reverse("portal:order", args=[order.pk])).status_code == 404
    assert client.get(reverse("portal:order", args=[order.pk + 1000])).status_code == 404
    invoice = Invoice.objects.get(order=order)
    assert client.get(reverse("portal:invoice", args=[invoice.pk])).status_code == 404


def test_invoices_show_what_is_open_overdue_and_paid(client, world):
    add_orders(world.org_a, 6)  # i % 3 == 0 paid (2); due dates in 2026 Feb: overdue now
    client.force_login(world.member_a)
    assert rows(page(client, "portal:invoices", state="paid"), "invoices") == 2
    assert rows(page(client, "portal:invoices", state="overdue"), "invoices") == 4
    assert rows(page(client, "portal:invoices", state="open"), "invoices") == 0
    home = page(client, "home")
    assert "Overdue since" in home


def test_timeline_brings_every_department_together_newest_first(client, world):
    add_orders(world.org_a, 1)
    ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject="Where is the cold box?",
        category="delivery",
        priority="normal",
        body="?",
    )
    TimelineEvent.objects.create(
        organisation=world.org_a, at=timezone.now() + timedelta(minutes=1), kind="improvement",
        title="We fixed the cold chain", body="New boxes.",
    )  # fmt: skip
    client.force_login(world.member_a)
    timeline = page(client, "portal:timeline")
    for text in ["placed", "Delivered by DHL", "issued", "paid", "Ticket opened", "cold chain"]:
        assert text in timeline, text
    placed = f"Order SO-{world.org_a.pk}-0 placed"
    assert timeline.index("cold chain") < timeline.index("Ticket opened") < timeline.index(placed)
    only_orders = page(client, "portal:timeline", kind="order")
    assert placed in only_orders
    assert "Ticket opened" not in only_orders
    client.force_login(world.member_b)
    assert "cold chain" not in page(client, "portal:timeline")


def test_staff_without_view_as_are_sent_to_pick_an_account(client, world):
    client.force_login(world.am_a)
    response = client.get(reverse("portal:orders"))
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_legacy_status_words_reach_customers_as_words(client, world):
    (order,) = add_orders(world.org_a, 1)
    order.shipments.update(status="In_transit")
    Order.objects.filter(pk=order.pk).update(status="AWAITING-STOCK")
    client.force_login(world.member_a)
    for name, args in [("portal:shipments", []), ("portal:order", [order.pk])]:
        html = page(client, name, *args)
        assert "In transit" in html, name
        assert "In_transit" not in html, name
        assert "pill-ship-in-transit" in html, name  # coloured like in_transit
    assert "Awaiting stock" in page(client, "portal:orders")


def test_tracking_numbers_link_to_their_carriers_page(client, world):
    from django.core.exceptions import ValidationError

    from portal.records.models import Carrier, Shipment

    orders = add_orders(world.org_a, 2)
    Shipment.objects.filter(order=orders[1]).update(carrier="UPS")
    Carrier.objects.create(name="dhl", tracking_url="https://dhl.test/track?id={tracking}")
    Shipment.objects.filter(order=orders[0]).update(tracking_number="JD 0001/2")
    client.force_login(world.member_a)

    for html in (page(client, "portal:shipments"), page(client, "portal:order", orders[0].pk)):
        assert 'href="https://dhl.test/track?id=JD%200001%2F2"' in html  # DHL as "dhl": found
    assert "<code>TRK" in page(client, "portal:order", orders[1].pk)  # no UPS page: plain
    with pytest.raises(ValidationError):
        Carrier(name="UPS", tracking_url="javascript:x({tracking})").full_clean()
    with pytest.raises(ValidationError):
        Carrier(name="UPS", tracking_url="https://ups.test/track").full_clean()
