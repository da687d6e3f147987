"""The synced records a ticket can be about (tickets/subjects.py): orders, invoices, deliveries."""

from django.urls import reverse

from portal.records.models import Invoice, Order, Shipment
from tickets.choices import Category
from tickets.subjects import Subject, register


def _visible(model, user, pk):
    return model.objects.visible_to(user).filter(pk=pk).first()


def _shipment_url(shipment) -> str:
    if shipment.order_id:
        return reverse("portal:order", args=[shipment.order_id])
    return reverse("portal:shipments")


def connect() -> None:
    register(
        Subject(
            kind="order",
            find=lambda user, pk: _visible(Order, user, pk),
            name=lambda order: f"order {order.number}",
            url=lambda order: reverse("portal:order", args=[order.pk]),
            category=Category.DELIVERY,
        )
    )
    register(
        Subject(
            kind="invoice",
            find=lambda user, pk: _visible(Invoice, user, pk),
            name=lambda invoice: f"invoice {invoice.number}",
            url=lambda invoice: reverse("portal:invoice", args=[invoice.pk]),
            category=Category.BILLING,
        )
    )
    register(
        Subject(
            kind="shipment",
            find=lambda user, pk: _visible(Shipment, user, pk),
            name=lambda shipment: (
                f"delivery {shipment.tracking_number}"
                if shipment.tracking_number
                else f"delivery {shipment.external_id}"
            ),
            url=_shipment_url,
            category=Category.DELIVERY,
        )
    )
