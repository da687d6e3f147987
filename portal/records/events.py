"""Webhook events of the synced records: what a sync batch created or changed.

The sync writes in bulk (portal/sync/upsert.py), so no model signal sees its rows: `land`
calls `records_emit` with the batch's own result, and the rows written are read back from
the upsert's stage in one query, only when some subscription listens for them.
"""

from __future__ import annotations

from django.db.models import Model
from django.db.models.expressions import RawSQL

from accounts.platform import webhooks
from portal.records.models import Invoice, Order, Shipment

Event = webhooks.WebhookEvent
# Per model: (created, changed) events, the fields a receiver gets, and its API path.
RECORD_EVENTS = {
    Order: (Event.ORDER_CREATED, Event.ORDER_CHANGED, ["number", "ordered_at"], "orders"),
    Shipment: (
        Event.SHIPMENT_CREATED,
        Event.SHIPMENT_CHANGED,
        ["order_id", "carrier", "tracking_number", "status", "shipped_at", "delivered_at"],
        "shipments",
    ),
    Invoice: (
        Event.INVOICE_CREATED,
        Event.INVOICE_CHANGED,
        ["order_id", "number", "amount", "currency", "issued_on", "due_on", "paid_on"],
        "invoices",
    ),
}


def records_emit(
    model: type[Model], source, *, written_sql: str, created_keys: frozenset[str]
) -> int:
    """Events for the rows the batch just wrote (`written_sql` selects their external
    ids, from the sync's stage), of a customer the portal knows; rows held back (their
    customer is another organisation) or not matched yet are nobody's news."""
    if model not in RECORD_EVENTS:
        return 0
    created, changed, fields, path = RECORD_EVENTS[model]
    if not webhooks.listened_to({created, changed}):
        return 0
    staged = RawSQL(written_sql, ())  # noqa: S611 (identifiers only)
    rows = model.objects.filter(
        source=source,
        external_id__in=staged,
        organisation__isnull=False,
        deleted_at__isnull=True,
    )
    if any(f.name == "held" for f in model._meta.fields):
        rows = rows.filter(held=False)
    events = [
        (
            created if row["external_id"] in created_keys else changed,
            row["organisation_id"],
            {
                path.rstrip("s"): {
                    **row,
                    "source": source.name,
                    "url": f"/api/v1/{path}/{row['id']}/",
                }
            },
        )
        for row in rows.values("id", "organisation_id", "external_id", *fields)
    ]
    return webhooks.events_emit(events)
