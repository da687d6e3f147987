"""A real legacy order-entry database (SQLite) for the sync tests, and its source."""

import copy
import sqlite3
from datetime import UTC, datetime

from portal.sync import runs

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
ORDER_FIELDS_SPEC = {
    "external_id": "id",
    "customer_id": "cust",
    "customer_name": "cust_name",
    "number": "no",
    "status": "status",
    "ordered_at": {"from": "placed", "type": "datetime"},
    "total": {"from": "total", "type": "decimal", "min": 0},
    "customer_city": "city",
}


def order_fields(without=()) -> dict:
    """A fresh copy each time: tests change their source's mapping."""
    return {k: copy.deepcopy(v) for k, v in ORDER_FIELDS_SPEC.items() if k not in without}


class LegacyOrders:
    """A real SQLite order-entry database the test can change between runs."""

    def __init__(self, path):
        self.path = path
        self.db = sqlite3.connect(path)
        self.db.execute(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, cust TEXT, cust_name TEXT, no TEXT,"
            " status TEXT, placed TEXT, total TEXT, updated_at TEXT, city TEXT)"
        )

    def put(self, order_id, *, cust="OE-1", total="10.00", status="open", at=T0, name="", city=""):
        self.db.execute(
            "INSERT OR REPLACE INTO orders VALUES (?,?,?,?,?,?,?,?,?)",
            (order_id, cust, name or f"Customer {cust}", f"SO-{order_id}", status, T0.isoformat(),
             total, at.isoformat(), city),
        )  # fmt: skip
        self.db.commit()

    def delete(self, order_id):
        self.db.execute("DELETE FROM orders WHERE id = ?", (order_id,))
        self.db.commit()


def sync(source, **kwargs):
    source.refresh_from_db()
    return runs.source_sync(source=source, **kwargs)
