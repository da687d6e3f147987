"""The statement of open items (PDF) and a reorder request from an order."""

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from accounts.choices import AuditAction
from accounts.models import AuditEvent
from portal.records.models import UNPAID, Invoice, OrderLine
from portal.tests.records import add_orders
from tickets.models import Ticket


def pdf_text(response) -> str:
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    return "\n".join(page.extract_text() for page in reader.pages)


def money(amount) -> str:
    return f"{amount:,.2f}"


@pytest.fixture
def open_items(world):
    """A's invoices in two currencies: paid, overdue and not yet due; and B's, unpaid."""
    orders = add_orders(world.org_a, 7)
    add_orders(world.org_b, 2)
    today = timezone.localdate()
    invoices = [order.invoices.get() for order in orders]
    for n, invoice in enumerate(invoices):
        Invoice.objects.filter(pk=invoice.pk).update(
            paid_on=today - timedelta(days=3) if n == 0 else None,
            status="cancelled" if n == 1 else "",
            due_on=today + timedelta(days=10 * n - 35),
            issued_on=today - timedelta(days=60 - n),
            amount=Decimal("1000.10") * (n + 1),
            currency="EUR" if n % 3 == 2 else "GBP",
        )
    return invoices


def test_the_statement_lists_each_open_invoice_and_totals_per_currency_as_the_database(
    client, world, open_items
):
    client.force_login(world.member_a)
    response = client.get(reverse("portal:statement_pdf"))
    text = pdf_text(response)
    assert "Statement of open items" in text
    assert world.org_a.name in text
    assert world.org_b.name not in text
    assert re.search(r"Generated \d{1,2} \w+ \d{4} \d\d:\d\d \((GMT|BST|UTC)\)", text), text
    unpaid = Invoice.objects.filter(UNPAID, organisation=world.org_a, deleted_at__isnull=True)
    today = timezone.localdate()
    for invoice in Invoice.objects.filter(organisation=world.org_a):
        listed = invoice.number in text
        assert listed == unpaid.filter(pk=invoice.pk).exists(), invoice.number
    for invoice in unpaid:  # its row: number, dates, age, days overdue, amount
        overdue = (today - invoice.due_on).days
        row = " ".join(
            [
                invoice.number,
                f"{invoice.issued_on.day} {invoice.issued_on:%b %Y}",
                f"{invoice.due_on.day} {invoice.due_on:%b %Y}",
                str((today - invoice.issued_on).days),
                str(overdue) if overdue > 0 else "-",
                f"{money(invoice.amount)} {invoice.currency}",
            ]
        )
        assert row in text, row
    for currency in ("GBP", "EUR"):
        mine = unpaid.filter(currency=currency)
        total = mine.aggregate(s=Sum("amount"))["s"]
        overdue = mine.filter(due_on__lt=today).aggregate(s=Sum("amount"))["s"] or 0
        assert (
            f"Total open {money(total)} {currency}, of which overdue {money(overdue)} {currency}"
            in text
        )
    event = AuditEvent.objects.get(action=AuditAction.DATA_EXPORTED)
    assert (event.actor, event.organisation, event.target) == (
        world.member_a,
        world.org_a,
        "statement of open items (PDF)",
    )


def test_a_statement_with_nothing_open_says_so(client, world):
    client.force_login(world.member_a)
    text = pdf_text(client.get(reverse("portal:statement_pdf")))
    assert "Nothing is open" in text


def test_the_statement_costs_the_same_queries_for_many_invoices(
    client, world, django_assert_max_num_queries
):
    client.force_login(world.member_a)
    add_orders(world.org_a, 3)
    with django_assert_max_num_queries(14) as few:
        client.get(reverse("portal:statement_pdf"))
    add_orders(world.org_a, 40, start=3)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("portal:statement_pdf"))


# --- Reorder ---------------------------------------------------------------------------------


@pytest.fixture
def order(world):
    return add_orders(world.org_a, 1)[0]


def test_the_order_page_offers_a_reorder_labelled_as_a_request(client, world, order):
    client.force_login(world.member_a)
    page = client.get(reverse("portal:order", args=[order.pk])).content.decode()
    assert reverse("portal:order_reorder", args=[order.pk]) in page
    page = client.get(reverse("portal:order_reorder", args=[order.pk])).content.decode()
    assert "It is not an order placed" in page
    assert "Sales (order entry)" in page
    for line in order.lines.all():
        assert line.product_code in page


def test_a_reorder_request_reaches_order_entrys_department_as_a_ticket_naming_the_lines(
    client, world, order
):
    first, second = order.lines.order_by("pk")
    client.force_login(world.member_a)
    response = client.post(
        reverse("portal:order_reorder", args=[order.pk]),
        {f"line_{first.pk}": "5", f"line_{second.pk}": "0", "notes": "Deliver before Friday."},
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == ticket.get_absolute_url()
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said == [
        f"Reorder request sent to Sales as {ticket.reference}. It is not an order yet: "
        "they will confirm it with you."
    ]
    assert ticket.department == order.source.department == "sales"
    assert ticket.category == "reorder"
    assert ticket.subject == f"Reorder request: order {order.number}"
    assert (ticket.about_kind, ticket.about_id) == ("order", order.pk)
    assert ticket.requester == world.member_a
    body = ticket.messages.get().body
    assert body.startswith("Reorder request: this is a request, not an order placed.")
    assert f"- {first.product_code} {first.product_name}: 5 (was 3)" in body
    assert f"Left out:\n- {second.product_code} {second.product_name} (was 3)" in body
    assert body.endswith("Notes:\nDeliver before Friday.")


def test_the_department_is_the_one_of_the_system_the_order_came_from(client, world, order):
    order.source.department = "logistics"
    order.source.save()
    client.force_login(world.member_a)
    client.post(reverse("portal:order_reorder", args=[order.pk]), {})
    ticket = Ticket.objects.get()
    assert ticket.department == "logistics"
    assert "- AMX-500 AMX-500 samples: 3 (was 3)" in ticket.messages.get().body


@pytest.mark.parametrize(
    ("quantities", "error"),
    [
        (["0", "0"], "Ask for at least one line"),
        (["-1", "2"], "Ensure this value is greater than or equal to 0."),
        (["lots", "2"], "Enter a number."),
    ],
)
def test_a_reorder_that_asks_for_nothing_or_nonsense_sends_nothing(
    client, world, order, quantities, error
):
    lines = order.lines.order_by("pk")
    client.force_login(world.member_a)
    response = client.post(
        reverse("portal:order_reorder", args=[order.pk]),
        {f"line_{line.pk}": value for line, value in zip(lines, quantities, strict=True)},
    )
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Ticket.objects.exists()


def test_a_deleted_line_is_not_reordered(client, world, order):
    first, second = order.lines.order_by("pk")
    OrderLine.objects.filter(pk=second.pk).update(deleted_at=timezone.now())
    client.force_login(world.member_a)
    page = client.get(reverse("portal:order_reorder", args=[order.pk])).content.decode()
    assert first.product_code in page
    assert second.product_code not in page
    client.post(reverse("portal:order_reorder", args=[order.pk]), {f"line_{second.pk}": "9"})
    body = Ticket.objects.get().messages.get().body
    assert first.product_code in body
    assert second.product_code not in body


def test_another_organisations_order_cannot_be_reordered(client, world, order):
    client.force_login(world.member_b)
    url = reverse("portal:order_reorder", args=[order.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {}).status_code == 404
    assert not Ticket.objects.exists()


def test_the_reorder_page_costs_the_same_queries_for_a_long_order(
    client, world, order, django_assert_max_num_queries
):
    client.force_login(world.member_a)
    url = reverse("portal:order_reorder", args=[order.pk])
    with django_assert_max_num_queries(12) as few:
        client.get(url)
    line = order.lines.first()
    for n in range(30):
        line.pk = None
        line.external_id = f"extra-{n}"
        line.save()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).content.decode().count('name="line_') == 32
