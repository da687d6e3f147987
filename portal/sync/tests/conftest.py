"""Fixtures of the sync tests: a legacy order-entry database and the source that reads it."""

import pytest

from portal.sync.models import SourceSystem
from portal.sync.tests.legacy import LegacyOrders, order_fields


@pytest.fixture
def legacy(tmp_path, monkeypatch):
    db = LegacyOrders(tmp_path / "orders.sqlite3")
    monkeypatch.setenv("TEST_ORDERS_DSN", f"sqlite:///{db.path}")
    return db


@pytest.fixture
def order_source(db):
    return SourceSystem.objects.create(
        name="Order entry",
        system="order-entry",
        department="sales",
        kind="sql",
        entity="orders",
        config={
            "dsn_env": "TEST_ORDERS_DSN",
            "table": "orders",
            "cursor_column": "updated_at",
            "key_column": "id",
            "batch_size": 3,
            "fields": order_fields(),
        },
    )
