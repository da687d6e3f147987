"""Data versions kept by the database (accounts.platform.data_versions): every write to a
table pages show renews exactly the organisations it touched, whichever path made it (a
save, queryset.update, bulk_create, queryset.delete, raw SQL), and bookkeeping renews
nothing."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import AccountFollow, AuditEvent, Organisation, User
from accounts.platform import data_versions
from accounts.platform.data_versions import GLOBAL
from accounts.tests.data_versions import renewed, versions
from accounts.tests.test_page_cache import open_ticket
from portal.records.models import Order
from portal.relationship.choices import EngagementKind
from portal.relationship.services import engagement_record
from portal.sync.models import CustomerIdentity, SourceSystem
from portal.tests.records import add_orders, source
from portal.timeline.models import TimelineKind
from portal.timeline.services import timeline_record
from tickets import services as ticket_services
from tiers.models import ServiceTier


def owner(row) -> int:
    """The scope a row should renew, found through the ORM (not the triggers' SQL)."""
    path = data_versions.scope_path(type(row))
    if path is None:
        return GLOBAL
    hops, column = path
    for fk, parent in hops:
        row = parent.objects.get(pk=getattr(row, fk))
    found = row.pk if isinstance(row, Organisation) else getattr(row, column)
    return GLOBAL if found is None else found


@pytest.fixture
def rows(world):
    """Rows in most tables, of each way a row finds its organisation: its own key, a ticket
    (a message), a message's ticket (an attachment), an engagement (its attendees), none
    yet (a waiting legacy customer), none at all (shared rows)."""
    ticket = ticket_services.ticket_create(
        organisation=world.org_b, requester=world.member_b, subject="Printer on fire",
        category="product", priority="normal", body="It smokes.",
        attachments=[SimpleUploadedFile("photo.txt", b"smoke")],
    )  # fmt: skip
    ticket_services.ticket_reply(ticket=ticket, author=world.am_b, body="On it.")
    add_orders(world.org_a, 1)
    add_orders(world.org_b, 1)
    engagement_record(
        by=world.am_b, organisation=world.org_b, kind=EngagementKind.QBR,
        on=timezone.localdate(), attendees=[world.member_b], summary="Went well.",
    )  # fmt: skip
    timeline_record(organisation=world.org_b, kind=TimelineKind.TIER_CHANGED,
                    at=timezone.now(), title="Gold")  # fmt: skip
    AccountFollow.objects.create(user=world.am_b, organisation=world.org_b)
    CustomerIdentity.objects.create(system="oe", external_id="OE-9", external_name="HARBR")
    return world


def test_every_table_pages_show_has_its_triggers(db):
    with connection.cursor() as cursor:
        installed = data_versions.installed_triggers(cursor, connection.vendor)
    assert data_versions.trigger_names() <= installed
    tables = {model._meta.db_table for model in data_versions.covered_models()}
    assert {"tickets_message", "portal_order", "accounts_user", "tiers_servicetier"} <= tables
    assert "accounts_auditevent" not in tables


@pytest.mark.parametrize(
    "model", data_versions.covered_models(), ids=lambda model: model._meta.label_lower
)
def test_writes_without_signals_renew_exactly_the_organisations_they_touch(rows, model):
    """An update, a delete and an insert of one row, by raw SQL, queryset.update and
    bulk_create: each renews the row's organisation (GLOBAL for shared rows), nothing else."""
    row = model.objects.order_by("pk").last()
    if row is None:
        pytest.skip(f"no {model._meta.label_lower} in the test world")
    expected = {owner(row)}
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        before = versions()
        cursor.execute(f"UPDATE {table} SET {pk} = {pk} WHERE {pk} = %s", [row.pk])  # noqa: S608
        assert renewed(before) == expected, "raw UPDATE"

        before = versions()
        model.objects.filter(pk=row.pk).update(**{model._meta.pk.attname: row.pk})
        assert renewed(before) == expected, "queryset.update"

        before = versions()
        cursor.execute(f"DELETE FROM {table} WHERE {pk} = %s", [row.pk])  # noqa: S608
        assert renewed(before) == expected, "raw DELETE"

        before = versions()
        model.objects.bulk_create([row])
        assert renewed(before) == expected, "bulk_create"


def test_a_bulk_write_to_many_organisations_renews_each_once_and_no_other(rows):
    third = Organisation.objects.create(name="Gamma Labs")
    before = versions()
    Order.objects.filter(organisation__in=[rows.org_a, rows.org_b]).update(status="closed")
    assert renewed(before) == {rows.org_a.pk, rows.org_b.pk}
    assert third.pk not in renewed(before)
    before = versions()
    Order.objects.filter(organisation=rows.org_b).delete()  # with its lines, shipments...
    assert renewed(before) == {rows.org_b.pk}


def test_a_message_renews_its_tickets_organisation(world):
    ticket = open_ticket(world, of_b=True)
    before = versions()
    ticket_services.ticket_reply(ticket=ticket, author=world.am_b, body="Looking.")
    assert renewed(before) == {world.org_b.pk}


def test_versions_are_never_reused(world):
    """A rolled-back write's version is never drawn again: content kept under it, or
    under the version before it, can never match after the next write."""
    seen = {versions()[world.org_a.pk]}
    with transaction.atomic():
        Order.objects.filter(organisation=world.org_a).update(status="x")  # none: no renewal
        Organisation.objects.filter(pk=world.org_a.pk).update(name="Renamed")
        seen.add(versions()[world.org_a.pk])
        transaction.set_rollback(True)
    assert versions()[world.org_a.pk] in seen
    if connection.vendor == "sqlite":  # no sequence: a new millisecond (SQLITE_NEXT)
        time.sleep(0.002)
    Organisation.objects.filter(pk=world.org_a.pk).update(name="Renamed again")
    assert versions()[world.org_a.pk] > max(seen)


def test_bookkeeping_renews_nothing(world):
    erp = source()
    before = versions()
    User.objects.filter(pk=world.member_a.pk).update(last_login=timezone.now())
    world.member_a.set_password("another password 123")
    world.member_a.save(update_fields=["password"])
    SourceSystem.objects.filter(pk=erp.pk).update(cursor="42", last_success_at=timezone.now())
    AuditEvent.objects.create(action="data.exported", organisation=world.org_a)
    assert renewed(before) == set()

    User.objects.filter(pk=world.member_a.pk).update(full_name="Someone Else")
    assert renewed(before) == {GLOBAL}


def test_shared_rows_renew_the_global_version_only(world):
    before = versions()
    ServiceTier.objects.filter(pk=world.tier.pk).update(name="Gold")
    assert renewed(before) == {GLOBAL}


def test_install_is_idempotent_and_cheap_when_nothing_changed(db):
    data_versions.install(connection)
    with connection.cursor() as cursor:
        before = data_versions.installed_triggers(cursor, connection.vendor)
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        data_versions.install(connection)
    assert len(captured) <= 3  # read the fingerprint, check the triggers are there
    with connection.cursor() as cursor:
        assert data_versions.installed_triggers(cursor, connection.vendor) == before


def test_without_its_trigger_a_bulk_write_is_caught(world):
    """The check the tests above rely on fails when a write path skips the versions."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's ALTER TABLE ... DISABLE TRIGGER")
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE portal_order DISABLE TRIGGER pv_portal_order_update")
    add_orders(world.org_a, 2)
    before = versions()
    Order.objects.filter(organisation=world.org_a).update(status="closed")
    assert renewed(before) == set()  # what the tests above would catch
