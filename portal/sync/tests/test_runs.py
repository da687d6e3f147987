"""The sync engine against real PostgreSQL: convergence, quarantine, identity, failures, deletes."""

import sqlite3
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse

from accounts.choices import AuditAction
from accounts.models import AuditEvent
from portal.records.models import Invoice, Order, OrderLine
from portal.sync import identity, runs
from portal.sync.base import TransientError
from portal.sync.choices import IdentityStatus, RunStatus
from portal.sync.models import CustomerIdentity, QuarantinedRecord, SourceSystem, SyncRun
from portal.sync.tests.http_server import ApiServer, Reply
from portal.sync.tests.legacy import T0, LegacyOrders, order_fields, sync


def counts(run):
    return (run.read, run.created, run.updated, run.unchanged, run.quarantined, run.deleted)


def test_rerun_converges_to_the_same_rows(legacy, order_source):
    for i in range(1, 8):
        legacy.put(i)
    first = sync(order_source)
    assert first.status == RunStatus.SUCCEEDED
    assert counts(first) == (7, 7, 0, 0, 0, 0)
    again = sync(order_source, full=True)
    assert counts(again) == (7, 0, 0, 7, 0, 0)
    assert Order.objects.count() == 7
    assert sorted(Order.objects.values_list("external_id", flat=True)) == [
        str(i) for i in range(1, 8)
    ]


def test_unchanged_rows_are_neither_written_nor_locked(legacy, order_source):
    legacy.put(1)
    sync(order_source)
    before = Order.objects.get().synced_at
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmin, xmax FROM portal_order")
        version, lock = cursor.fetchone()
    assert lock == "0"
    sync(order_source, full=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmin, xmax FROM portal_order")
        # No new row version (nothing written), and no row lock either: ON CONFLICT DO
        # UPDATE would lock the row even when its WHERE skipped the update.
        assert cursor.fetchone() == (version, "0")
    assert Order.objects.get().synced_at == before


def test_changes_are_picked_up_incrementally(legacy, order_source):
    legacy.put(1)
    legacy.put(2)
    sync(order_source)
    legacy.put(2, total="99.50", at=T0 + timedelta(hours=1))
    run = sync(order_source)
    assert run.cursor_from == T0.isoformat()
    assert (run.read, run.updated, run.unchanged) == (2, 1, 1)  # inclusive: row 1 again
    assert str(Order.objects.get(external_id="2").total) == "99.50"


def test_bad_records_are_quarantined_while_the_rest_lands(legacy, order_source):
    legacy.put(1)
    legacy.put(2, total="-4.00")
    legacy.put(3)
    run = sync(order_source)
    assert counts(run) == (3, 2, 0, 0, 1, 0)
    bad = QuarantinedRecord.objects.get()
    assert bad.external_id == "2"
    assert bad.reason == "total (column total): must not be negative, got '-4.00'"
    assert bad.raw["total"] == "-4.00"
    # The same bad record on the next run keeps one waiting row, not two.
    sync(order_source, full=True)
    assert QuarantinedRecord.objects.filter(resolved_at__isnull=True).count() == 1


def test_a_run_that_quarantines_most_of_what_it_read_needs_attention(
    legacy, order_source, client, world
):
    order_source.config["attention_percent"] = 50  # this source's own threshold
    order_source.save()
    legacy.put(1)
    legacy.put(2, total="-4.00")
    assert sync(order_source).status == RunStatus.SUCCEEDED  # half: not most
    for i in range(3, 6):
        legacy.put(i, total="-1.00", at=T0 + timedelta(minutes=i))
    run = sync(order_source)

    assert (run.read, run.quarantined) == (5, 4)  # 1 and 2, at the cursor, are read again
    assert run.status == RunStatus.ATTENTION
    assert run.error.startswith("4 of 5 records were quarantined")
    assert SyncRun.objects.get(pk=run.pk).status == RunStatus.ATTENTION
    client.force_login(world.am_a)
    queue = client.get(reverse("portal:work_queue")).content.decode()
    assert "Order entry</a>: its latest run needs attention: it quarantined 4 of 5" in queue

    # The next run reads a good one (and 5 again, at the cursor): under this source's
    # threshold, but the card still names the run that quarantined a record.
    legacy.put(6, at=T0 + timedelta(minutes=6))
    assert sync(order_source).status == RunStatus.SUCCEEDED
    queue = client.get(reverse("portal:work_queue")).content.decode()
    assert "Order entry</a>: its latest run quarantined 1 of 2 records" in queue
    QuarantinedRecord.objects.update(resolved_at=T0)
    assert sync(order_source).status == RunStatus.SUCCEEDED
    queue = client.get(reverse("portal:work_queue")).content.decode()
    assert "Every legacy system's latest run went through." in queue


def test_by_default_a_few_per_cent_quarantined_need_attention_and_any_is_on_the_queue(
    legacy, order_source, client, world
):
    for i in range(1, 41):
        legacy.put(i, total="-1.00" if i == 7 else "10.00")
    run = sync(order_source)
    assert (run.status, run.read, run.quarantined) == (RunStatus.SUCCEEDED, 40, 1)  # 2.5 %
    client.force_login(world.am_a)
    queue = client.get(reverse("portal:work_queue")).content.decode()
    assert "Order entry</a>: its latest run quarantined 1 of 40 records" in queue

    for i in range(41, 44):
        legacy.put(i, total="-1.00" if i < 43 else "1.00", at=T0 + timedelta(minutes=i))
    run = sync(order_source)  # 3 of 43 (the 40 at the cursor read again): 7 %
    assert run.status == RunStatus.ATTENTION
    queue = client.get(reverse("portal:work_queue")).content.decode()
    assert "its latest run needs attention: it quarantined 3 of 43 records" in queue

    # A later run that reads nothing bad still leaves the waiting records on the queue.
    legacy.put(44, at=T0 + timedelta(hours=1))
    assert sync(order_source).quarantined == 0
    queue = client.get(reverse("portal:work_queue")).content.decode()
    assert "Order entry</a>: 3 quarantined records wait in Quarantine" in queue


def test_lookback_reads_changes_stamped_before_the_cursor_and_writes_nothing_else(
    legacy, order_source
):
    for i in range(1, 4):
        legacy.put(i, at=T0 + timedelta(minutes=i))
    sync(order_source)
    # A change committed late, stamped 2 minutes before the cursor (minute 3).
    legacy.put(1, total="55.00", at=T0 + timedelta(minutes=1))
    assert sync(order_source).updated == 0  # invisible without a look-back
    order_source.config["lookback_minutes"] = 5
    order_source.save()
    run = sync(order_source)
    assert (run.read, run.updated, run.unchanged) == (3, 1, 2)
    assert str(Order.objects.get(external_id="1").total) == "55.00"
    assert run.cursor_to == (T0 + timedelta(minutes=3)).isoformat()  # the cursor stays
    again = sync(order_source)
    assert (again.read, again.created, again.updated) == (3, 0, 0)


def test_quarantined_records_land_after_the_mapping_is_fixed(legacy, order_source):
    legacy.put(1, total="-4.00")
    sync(order_source)
    order_source.config["fields"]["total"] = {"from": "total", "type": "decimal"}  # refunds ok
    order_source.save()
    result = runs.quarantine_retry(records=list(QuarantinedRecord.objects.all()))
    assert result == {"landed": 1, "failed": 0}
    assert str(Order.objects.get(external_id="1").total) == "-4.00"
    assert QuarantinedRecord.objects.get().resolved_at is not None


def test_unknown_customer_waits_and_is_linked_when_matched(legacy, order_source, world):
    legacy.put(1, cust="OE-77")
    legacy.put(2, cust="OE-77")
    sync(order_source)
    pending = CustomerIdentity.objects.get(external_id="OE-77")
    assert pending.organisation is None
    assert Order.objects.count() == 2  # kept
    assert not Order.objects.visible_to(world.admin).exists()  # but nobody sees them yet
    changed = identity.identity_match(identity=pending, organisation=world.org_a, by=world.am_a)
    assert changed == 2
    assert Order.objects.visible_to(world.member_a).count() == 2
    assert not Order.objects.visible_to(world.member_b).exists()
    legacy.put(3, cust="OE-77", at=T0 + timedelta(minutes=5))
    sync(order_source)
    assert Order.objects.visible_to(world.member_a).count() == 3  # new records link at once


def test_a_match_is_audited_with_who_from_where_to_where_and_how_many(legacy, order_source, world):
    legacy.put(1, cust="OE-77")
    sync(order_source)
    pending = CustomerIdentity.objects.get(external_id="OE-77")
    identity.identity_match(identity=pending, organisation=world.org_a, by=world.am_a)
    event = AuditEvent.objects.get(action=AuditAction.IDENTITY_MATCHED)
    assert (event.actor, event.organisation) == (world.am_a, world.org_a)
    assert event.target == "order-entry:OE-77 Customer OE-77"
    assert event.detail == {
        "from": None,
        "to": world.org_a.name,
        "records": 1,
        "method": "hand",
        "score": None,
        "evidence": ["chosen by hand"],
    }
    identity.identity_match(identity=pending, organisation=None, by=world.admin)
    undone = AuditEvent.objects.get(action=AuditAction.IDENTITY_UNMATCHED)
    assert (undone.organisation, undone.detail["from"]) == (world.org_a, world.org_a.name)
    assert not Order.objects.visible_to(world.member_a).exists()  # hidden again at once


def test_only_admins_and_account_managers_match_each_onto_what_they_manage(
    legacy, order_source, world
):
    legacy.put(1, cust="OE-77")
    sync(order_source)
    pending = CustomerIdentity.objects.get(external_id="OE-77")
    for person in (world.agent, world.member_a):  # an agent; a customer, even of A
        with pytest.raises(PermissionDenied):
            identity.identity_match(identity=pending, organisation=world.org_a, by=person)
    assert not AuditEvent.objects.filter(action=AuditAction.IDENTITY_MATCHED).exists()
    # Authority follows the account (issue 23): B's AM cannot match it to A ...
    with pytest.raises(PermissionDenied):
        identity.identity_match(identity=pending, organisation=world.org_a, by=world.am_b)
    # ... A's AM can, and then only an admin moves it on to B.
    identity.identity_match(identity=pending, organisation=world.org_a, by=world.am_a)
    assert Order.objects.visible_to(world.member_a).count() == 1
    for am in (world.am_a, world.am_b):
        with pytest.raises(PermissionDenied):
            identity.identity_match(identity=pending, organisation=world.org_b, by=am)
    identity.identity_match(identity=pending, organisation=world.org_b, by=world.admin)
    assert Order.objects.visible_to(world.member_b).count() == 1
    assert not Order.objects.visible_to(world.member_a).exists()


def test_a_match_that_fails_half_way_leaves_nothing_half_written(
    legacy, order_source, world, monkeypatch
):
    legacy.put(1, cust="OE-77")
    sync(order_source)
    pending = CustomerIdentity.objects.get(external_id="OE-77")

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(identity, "link_children", broken)  # after the orders were pointed
    with pytest.raises(RuntimeError):
        identity.identity_match(identity=pending, organisation=world.org_a, by=world.am_a)
    assert CustomerIdentity.objects.get(pk=pending.pk).organisation is None
    assert Order.objects.get().organisation is None
    assert not AuditEvent.objects.filter(action=AuditAction.IDENTITY_MATCHED).exists()


def test_full_reconciliation_marks_records_gone_from_the_source(legacy, order_source, world):
    for i in (1, 2, 3):
        legacy.put(i, cust="OE-1")
    sync(order_source)
    identity.identity_match(
        identity=CustomerIdentity.objects.get(external_id="OE-1"),
        organisation=world.org_a,
        by=None,
    )
    legacy.delete(2)
    assert sync(order_source).deleted == 0  # an incremental read cannot see deletes
    run = sync(order_source, full=True)
    assert run.deleted == 1
    gone = Order.objects.get(external_id="2")
    assert gone.deleted_at is not None  # kept
    assert sorted(
        Order.objects.visible_to(world.member_a).values_list("external_id", flat=True)
    ) == [
        "1",
        "3",
    ]
    legacy.put(2, at=T0 + timedelta(hours=2))  # it came back
    sync(order_source)
    assert Order.objects.get(external_id="2").deleted_at is None


def test_a_changed_shape_pauses_the_source_and_writes_nothing(legacy, order_source):
    legacy.put(1)
    order_source.config["fields"]["number"] = "order_number"  # the column was renamed
    order_source.save()
    run = sync(order_source)
    order_source.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "missing required column(s): order_number" in run.error
    # Where it was read, and what the source has instead.
    assert order_source.paused_reason.startswith("orders")
    assert "(its columns: id, cust, cust_name, no, status" in order_source.paused_reason
    assert not Order.objects.exists()
    assert order_source.cursor == ""
    assert runs.sources_due() == []  # paused sources are not dispatched


def test_a_second_run_of_a_running_source_is_refused(order_source):
    first = runs.run_claim(source=order_source, full=False)
    assert first is not None
    assert runs.run_claim(source=order_source, full=False) is None
    SyncRun.objects.filter(pk=first.pk).update(heartbeat_at=T0)  # its worker died long ago
    assert runs.run_claim(source=order_source, full=False) is not None
    first.refresh_from_db()
    assert first.status == RunStatus.FAILED
    assert "no heartbeat" in first.error


@pytest.mark.django_db(transaction=True)
def test_ten_triggers_at_once_run_once(tmp_path, monkeypatch):
    monkeypatch.setenv("SLOW_TOKEN", "t")
    with ApiServer(token="t") as api:
        at = "2026-11-01T09:00:00+00:00"
        page = [{"id": "1", "cust": "OE-1", "no": "SO-1", "status": "open", "placed": at,
                 "updated_at": at}]  # fmt: skip
        api.route("/orders", Reply(200, {"results": page, "next": None}, delay=0.5))
        source = SourceSystem.objects.create(
            name="Slow API",
            system="slow",
            department="sales",
            kind="http",
            entity="orders",
            config={
                "url": api.url("/orders"),
                "token_env": "SLOW_TOKEN",
                "fields": order_fields(without=["total"]),
            },
        )
        barrier = threading.Barrier(10)
        results = []

        def trigger():
            barrier.wait()
            results.append(runs.source_sync(source=SourceSystem.objects.get(pk=source.pk)))
            connection.close()

        threads = [threading.Thread(target=trigger) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    ran = [r for r in results if r is not None]
    assert len(ran) == 1
    assert api.hits("/orders") == 1
    assert SyncRun.objects.count() == 1
    assert Order.objects.count() == 1


def test_failure_on_page_three_keeps_what_landed_and_the_cursor_before_it(monkeypatch, db):
    monkeypatch.setenv("API_TOKEN", "secret")

    def record(i):
        at = (T0 + timedelta(minutes=i)).isoformat()
        return {"id": str(i), "cust": "OE-1", "no": f"SO-{i}", "status": "open", "placed": at,
                "updated_at": at}  # fmt: skip

    with ApiServer(token="secret") as api:
        api.route("/o", (200, {"results": [record(1), record(2)], "next": api.url("/o2")}))
        api.route("/o2", (200, {"results": [record(3), record(4)], "next": api.url("/o3")}))
        api.route("/o3", (503, "down"))
        source = SourceSystem.objects.create(
            name="API orders",
            system="api",
            department="sales",
            kind="http",
            entity="orders",
            config={
                "url": api.url("/o"),
                "token_env": "API_TOKEN",
                "backoff": 0.01,
                "max_retries": 2,
                "fields": order_fields(without=["total"]),
            },
        )
        with pytest.raises(TransientError):
            sync(source)
        source.refresh_from_db()
        assert source.cursor == (T0 + timedelta(minutes=4)).isoformat()
        assert Order.objects.count() == 4
        run = SyncRun.objects.get()
        assert run.status == RunStatus.FAILED
        assert run.error.startswith("Not retried: ")  # the foreground run: the task retries
        assert api.hits("/o3") == 3  # tried, then retried twice

        api.route("/o", (200, {"results": [record(4), record(5)], "next": None}))
        again = sync(source)
        assert api.requests[-1].query["updated_since"] == [(T0 + timedelta(minutes=4)).isoformat()]
    assert again.status == RunStatus.SUCCEEDED
    assert (again.created, again.unchanged) == (1, 1)
    assert Order.objects.count() == 5


def test_lines_link_to_their_order_whichever_arrives_first(tmp_path, monkeypatch, world):
    path = tmp_path / "oe.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE lines (id INTEGER, order_id INTEGER, sku TEXT, qty INTEGER,"
               " price TEXT, updated_at TEXT)")  # fmt: skip
    db.execute("INSERT INTO lines VALUES (1, 1, 'AMX', 3, '4.20', ?)", (T0.isoformat(),))
    db.commit()
    monkeypatch.setenv("OE_DSN", f"sqlite:///{path}")
    lines = SourceSystem.objects.create(
        name="Lines",
        system="order-entry",
        department="sales",
        kind="sql",
        entity="order_lines",
        config={
            "dsn_env": "OE_DSN",
            "table": "lines",
            "cursor_column": "updated_at",
            "key_column": "id",
            "fields": {
                "external_id": "id",
                "order_id": "order_id",
                "product_code": "sku",
                "quantity": {"from": "qty", "type": "decimal", "min": 0},
                "unit_price": {"from": "price", "type": "decimal"},
            },
        },
    )
    sync(lines)
    assert OrderLine.objects.get().order is None  # its order has not arrived yet
    monkeypatch.setenv("TEST_ORDERS_DSN", f"sqlite:///{tmp_path / 'orders.sqlite3'}")
    legacy = LegacyOrders(tmp_path / "orders.sqlite3")
    legacy.put(1, cust="OE-5")
    orders = SourceSystem.objects.create(
        name="Orders",
        system="order-entry",
        department="sales",
        kind="sql",
        entity="orders",
        config={
            "dsn_env": "TEST_ORDERS_DSN",
            "table": "orders",
            "cursor_column": "updated_at",
            "key_column": "id",
            "fields": order_fields(),
        },
    )
    sync(orders)
    line = OrderLine.objects.get()
    assert line.order == Order.objects.get()
    identity.identity_match(
        identity=CustomerIdentity.objects.get(external_id="OE-5"), organisation=world.org_b, by=None
    )
    assert OrderLine.objects.visible_to(world.member_b).count() == 1
    assert not OrderLine.objects.visible_to(world.member_a).exists()


def test_invoices_from_a_windows_csv_drop_land_and_the_file_is_taken_once(tmp_path, world):
    drop = tmp_path / "billing"
    drop.mkdir()
    (drop / "inv.csv").write_bytes(
        "Rechnung;KundeNr;Kunde;Betrag;Währung;Datum\n"
        "R-1;B-1;Müller Praxis;1.234,50;EUR;05.11.2026\n"
        "R-2;B-1;Müller Praxis;99,00;XXX;05.11.2026\n".encode("cp1252")
    )
    source = SourceSystem.objects.create(
        name="Billing",
        system="billing",
        department="billing",
        kind="csv",
        entity="invoices",
        config={
            "path": str(drop),
            "fields": {
                "external_id": "Rechnung",
                "number": "Rechnung",
                "customer_id": "KundeNr",
                "customer_name": "Kunde",
                "amount": {"from": "Betrag", "type": "decimal", "decimal_comma": True},
                "currency": {"from": "Währung", "type": "currency"},
                "issued_on": {"from": "Datum", "type": "date", "format": "%d.%m.%Y"},
            },
        },
    )
    run = sync(source)
    assert counts(run) == (2, 1, 0, 0, 1, 0)
    invoice = Invoice.objects.get()
    assert (str(invoice.amount), invoice.customer_name) == ("1234.50", "Müller Praxis")
    assert (drop / "archive" / "inv.csv").exists()
    (drop / "archive" / "inv.csv").rename(drop / "inv.csv")  # dropped again by mistake
    assert sync(source).read == 0


def invoice_drop(tmp_path, **config) -> tuple:
    drop = tmp_path / "billing"
    drop.mkdir()
    source = SourceSystem.objects.create(
        name="Billing",
        system="billing",
        department="billing",
        kind="csv",
        entity="invoices",
        config={
            "path": str(drop),
            "fields": {
                "external_id": "number",
                "number": "number",
                "customer_id": "customer",
                "amount": {"from": "amount", "type": "decimal"},
                "currency": {"from": "currency", "type": "currency"},
                "issued_on": {"from": "issued", "type": "date"},
            },
            **config,
        },
    )
    return drop, source


def invoice_csv(*numbers: int) -> str:
    lines = [f"R-{n};B-1;{n}.00;EUR;2026-11-05\n" for n in numbers]
    return "number;customer;amount;currency;issued\n" + "".join(lines)


def live_invoices() -> list[str]:
    return sorted(Invoice.objects.filter(deleted_at__isnull=True).values_list("number", flat=True))


def test_a_snapshot_file_of_several_batches_deletes_only_what_it_lacks(tmp_path, db):
    drop, source = invoice_drop(tmp_path, snapshot=True, batch_size=2)
    (drop / "a.csv").write_text(invoice_csv(1, 2, 3, 4, 5))
    assert counts(sync(source)) == (5, 5, 0, 0, 0, 0)  # three batches, one snapshot
    (drop / "b.csv").write_text(invoice_csv(1, 2, 4, 5))
    assert counts(sync(source)) == (4, 0, 0, 4, 0, 1)
    assert live_invoices() == ["R-1", "R-2", "R-4", "R-5"]


def test_a_full_run_of_a_drop_folder_deletes_nothing(tmp_path, db):
    """It reads the new files only, not the whole set: deletes come from snapshots."""
    drop, source = invoice_drop(tmp_path)
    (drop / "a.csv").write_text(invoice_csv(1, 2))
    sync(source)
    (drop / "b.csv").write_text(invoice_csv(3))
    run = sync(source, full=True)
    assert (run.full, run.created, run.deleted) == (False, 1, 0)
    assert live_invoices() == ["R-1", "R-2", "R-3"]


def test_counts_on_a_first_run_and_after_it_when_a_record_comes_twice(tmp_path, db):
    """A first run upserts without comparing, a later one compares first: same counts."""
    drop, source = invoice_drop(tmp_path)
    (drop / "a.csv").write_text(invoice_csv(1, 2))
    (drop / "b.csv").write_text(invoice_csv(1, 2).replace("1.00", "1.50"))
    assert counts(sync(source)) == (4, 2, 1, 1, 0, 0)  # R-1 changed in b.csv, R-2 did not
    Invoice.objects.filter(number="R-2").update(deleted_at=T0)
    (drop / "c.csv").write_text(invoice_csv(1, 2, 3).replace("1.00", "1.50"))
    assert counts(sync(source)) == (3, 1, 1, 1, 0, 0)  # R-2 came back: updated
    assert sorted(Invoice.objects.values_list("number", "amount", "deleted_at")) == [
        ("R-1", Decimal("1.50"), None),
        ("R-2", Decimal("2.00"), None),
        ("R-3", Decimal("3.00"), None),
    ]


def test_a_run_that_grows_a_table_refreshes_its_statistics(legacy, order_source, monkeypatch):
    """Plans made when the source had no rows would go on treating it as empty."""
    monkeypatch.setattr(runs.plan, "ANALYZE_AFTER_CREATED", 3)
    for i in range(1, 8):
        legacy.put(i)
    sync(order_source)  # batches of 3: analysed after 3 records, then at 6 (twice 3)

    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'portal_order'")
        assert cursor.fetchone()[0] == 6


def test_a_run_taken_over_as_stale_stops_without_writing(legacy, order_source):
    for i in range(1, 8):
        legacy.put(i)
    order_source.refresh_from_db()

    def fail_me_as_stale(run):
        SyncRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, error="stale")

    run = runs.source_sync(source=order_source, progress=fail_me_as_stale)
    assert run.status == RunStatus.FAILED
    assert SyncRun.objects.get(pk=run.pk).error == "stale"  # the takeover's verdict stays
    assert Order.objects.count() == 3  # the first batch of 3 landed, nothing after it


def test_a_run_that_fails_mid_read_lets_go_of_the_legacy_database(legacy, order_source):
    """The failed run's traceback lives on (a retrying task keeps it); its read lock must not."""
    for i in range(1, 8):
        legacy.put(i)
    order_source.refresh_from_db()

    def database_gone(run):
        raise RuntimeError("the portal's database went away")

    with pytest.raises(RuntimeError) as failure:
        runs.source_sync(source=order_source, progress=database_gone)
    assert failure.traceback  # still held, as Celery holds it between retries
    writer = sqlite3.connect(legacy.path, timeout=0)  # "database is locked" at once if held
    with writer:
        writer.execute("UPDATE orders SET total = '11.00' WHERE id = 7")
    writer.close()
    assert SyncRun.objects.get().status == RunStatus.FAILED


def test_am_matches_a_waiting_customer_from_the_workspace(client, legacy, order_source, world):
    legacy.put(1, cust="OE-42")
    sync(order_source)
    pending = CustomerIdentity.objects.get(external_id="OE-42")
    client.force_login(world.am_a)
    page = client.get("/workspace/identities/").content.decode()
    assert "Customer OE-42" in page
    response = client.post(
        f"/workspace/identities/{pending.pk}/match/", {"organisation": world.org_a.pk}
    )
    assert response.status_code == 302
    assert Order.objects.visible_to(world.member_a).count() == 1
    assert (
        "Nobody waits: every customer of every system is matched"
        in client.get("/workspace/identities/").content.decode()
    )


def test_a_run_records_where_its_time_went(legacy, order_source):
    for i in range(1, 8):
        legacy.put(i)
    run = sync(order_source, full=True)
    run.refresh_from_db()
    steps = {"read", "map", "rows+hash", "write", "quarantine", "commit", "mark deleted"}
    assert set(run.timings) == steps
    assert all(seconds >= 0 for seconds in run.timings.values())
    wall = (run.finished_at - run.started_at).total_seconds()
    assert sum(run.timings.values()) <= wall + 0.01  # exclusive: they never add up past it


def test_testing_a_source_shows_its_first_records_mapped_and_writes_nothing(
    legacy, order_source, client, world
):
    legacy.put(1, cust="OE-1")
    legacy.put(2, cust="OE-2", total="-4.00")
    legacy.put(3, cust="C-A001")
    CustomerIdentity.objects.create(
        system="order-entry",
        external_id="OE-1",
        external_name="x",
        organisation=world.org_a,
        status=IdentityStatus.MATCHED,
    )
    order_source.config["customer_ids_are_ours"] = True
    order_source.save()
    client.force_login(world.admin)
    changelist = reverse("admin:portal_sourcesystem_changelist")

    response = client.post(
        changelist, {"action": "test_source", "_selected_action": [order_source.pk]}
    )

    preview = response.context["preview"]
    assert preview.problem == ""
    assert [bool(row.values) for row in preview.rows] == [True, False, True]
    assert preview.rows[1].problem == "total (column total): must not be negative, got '-4.00'"
    assert preview.rows[0].customer == "Alpha Clinic (matched before)"
    assert preview.rows[2].customer == (
        "Alpha Clinic (matched automatically: customer number C-A001)"
    )
    page = response.content.decode()
    assert "1 would be quarantined" in page
    # Nothing written: no run, no order, no quarantine, no new identity, the cursor as it was.
    assert not SyncRun.objects.exists()
    assert not Order.objects.exists()
    assert not QuarantinedRecord.objects.exists()
    assert CustomerIdentity.objects.count() == 1
    order_source.refresh_from_db()
    assert order_source.cursor == ""


def test_testing_a_source_that_cannot_be_read_says_why(order_source, client, world, monkeypatch):
    monkeypatch.delenv("TEST_ORDERS_DSN", raising=False)
    client.force_login(world.admin)
    response = client.post(
        reverse("admin:portal_sourcesystem_changelist"),
        {"action": "test_source", "_selected_action": [order_source.pk]},
    )
    assert "TEST_ORDERS_DSN" in response.context["preview"].problem


def test_the_same_key_twice_in_one_batch_lands_once_and_is_counted(tmp_path, db):
    drop, source = invoice_drop(tmp_path)
    twice = invoice_csv(1, 2) + invoice_csv(2).split("\n", 1)[1].replace("2.00", "2.50")
    (drop / "a.csv").write_text(twice)
    run = sync(source)
    assert (run.read, run.created, run.duplicates) == (3, 2, 1)
    assert Invoice.objects.get(number="R-2").amount == Decimal("2.50")  # the last one
    assert SyncRun.objects.get(pk=run.pk).duplicates == 1


OLD_LAYOUT = {
    "name": "before 2025",
    "fields": {
        "external_id": "Rechnung",
        "number": "Rechnung",
        "customer_id": "KundeNr",
        "amount": {"from": "Betrag", "type": "decimal", "decimal_comma": True},
        "currency": {"from": "Währung", "type": "currency"},
        "issued_on": {"from": "Datum", "type": "date", "format": "%d.%m.%Y"},
    },
}


def test_one_drop_folder_with_two_file_layouts_reads_each_by_its_header(tmp_path, db):
    drop, source = invoice_drop(tmp_path, layouts=[OLD_LAYOUT])
    (drop / "a-new.csv").write_text(invoice_csv(1))
    (drop / "b-old.csv").write_text(
        "Rechnung;KundeNr;Betrag;Währung;Datum\nR-9;B-1;1.234,50;EUR;05.11.2026\n"
    )
    run = sync(source)
    assert counts(run) == (2, 2, 0, 0, 0, 0)
    assert str(Invoice.objects.get(number="R-9").amount) == "1234.50"
    # A third layout nobody configured pauses the source, naming the file and each layout.
    (drop / "c-odd.csv").write_text("Nummer;Summe\nX-1;3\n")
    sync(source)
    source.refresh_from_db()
    assert source.paused_reason.startswith("c-odd.csv: no layout fits (fields: source is missing")
    assert "before 2025: source is missing required column(s)" in source.paused_reason
    assert source.paused_reason.endswith("(its columns: Nummer, Summe)")


def test_a_layout_with_a_typo_is_refused_when_saved(tmp_path, db):
    _, source = invoice_drop(tmp_path, layouts=[{"name": "x", "fields": {"nummer": "N"}}])
    with pytest.raises(ValidationError) as refused:
        source.full_clean()
    assert "unknown target field(s) 'nummer'" in str(refused.value)


def test_a_first_load_leaves_the_planner_the_real_size_of_the_table(legacy, order_source):
    """Unanalysed after a first load of 20,000 orders, PostgreSQL planned the next full
    run's delete marking as a nested loop: 14 s instead of 0.02 (docs/benchmarks.md)."""
    rows = [(i, "OE-1", "x", f"SO-{i}", "open", T0.isoformat(), "1.00", T0.isoformat(), "")
            for i in range(1, 1501)]  # fmt: skip
    legacy.db.executemany("INSERT INTO orders VALUES (?,?,?,?,?,?,?,?,?)", rows)
    legacy.db.commit()
    order_source.config["batch_size"] = 500
    order_source.save()

    sync(order_source)

    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'portal_order'")
        assert cursor.fetchone()[0] >= 1500


@pytest.mark.parametrize(
    ("cursor", "expected"),
    [
        ("2026-03-01T10:00:00+02:00", "2026-03-01T09:30:00+02:00"),  # its own offset kept
        ("2026-03-01T10:00:00Z", "2026-03-01T09:30:00Z"),
        ("2026-03-01 10:00:00.250000", "2026-03-01 09:30:00.250000"),
        ("2026-03-01T00:10:00-05:00", "2026-02-28T23:40:00-05:00"),
        ("2026-03-01", "2026-02-28"),  # a date: the day before
        ("000812", "000812"),  # not a timestamp: as it is
    ],
)
def test_the_lookback_reads_from_earlier_in_the_cursors_own_format(cursor, expected):
    from portal.sync.runs import looked_back

    assert looked_back(cursor, {"lookback_minutes": 30}) == expected
