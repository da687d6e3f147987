"""A sync followed live in the browser: the source's page shows the counters moving."""

import threading

import pytest
from django.db import connection
from playwright.sync_api import expect

from portal.sync import runs
from portal.sync.models import SourceSystem
from portal.sync.tests.legacy import LegacyOrders, order_fields
from tests.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_an_admin_follows_a_running_sync_batch_by_batch(page, world, tmp_path, monkeypatch):
    legacy = LegacyOrders(tmp_path / "orders.sqlite3")
    for i in range(1, 10):
        legacy.put(i)
    monkeypatch.setenv("TEST_ORDERS_DSN", f"sqlite:///{legacy.path}")
    source = SourceSystem.objects.create(
        name="Order entry", system="order-entry", department="sales", kind="sql",
        entity="orders",
        config={"dsn_env": "TEST_ORDERS_DSN", "table": "orders", "cursor_column": "updated_at",
                "key_column": "id", "batch_size": 3, "fields": order_fields()},
    )  # fmt: skip
    # The run waits after each batch until the test lets it go on: the page must catch up.
    next_batch, first_landed = threading.Semaphore(0), threading.Event()

    def after_each_batch(run):
        first_landed.set()
        next_batch.acquire(timeout=30)

    def run_in_a_worker():
        try:
            runs.source_sync(source=source, progress=after_each_batch)
        finally:
            connection.close()

    sign_in(page, world.admin.email)
    worker = threading.Thread(target=run_in_a_worker)
    worker.start()
    try:
        assert first_landed.wait(timeout=30), "the run never landed its first batch"
        page.goto(f"/workspace/sources/{source.pk}/")
        progress, read = page.get_by_test_id("run-progress"), page.get_by_test_id("run-read")
        expect(progress).to_have_attribute("data-status", "running")
        expect(read).to_have_text("3")
        for landed in ("6", "9"):
            next_batch.release()
            expect(read).to_have_text(landed)  # the page polled: no reload
            expect(progress).to_have_attribute("data-status", "running")
        next_batch.release()
        expect(progress).to_have_attribute("data-status", "succeeded")
        expect(progress).to_contain_text("Succeeded")
    finally:
        for _ in range(3):
            next_batch.release()
        worker.join(timeout=30)


def test_an_account_manager_finds_the_organisation_and_confirms_the_match(
    page, world, tmp_path, monkeypatch
):
    """The review screen in a browser: the picker searches as one types (htmx), the
    chosen organisation's confirmation says what becomes visible to whom, and the match
    lands; the engine's candidate did not fit, so the search was needed."""
    from accounts.choices import TeamRole
    from accounts.tests.factories import AssignmentFactory, OrganisationFactory
    from portal.records.models import Order
    from portal.sync.models import CustomerIdentity

    legacy = LegacyOrders(tmp_path / "orders.sqlite3")
    legacy.put(1, cust="OE-5", name="NWFC (MAIN SITE)")  # an acronym: no name comes close
    legacy.put(2, cust="OE-5", name="NWFC (MAIN SITE)")
    monkeypatch.setenv("TEST_ORDERS_DSN", f"sqlite:///{legacy.path}")
    source = SourceSystem.objects.create(
        name="Order entry", system="order-entry", department="sales", kind="sql",
        entity="orders",
        config={"dsn_env": "TEST_ORDERS_DSN", "table": "orders", "cursor_column": "updated_at",
                "key_column": "id", "fields": order_fields()},
    )  # fmt: skip
    northwind = OrganisationFactory(name="Northwind Family Clinic", customer_number="C-NW1")
    # A's AM manages Northwind too: an AM matches onto the accounts they manage (issue 23).
    AssignmentFactory(organisation=northwind, user=world.am_a, role=TeamRole.BACKUP_AM)
    runs.source_sync(source=source)
    pending = CustomerIdentity.objects.get(external_id="OE-5")

    sign_in(page, world.am_a.email)
    page.goto("/workspace/identities/")
    page.get_by_role("link", name="Review", exact=True).click()
    expect(page.get_by_test_id("candidates")).to_contain_text("No organisation's name comes")
    page.get_by_role("searchbox", name="Search every organisation").fill("northw")
    results = page.get_by_test_id("picker-results")
    expect(results).to_contain_text("Northwind Family Clinic")  # no submit: typed, htmx
    results.get_by_role("link", name="Northwind Family Clinic").click()
    confirmation = page.get_by_test_id("confirmation")
    expect(confirmation).to_contain_text("2 records become visible to Northwind Family Clinic")
    page.get_by_role("button", name="Match to Northwind Family Clinic").click()
    expect(page.locator(".messages")).to_contain_text(
        "is now Northwind Family Clinic: 2 records linked"
    )
    pending.refresh_from_db()
    assert pending.organisation == northwind
    assert Order.objects.filter(organisation=northwind).count() == 2
