"""A ticket about a record: opened from the invoice, order or delivery it is about."""

from django.urls import reverse
from django.utils import timezone

from portal.records.models import Invoice, Shipment
from portal.tests.records import add_orders
from tickets.models import Ticket


def create_url(about: str) -> str:
    return f"{reverse('tickets:create')}?about={about}"


def test_a_question_about_an_invoice_opens_a_ticket_prefilled_and_linked(client, world):
    invoice = add_orders(world.org_a, 1)[0].invoices.get()
    client.force_login(world.member_a)
    invoice_page = client.get(reverse("portal:invoice", args=[invoice.pk])).content.decode()
    assert create_url(f"invoice:{invoice.pk}") in invoice_page
    form = client.get(create_url(f"invoice:{invoice.pk}"))
    assert form.context["form"].initial == {
        "about": f"invoice:{invoice.pk}",
        "subject": f"Question about invoice {invoice.number}",
        "category": "billing",
    }
    response = client.post(
        reverse("tickets:create"),
        {
            "about": f"invoice:{invoice.pk}",
            "subject": f"Question about invoice {invoice.number}",
            "category": "billing",
            "priority": "normal",
            "body": "Why two lines for one delivery?",
        },
    )
    ticket = Ticket.objects.get()
    assert response.url == ticket.get_absolute_url()
    assert (ticket.about_kind, ticket.about_id) == ("invoice", invoice.pk)
    invoice_url = reverse("portal:invoice", args=[invoice.pk])
    for user in (world.member_a, world.am_a):  # both sides see what it is about
        client.force_login(user)
        page = client.get(ticket.get_absolute_url()).content.decode()
        assert f'About <a href="{invoice_url}">invoice {invoice.number}</a>' in page


def test_orders_and_deliveries_offer_the_same_question(client, world):
    order = add_orders(world.org_a, 1)[0]
    shipment = Shipment.objects.get(order=order)
    client.force_login(world.member_a)
    assert (
        create_url(f"order:{order.pk}")
        in client.get(reverse("portal:order", args=[order.pk])).content.decode()
    )
    assert (
        create_url(f"shipment:{shipment.pk}")
        in client.get(reverse("portal:shipments")).content.decode()
    )
    initial = client.get(create_url(f"shipment:{shipment.pk}")).context["form"].initial
    assert initial["subject"] == f"Question about delivery {shipment.tracking_number}"
    assert initial["category"] == "delivery"


def test_nobody_opens_a_ticket_about_a_record_they_may_not_see(client, world):
    theirs = Invoice.objects.get(order=add_orders(world.org_b, 1)[0])
    client.force_login(world.member_a)
    for about in (f"invoice:{theirs.pk}", "invoice:999999", "payroll:1", "invoice:x"):
        assert client.get(create_url(about)).status_code == 404, about
    forged = client.post(
        reverse("tickets:create"),
        {
            "about": f"invoice:{theirs.pk}",
            "subject": "Hm",
            "category": "billing",
            "priority": "normal",
            "body": "x",
        },
    )
    assert forged.status_code == 400
    assert "not one of this organisation" in forged.content.decode()
    assert theirs.number not in forged.content.decode()
    assert not Ticket.objects.exists()


def test_the_ticket_still_names_its_record_once_the_record_is_gone(client, world):
    invoice = add_orders(world.org_a, 1)[0].invoices.get()
    client.force_login(world.member_a)
    client.post(
        reverse("tickets:create"),
        {
            "about": f"invoice:{invoice.pk}",
            "subject": "About my invoice",
            "category": "billing",
            "priority": "normal",
            "body": "x",
        },
    )
    Invoice.objects.filter(pk=invoice.pk).update(deleted_at=timezone.now())
    page = client.get(Ticket.objects.get().get_absolute_url()).content.decode()
    assert f'About invoice {invoice.number} <span class="muted">(no longer shown)</span>' in page
