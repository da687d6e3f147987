"""What each kind of synced record needs: the target fields a mapping must fill.

A source's configuration maps its own columns onto these fields. `required`
fields must be present and valid in every record, or the record is
quarantined with the reason.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class EntitySchema:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        return self.required + self.optional


# What a record may also say of its customer: evidence for the identity engine
# (portal/sync/matching.py), not stored on the record.
CUSTOMER_EVIDENCE = (
    "customer_number",
    "customer_registry_id",
    "customer_city",
    "customer_postcode",
    "customer_email",
    "customer_phone",
    "customer_street",
)

ENTITIES = {
    schema.name: schema
    for schema in [
        EntitySchema(
            "orders",
            required=("external_id", "customer_id", "number", "ordered_at", "status"),
            optional=("customer_name", "currency", "total", *CUSTOMER_EVIDENCE),
        ),
        EntitySchema(
            "order_lines",
            required=("external_id", "order_id", "product_code", "quantity", "unit_price"),
            optional=("product_name", "lot", "currency"),
        ),
        EntitySchema(
            "shipments",
            required=("external_id", "order_id", "carrier", "status"),
            optional=(
                "tracking_number",
                "shipped_at",
                "delivered_at",
                "customer_id",
                "customer_name",
                *CUSTOMER_EVIDENCE,
            ),
        ),
        EntitySchema(
            "invoices",
            required=("external_id", "customer_id", "number", "amount", "currency", "issued_on"),
            optional=(
                "due_on",
                "paid_on",
                "status",
                "customer_name",
                "product_line",
                "order_id",
                "payment_url",
                *CUSTOMER_EVIDENCE,
            ),
        ),
        EntitySchema(
            "tickets",
            required=("external_id", "customer_id", "subject", "opened_at", "status"),
            optional=("customer_name", "category", "closed_at", "body", *CUSTOMER_EVIDENCE),
        ),
        EntitySchema(
            "prices",
            required=(
                "external_id",
                "customer_id",
                "product_code",
                "unit_price",
                "currency",
                "valid_from",
            ),
            optional=("customer_name", "valid_until", *CUSTOMER_EVIDENCE),
        ),
        EntitySchema(
            "samples",
            required=(
                "external_id",
                "customer_id",
                "lot",
                "product_code",
                "quantity",
                "recipient",
                "signed_at",
            ),
            optional=("customer_name", *CUSTOMER_EVIDENCE),
        ),
        EntitySchema(
            "accounts",
            required=("external_id", "name"),
            optional=("customer_number", "city", "segment", "registry_id", "postcode", "email"),
        ),
    ]
}
