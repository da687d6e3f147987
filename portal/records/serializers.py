"""API representations of the records synced from the departmental systems."""

from django.db import connection
from django.db.models import F, Func, Prefetch, QuerySet, TextField
from rest_framework import serializers

from portal.records.models import OrderLine
from portal.records.selectors import INVOICE_STATES, order_rows


class SyncedRecordSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    organisation = serializers.IntegerField(source="organisation_id", read_only=True)
    source = serializers.CharField(
        source="source.name", read_only=True, help_text="The departmental system it came from."
    )
    external_id = serializers.CharField(read_only=True, help_text="Its id in that system.")
    synced_at = serializers.DateTimeField(read_only=True)


class OrderLineSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    product_code = serializers.CharField(read_only=True)
    product_name = serializers.CharField(read_only=True)
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, read_only=True)
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=4, read_only=True)
    currency = serializers.CharField(read_only=True)
    lot = serializers.CharField(read_only=True)


class OrderSerializer(SyncedRecordSerializer):
    number = serializers.CharField(read_only=True)
    status = serializers.CharField(
        source="status_shown",
        read_only=True,
        help_text="As the screens show it: the order entry's status, or delivered once every "
        "delivery has arrived.",
    )
    ordered_at = serializers.DateTimeField(read_only=True)
    currency = serializers.CharField(read_only=True)
    total = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, allow_null=True
    )
    shipment_status = serializers.CharField(
        read_only=True, allow_null=True, help_text="Status of the latest shipment, if any."
    )
    lines = OrderLineSerializer(many=True, read_only=True)


# An order as OrderSerializer documents it, rendered by PostgreSQL from the row of the
# orders list: for a page of 50 orders with their lines this costs a fraction of reading
# them into Python and serializing them there (docs/benchmarks.md, "The API's orders
# list"). tests/test_api.py checks that the two render the same, field for field.
# A timestamp as DRF renders it (Python's isoformat() in UTC, +00:00 written Z): the
# fraction of a second in six digits, and only when there is one.
UTC_SQL = """to_char({0} AT TIME ZONE 'UTC', CASE WHEN date_trunc('second', {0}) = {0}
    THEN 'YYYY-MM-DD"T"HH24:MI:SS"Z"' ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"' END)"""

ORDER_DOCUMENT_SQL = """(SELECT row_to_json(document)::text FROM (SELECT
    portal_order.id,
    portal_order.organisation_id AS organisation,
    (SELECT name FROM portal_sourcesystem WHERE id = portal_order.source_id) AS source,
    portal_order.external_id,
    {utc_synced_at} AS synced_at,
    portal_order.number,
    %(expressions)s AS status,
    {utc_ordered_at} AS ordered_at,
    portal_order.currency,
    portal_order.total::text AS total,
    (
        SELECT status FROM portal_shipment
        WHERE order_id = portal_order.id AND deleted_at IS NULL AND NOT held
        ORDER BY shipped_at DESC LIMIT 1
    ) AS shipment_status,
    (
        SELECT coalesce(
            '[' || string_agg(row_to_json(line)::text, ',' ORDER BY line.id) || ']', '[]'
        )::json
        FROM (
            SELECT id, product_code, product_name, quantity::text AS quantity,
                unit_price::text AS unit_price, currency, lot
            FROM portal_orderline WHERE order_id = portal_order.id AND deleted_at IS NULL
        ) line
    ) AS lines
) document)""".format(  # noqa: S608 (constants only: no input reaches this SQL)
    utc_synced_at=UTC_SQL.format("portal_order.synced_at"),
    utc_ordered_at=UTC_SQL.format("portal_order.ordered_at"),
)


def documents_from_database() -> bool:
    """Whether the database renders the order documents: PostgreSQL does; on the embedded
    SQLite default (make run) DRF renders them from the rows instead."""
    return connection.vendor == "postgresql"


def order_rows_with_lines(orders: QuerySet) -> QuerySet:
    """Orders from `order_list` ready for OrderSerializer: source, shipment status, lines."""
    live_lines = OrderLine.objects.filter(deleted_at__isnull=True).order_by("pk")
    return (
        order_rows(orders)
        .select_related("source")
        .prefetch_related(Prefetch("lines", queryset=live_lines))
    )


class OrderDocument(Func):
    """ORDER_DOCUMENT_SQL around the order's status_shown (the one expression of it)."""

    template = ORDER_DOCUMENT_SQL
    output_field = TextField()


def order_documents(orders: QuerySet) -> QuerySet:
    """Orders from `order_list` as their API documents (JSON text, in "document"), with the
    fields a cursor position may be taken from."""
    return orders.values("ordered_at", "number", document=OrderDocument(F("status_shown")))


class ShipmentSerializer(SyncedRecordSerializer):
    order = serializers.IntegerField(source="order_id", read_only=True, allow_null=True)
    order_number = serializers.CharField(source="order.number", read_only=True, allow_null=True)
    carrier = serializers.CharField(read_only=True)
    tracking_number = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    shipped_at = serializers.DateTimeField(read_only=True, allow_null=True)
    delivered_at = serializers.DateTimeField(read_only=True, allow_null=True)


class InvoiceSerializer(SyncedRecordSerializer):
    order = serializers.IntegerField(source="order_id", read_only=True, allow_null=True)
    number = serializers.CharField(read_only=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    currency = serializers.CharField(read_only=True)
    issued_on = serializers.DateField(read_only=True)
    due_on = serializers.DateField(read_only=True, allow_null=True)
    paid_on = serializers.DateField(read_only=True, allow_null=True)
    state = serializers.ChoiceField(choices=list(INVOICE_STATES.items()), read_only=True)
