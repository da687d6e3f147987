"""Synced records made directly, for tests of the screens (the sync has tests of its own)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from portal.records.models import Invoice, Order, OrderLine, Shipment
from portal.sync.models import SourceSystem


def source(name="Order entry", entity="orders") -> SourceSystem:
    found, _ = SourceSystem.objects.get_or_create(
        name=name,
        defaults={
            "system": "oe",
            "department": "sales",
            "kind": "sql",
            "entity": entity,
            "last_success_at": timezone.now() - timedelta(minutes=5),
        },
    )
    return found


def add_orders(organisation, count: int, *, start: int = 0, deleted: bool = False) -> list[Order]:
    """Orders with two lines, a delivered shipment and an invoice each."""
    src, now = source(), timezone.now()
    orders = []
    for i in range(start, start + count):
        key = f"{organisation.pk}-{i}"
        order = Order.objects.create(
            source=src, external_id=key, organisation=organisation, content_hash="x",
            synced_at=now, customer_id="C", number=f"SO-{key}",
            status="shipped" if i % 2 else "open",
            ordered_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=i),
            currency="GBP", total=Decimal("10.00") * (i + 1),
            deleted_at=now if deleted else None,
        )  # fmt: skip
        for n, code in enumerate(["AMX-500", "IBU-200"]):
            OrderLine.objects.create(
                source=src, external_id=f"{key}-{n}", organisation=organisation, order=order,
                order_id_external=key, content_hash="x", synced_at=now, product_code=code,
                product_name=f"{code} samples", quantity=3, unit_price=Decimal("2.50"),
            )  # fmt: skip
        Shipment.objects.create(
            source=src, external_id=f"S{key}", organisation=organisation, order=order,
            order_id_external=key, content_hash="x", synced_at=now, carrier="DHL",
            tracking_number=f"TRK{key}", status="delivered", shipped_at=order.ordered_at,
            delivered_at=order.ordered_at + timedelta(days=1),
        )  # fmt: skip
        Invoice.objects.create(
            source=src, external_id=f"I{key}", organisation=organisation, order=order,
            content_hash="x", synced_at=now, customer_id="C", number=f"INV-{key}",
            amount=Decimal("25.00"), currency="GBP",
            issued_on=date(2026, 1, 2) + timedelta(days=i),
            due_on=date(2026, 2, 1) + timedelta(days=i),
            paid_on=None if i % 3 else date(2026, 1, 20),
        )  # fmt: skip
        orders.append(order)
    return orders
