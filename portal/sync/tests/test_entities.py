"""The entity registry agrees with the choices, the mappings and the models it names."""

import pytest

from portal.records.models import SyncedRecord
from portal.sync.choices import Entity
from portal.sync.entities import ENTITIES, counted_records, customer_records


def test_every_entity_a_source_may_sync_is_registered_with_its_model():
    assert set(ENTITIES) == set(Entity.values)
    for schema in ENTITIES.values():
        assert issubclass(schema.model, SyncedRecord), schema.name


@pytest.mark.parametrize("schema", ENTITIES.values(), ids=list(ENTITIES))
def test_what_a_schema_says_of_its_customer_names_fields_that_exist(schema):
    columns = {f.name for f in schema.model._meta.concrete_fields}
    if schema.customer_key is not None:
        assert schema.customer_key in schema.fields
        assert schema.customer_name in schema.fields
    if schema.customer_column is not None:
        assert schema.customer_column in columns
        assert schema.customer_key is not None  # landing fills what linking reads
    for mapped, column in schema.renames.items():
        assert mapped in schema.fields
        assert column in columns


def test_records_naming_their_customer_are_linked_and_counted():
    linked = {schema.name for schema in customer_records()}
    assert linked == {"orders", "invoices", "tickets", "prices", "samples", "accounts"}
    # A CRM account is the customer itself: linked, never counted as records released.
    counted = [schema.label for schema in counted_records()]
    assert counted == ["orders", "invoices", "old tickets", "contract prices", "sample receipts"]
    assert {s.name for s in counted_records()} == linked - {"accounts"}
