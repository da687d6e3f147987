"""manage.py sync: runs sources in the foreground with a progress bar, skips paused ones."""

import io
import sqlite3

import pytest
from django.core.management import CommandError, call_command

from portal.sync.models import SourceSystem, SyncRun


@pytest.fixture
def order_entry(tmp_path, monkeypatch, db):
    path = tmp_path / "orders.sqlite3"
    legacy = sqlite3.connect(path)
    legacy.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, cust TEXT, no TEXT, placed TEXT,"
                   " status TEXT, updated_at TEXT)")  # fmt: skip
    legacy.executemany(
        "INSERT INTO orders VALUES (?, 'OE-1', ?, '2026-11-01T09:00:00+00:00', 'open', ?)",
        [(i, f"SO-{i}", f"2026-11-01T09:0{i}:00+00:00") for i in range(1, 6)],
    )
    legacy.commit()
    monkeypatch.setenv("TEST_SYNC_COMMAND_DSN", f"sqlite:///{path}")
    fields = {
        "external_id": "id",
        "customer_id": "cust",
        "number": "no",
        "status": "status",
        "ordered_at": {"from": "placed", "type": "datetime"},
    }
    config = {"dsn_env": "TEST_SYNC_COMMAND_DSN", "table": "orders", "batch_size": 2,
              "cursor_column": "updated_at", "key_column": "id", "fields": fields}  # fmt: skip
    return SourceSystem.objects.create(
        name="Order entry", system="oe", department="sales", kind="sql", entity="orders",
        config=config,
    )  # fmt: skip


def test_sync_runs_a_source_with_a_progress_bar_and_sums_it_up(order_entry):
    out, err = io.StringIO(), io.StringIO()
    call_command("sync", stdout=out, stderr=err)
    assert "succeeded: read 5, created 5" in out.getvalue()
    assert SyncRun.objects.get().read == 5


def test_sync_skips_a_paused_source_and_says_why(order_entry):
    SourceSystem.objects.filter(pk=order_entry.pk).update(paused_reason="column 'no' is gone")
    out = io.StringIO()
    call_command("sync", "Order entry", stdout=out, stderr=io.StringIO())
    assert "skipped: paused (column 'no' is gone); clear the reason in admin" in out.getvalue()
    assert not SyncRun.objects.exists()


def test_sync_names_an_unknown_source(db):
    with pytest.raises(CommandError, match="No such source: Nowhere"):
        call_command("sync", "Nowhere", stdout=io.StringIO())


def test_sync_runs_only_the_sources_named(order_entry):
    SourceSystem.objects.create(
        name="Billing", system="billing", department="billing", kind="csv", entity="invoices",
        config={},
    )  # fmt: skip
    out = io.StringIO()
    call_command("sync", "Order entry", stdout=out, stderr=io.StringIO())
    assert "Billing" not in out.getvalue()
    assert list(SyncRun.objects.values_list("source__name", flat=True)) == ["Order entry"]
