"""The registry of synced entities: each rule about a kind of record, said once.

For each entity a source may sync: the target fields a mapping must fill, the model its
records land in, and what a record says of its customer. A source's configuration maps
its own columns onto these fields. `required` fields must be present and valid in every
record, or the record is quarantined with the reason. The engine (runs), the identity
engine (identity.py), the preview and the staff screens (selectors.py) all read it here.
"""

from dataclasses import dataclass, field

from django.db import models

from portal.records.models import (
    CrmAccount,
    Invoice,
    LegacyTicket,
    Order,
    OrderLine,
    PriceAgreement,
    SampleReceipt,
    Shipment,
)


@dataclass(frozen=True)
class EntitySchema:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    # Where its records land, and {mapping field: model field} where the names differ.
    model: type[models.Model] | None = None
    renames: dict[str, str] = field(default_factory=dict)
    # The mapping field naming the record's customer (its id in the legacy system), and
    # the one naming it in words; None: the record follows its order instead.
    customer_key: str | None = "customer_id"
    customer_name: str = "customer_name"
    # The model's column holding that customer id, by which a decision on the customer
    # gives its records their organisation (identity.link_records); None: they follow
    # their order (shipments naming their own customer are relinked with their orders).
    customer_column: str | None = "customer_id"
    # The record *is* the customer (a CRM account): its evidence is its own fields.
    is_customer: bool = False
    # What staff screens call these records when counting those a decision releases;
    # None: not counted (they follow their order, or are the customer itself).
    label: str | None = None

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
            model=Order,
            label="orders",
        ),
        EntitySchema(
            "order_lines",
            required=("external_id", "order_id", "product_code", "quantity", "unit_price"),
            optional=("product_name", "lot", "currency"),
            model=OrderLine,
            renames={"order_id": "order_id_external"},
            customer_key=None,
            customer_column=None,
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
            model=Shipment,
            renames={"order_id": "order_id_external"},
            # Its customer_id counts when the fulfilment system names its customer; else
            # the shipment follows its order, also when a decision relinks them.
            customer_column=None,
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
            model=Invoice,
            renames={"order_id": "order_id_external"},
            label="invoices",
        ),
        EntitySchema(
            "tickets",
            required=("external_id", "customer_id", "subject", "opened_at", "status"),
            optional=("customer_name", "category", "closed_at", "body", *CUSTOMER_EVIDENCE),
            model=LegacyTicket,
            label="old tickets",
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
            model=PriceAgreement,
            label="contract prices",
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
            model=SampleReceipt,
            label="sample receipts",
        ),
        EntitySchema(
            "accounts",
            required=("external_id", "name"),
            optional=("customer_number", "city", "segment", "registry_id", "postcode", "email"),
            model=CrmAccount,
            # A CRM account *is* a customer: its own id and name.
            customer_key="external_id",
            customer_name="name",
            customer_column="external_id",
            is_customer=True,
        ),
    ]
}


def customer_records() -> list[EntitySchema]:
    """The entities whose records name their customer in a column of their own."""
    return [schema for schema in ENTITIES.values() if schema.customer_column]


def counted_records() -> list[EntitySchema]:
    """The entities whose records staff screens count, in the screens' order."""
    return [schema for schema in ENTITIES.values() if schema.label]
