"""Invoices a customer can act on: totals, days overdue, search and sort, the PDF, and one
state everywhere; and an order's status that agrees with its deliveries."""

import io
from datetime import timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from accounts.choices import AuditAction
from accounts.models import AuditEvent
from portal.records.models import Invoice, Shipment
from portal.tests.records import add_orders


def invoices_of_a(world):
    """Three invoices of A: one paid, one overdue by 10 days, one not yet due; one in EUR."""
    orders = add_orders(world.org_a, 3)
    today = timezone.localdate()
    paid, overdue, due = (order.invoices.get() for order in orders)
    Invoice.objects.filter(pk=paid.pk).update(paid_on=today - timedelta(days=5))
    Invoice.objects.filter(pk=overdue.pk).update(
        paid_on=None, due_on=today - timedelta(days=10), amount=Decimal("1250.50")
    )
    Invoice.objects.filter(pk=due.pk).update(
        paid_on=None, due_on=today + timedelta(days=20), amount=Decimal("99.00"), currency="EUR"
    )
    return paid, overdue, due


def test_the_invoices_page_totals_what_is_open_and_overdue_per_currency(client, world):
    invoices_of_a(world)
    add_orders(world.org_b, 2)  # another organisation's never count
    client.force_login(world.member_a)
    response = client.get(reverse("portal:invoices"))
    totals = {t["currency"]: t for t in response.context["totals"]}
    assert set(totals) == {"GBP", "EUR"}
    assert (totals["GBP"]["open"], totals["GBP"]["overdue"]) == (Decimal("1250.50"), 1250.50)
    assert totals["GBP"]["overdue_count"] == 1
    assert (totals["EUR"]["open"], totals["EUR"]["overdue"]) == (Decimal("99.00"), 0)
    page = response.content.decode()
    assert "1,250.50 GBP</span> overdue (1 invoice)" in page
    assert "Overdue · 10 days" in page


def test_invoices_are_found_by_number_and_sorted(client, world):
    paid, overdue, due = invoices_of_a(world)
    client.force_login(world.member_a)

    def numbers(**query) -> list[str]:
        return [i.number for i in client.get(reverse("portal:invoices"), query).context["page"]]

    assert numbers(q=overdue.number) == [overdue.number]
    assert numbers(q=overdue.order.number) == [overdue.number]  # by its order's number too
    assert numbers(sort="amount") == [overdue.number, due.number, paid.number]
    by_due = numbers(sort="due")
    assert by_due.index(overdue.number) < by_due.index(due.number)
    assert numbers(state="overdue") == [overdue.number]
    assert numbers(state="overdue", q=due.number) == []


def test_an_overdue_invoice_is_overdue_on_every_page_that_shows_it(client, world):
    _, overdue, _ = invoices_of_a(world)
    client.force_login(world.member_a)
    for url in (
        reverse("portal:invoice", args=[overdue.pk]),
        reverse("portal:order", args=[overdue.order_id]),
        reverse("portal:invoices"),
    ):
        page = client.get(url).content.decode()
        assert "Overdue · 10 days" in page, url


def test_the_invoice_pdf_says_what_is_due_and_where_it_came_from_and_is_audited(client, world):
    _, overdue, _ = invoices_of_a(world)
    client.force_login(world.member_a)
    response = client.get(reverse("portal:invoice_pdf", args=[overdue.pk]))
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="invoice-{overdue.number.lower()}.pdf"' in response["Content-Disposition"]
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert f"Invoice {overdue.number}" in text
    assert world.org_a.name in text
    assert "Amount: 1,250.50 GBP" in text
    assert "State: Overdue, 10 days" in text
    assert f"From {overdue.source.name} (system {overdue.source.system})" in text
    event = AuditEvent.objects.get(action=AuditAction.DATA_EXPORTED)
    assert (event.actor, event.target) == (world.member_a, f"invoice {overdue.number} (PDF)")
    client.force_login(world.member_b)
    assert client.get(reverse("portal:invoice_pdf", args=[overdue.pk])).status_code == 404


def test_an_order_whose_deliveries_all_arrived_shows_delivered_whatever_order_entry_says(
    client, world
):
    order = add_orders(world.org_a, 2)[1]  # order entry says "shipped"
    assert order.status == "shipped"
    client.force_login(world.member_a)
    detail = reverse("portal:order", args=[order.pk])
    assert '<span class="pill">Delivered</span>' in client.get(detail).content.decode()
    rows = client.get(reverse("portal:orders")).context["page"]
    assert {o.pk: o.status_shown for o in rows}[order.pk] == "delivered"
    Shipment.objects.create(  # a second parcel still on its way
        source=order.shipments.get().source, external_id="S2", organisation=world.org_a,
        order=order, order_id_external="x", content_hash="x", synced_at=timezone.now(),
        carrier="DHL", status="in transit", shipped_at=timezone.now(),
    )  # fmt: skip
    assert '<span class="pill">Shipped</span>' in client.get(detail).content.decode()


def test_an_invoice_its_billing_system_marks_paid_or_cancelled_is_nothing_to_pay(client, world):
    """The status alone settles it (a source that sends no payment date), on every screen."""
    _, overdue, due = invoices_of_a(world)
    Invoice.objects.filter(pk=overdue.pk).update(status="paid")  # past due, no payment date
    Invoice.objects.filter(pk=due.pk).update(status="cancelled")
    client.force_login(world.member_a)

    response = client.get(reverse("portal:invoices"))
    assert response.context["totals"] == []  # nothing open, nothing overdue
    states = {i.number: i.state for i in response.context["page"]}
    assert (states[overdue.number], states[due.number]) == ("paid", "cancelled")
    assert list(client.get(reverse("home")).context["invoices_due"]) == []
    page = client.get(reverse("portal:invoice", args=[overdue.pk])).content.decode()
    assert "Overdue" not in page
    assert "Yes (the billing system gives no date)" in page
    assert client.get(reverse("portal:invoices"), {"state": "cancelled"}).context["page"][
        0
    ].number == (due.number)


def test_the_billing_systems_payment_page_is_offered_while_something_is_to_pay(client, world):
    _, overdue, due = invoices_of_a(world)
    Invoice.objects.filter(pk=overdue.pk).update(payment_url="https://pay.billing.test/i/77")
    Invoice.objects.filter(pk=due.pk).update(payment_url="javascript:alert(1)")
    client.force_login(world.member_a)

    page = client.get(reverse("portal:invoice", args=[overdue.pk])).content.decode()
    assert 'href="https://pay.billing.test/i/77"' in page
    assert "Pay online" in page
    assert (
        "javascript:" not in client.get(reverse("portal:invoice", args=[due.pk])).content.decode()
    )
    Invoice.objects.filter(pk=overdue.pk).update(status="paid")  # settled: nothing to pay
    assert (
        "Pay online"
        not in client.get(reverse("portal:invoice", args=[overdue.pk])).content.decode()
    )


def test_the_home_page_says_what_is_to_pay_per_currency(client, world):
    invoices_of_a(world)
    add_orders(world.org_b, 2)  # another organisation's never count
    client.force_login(world.member_a)
    page = client.get(reverse("home")).content.decode()
    assert "1,250.50 GBP</span> to pay, 1,250.50 GBP overdue" in page
    assert "99.00 EUR</span> to pay</p>" in page
    Invoice.objects.filter(organisation=world.org_a).update(paid_on=timezone.localdate())
    assert "home-to-pay" not in client.get(reverse("home")).content.decode()
