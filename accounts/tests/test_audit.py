"""The audit trail of record changes, exports and the admin that shows it."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.choices import AuditAction
from accounts.models import AuditEvent, Organisation
from portal.records.models import Invoice, Order
from portal.sync.models import SourceSystem
from tickets.models import Ticket
from tickets.services import ticket_create
from tiers.models import TierAssignment

pytestmark = pytest.mark.django_db


def events(action, model):
    return AuditEvent.objects.filter(action=action, detail__model=model).order_by("at", "pk")


def open_ticket(organisation, requester, subject="Late parcel"):
    return ticket_create(
        organisation=organisation,
        requester=requester,
        subject=subject,
        category="delivery",
        priority="normal",
        body="Where is it?",
    )


def test_a_ticket_status_change_records_who_changed_which_fields(client, world):
    ticket = open_ticket(world.org_a, world.member_a)
    created = events(AuditAction.RECORD_CREATED, "tickets.ticket").get()
    assert created.organisation == world.org_a
    assert created.actor is None  # not made through a request: the system's
    assert created.detail["changes"]["subject"] == [None, "Late parcel"]

    client.force_login(world.am_a)
    response = client.post(
        reverse("tickets:status", args=[ticket.pk]), {"status": "resolved"}, REMOTE_ADDR="10.1.2.3"
    )
    assert response.status_code == 302
    changed = events(AuditAction.RECORD_CHANGED, "tickets.ticket").last()
    assert changed.actor == world.am_a
    assert changed.ip_address == "10.1.2.3"
    assert changed.organisation == world.org_a
    assert changed.detail["changes"]["status"][1] == "resolved"
    assert f"#{ticket.pk}" in changed.target


def test_an_admin_edit_of_an_organisation_records_the_changed_fields(client, world):
    client.force_login(world.admin)
    org = world.org_a
    url = reverse("admin:accounts_organisation_change", args=[org.pk])
    data = {
        "name": "Alpha Clinic Group",
        "customer_number": org.customer_number,
        "time_zone": org.time_zone,
        "lifecycle_stage": "renewal",
        "renewal_date": "",
        "primary_am": world.am_a.pk,
        "backup_am": "",
        "executive_sponsor": "",
        "handoff_note": "",
    }
    for inline in client.get(url).context["inline_admin_formsets"]:
        prefix = inline.formset.prefix  # the inlines' rows are left as they are
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    response = client.post(url, data)
    assert response.status_code == 302
    event = events(AuditAction.RECORD_CHANGED, "accounts.organisation").get()
    assert event.actor == world.admin
    assert event.detail["changes"] == {
        "name": ["Alpha Clinic", "Alpha Clinic Group"],
        "lifecycle_stage": ["onboarding", "renewal"],
    }


def test_tier_assignments_and_sources_are_recorded_and_bookkeeping_is_not(world):
    before = events(AuditAction.RECORD_CREATED, "tiers.tierassignment").count()
    TierAssignment.objects.filter(organisation=world.org_b).update(ended_at=timezone.now())
    TierAssignment.objects.create(
        organisation=world.org_b, tier=world.tier, started_at=timezone.now()
    )
    assert events(AuditAction.RECORD_CREATED, "tiers.tierassignment").count() == before + 1

    source = SourceSystem.objects.create(
        name="Billing", system="billing", department="billing", kind="csv", entity="invoices"
    )
    source.cursor = "2025-01-01"
    source.last_success_at = timezone.now()
    source.save()  # what every run does: not an audit event
    assert not events(AuditAction.RECORD_CHANGED, "portal.sourcesystem").exists()
    source.schedule_minutes = 5
    source.save()
    change = events(AuditAction.RECORD_CHANGED, "portal.sourcesystem").get()
    assert change.detail["changes"] == {"schedule_minutes": [15, 5]}


def test_deleting_an_organisation_with_its_records_is_recorded_without_breaking(world):
    open_ticket(world.org_b, world.member_b)
    name = str(world.org_b)
    Organisation.objects.filter(pk=world.org_b.pk).delete()
    deleted = AuditEvent.objects.filter(action=AuditAction.RECORD_DELETED)
    assert set(deleted.values_list("detail__model", flat=True)) >= {
        "accounts.organisation",
        "tickets.ticket",
        "tiers.tierassignment",
        "accounts.accountassignment",
    }
    assert not deleted.filter(organisation__isnull=False).exists()
    assert deleted.filter(target__contains=name).exists()


# --- Exports ---------------------------------------------------------------------------------


@pytest.fixture
def records(world):
    source = SourceSystem.objects.create(
        name="Order entry", system="oe", department="sales", kind="sql", entity="orders"
    )
    now = timezone.now()

    def order(org, i, number=None):
        return Order.objects.create(
            source=source, external_id=f"{org.pk}-{i}", organisation=org, content_hash="x",
            synced_at=now, customer_id="c", number=number or f"SO-{org.pk}-{i}",
            status="open" if i % 2 else "shipped", ordered_at=now - timedelta(days=i),
            currency="GBP", total="10.00",
        )  # fmt: skip

    def invoice(org, i):
        return Invoice.objects.create(
            source=source, external_id=f"i{org.pk}-{i}", organisation=org, content_hash="x",
            synced_at=now, customer_id="c", number=f"INV-{org.pk}-{i}", amount="12.50",
            currency="GBP", issued_on=now.date(), due_on=now.date() + timedelta(days=30),
        )  # fmt: skip

    return order, invoice


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_the_orders_export_has_the_organisations_orders_only_and_is_audited(client, world, records):
    order, _ = records
    for i in range(3):
        order(world.org_a, i)
    order(world.org_a, 9, number='=HYPERLINK("http://evil")')
    order(world.org_b, 1)
    client.force_login(world.member_a)
    response = client.get(reverse("portal:orders_csv"), {"status": "open"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="alpha-clinic-orders-')
    rows = read_csv(response)
    assert rows[0][:3] == ["Order number", "Ordered at (Europe/London)", "Status"]
    numbers = sorted(row[0] for row in rows[1:])
    assert numbers == ['\'=HYPERLINK("http://evil")', f"SO-{world.org_a.pk}-1"]  # open only
    event = AuditEvent.objects.get(action=AuditAction.DATA_EXPORTED)
    assert (event.actor, event.organisation) == (world.member_a, world.org_a)
    assert event.detail == {"rows": 2, "filters": {"status": "open"}}


def test_the_invoices_export_follows_the_state_filter(client, world, records):
    _, invoice = records
    paid = invoice(world.org_a, 1)
    paid.paid_on = timezone.localdate()
    paid.save()
    invoice(world.org_a, 2)
    invoice(world.org_b, 3)
    client.force_login(world.member_a)
    rows = read_csv(client.get(reverse("portal:invoices_csv"), {"state": "open"}))
    assert [row[0] for row in rows[1:]] == [f"INV-{world.org_a.pk}-2"]
    assert rows[1][4] == "open"


def test_an_am_viewing_as_the_customer_exports_as_themselves(client, world, records):
    order, _ = records
    order(world.org_a, 1)
    client.force_login(world.am_a)
    client.post(reverse("accounts:view_as_start", args=[world.org_a.pk]))
    client.get(reverse("portal:orders_csv"))
    event = AuditEvent.objects.get(action=AuditAction.DATA_EXPORTED)
    assert event.actor == world.am_a
    assert event.via_view_as


@pytest.mark.parametrize("count", [5, 50])
def test_export_queries_do_not_grow_with_the_rows(
    client, world, records, count, django_assert_max_num_queries
):
    order, invoice = records
    for i in range(count):
        order(world.org_a, i)
        invoice(world.org_a, i)
    client.force_login(world.member_a)
    for name in ("portal:orders_csv", "portal:invoices_csv"):
        with django_assert_max_num_queries(14):
            rows = read_csv(client.get(reverse(name)))
        assert len(rows) == count + 1


# --- The admin -------------------------------------------------------------------------------


def test_admins_filter_the_trail_by_record_type_actor_organisation_and_date(client, world):
    open_ticket(world.org_a, world.member_a, subject="Filter me")
    client.force_login(world.admin)
    url = reverse("admin:accounts_auditevent_changelist")
    today = timezone.localdate()
    response = client.get(
        url,
        {
            "record": "tickets.ticket",
            "organisation__id__exact": world.org_a.pk,
            "action__exact": AuditAction.RECORD_CREATED,
            "at__year": today.year,
            "at__month": today.month,
            "at__day": today.day,
        },
    )
    assert response.status_code == 200
    shown = list(response.context["cl"].result_list)
    assert len(shown) == 1
    assert "Filter me" in shown[0].target
    assert client.get(url, {"q": "Filter me"}).context["cl"].result_count == 1
    detail = client.get(reverse("admin:accounts_auditevent_change", args=[shown[0].pk]))
    assert detail.status_code == 200
    assert "Filter me" in detail.content.decode()


def test_customers_and_staff_without_admin_cannot_read_the_trail(client, world):
    for user in (world.member_a, world.am_a):
        client.force_login(user)
        response = client.get(reverse("admin:accounts_auditevent_changelist"))
        assert response.status_code == 302


def test_opening_a_ticket_stays_within_its_query_budget_with_the_audit(
    world, django_assert_max_num_queries
):
    """The audit adds one read (the row before a change) and one write per audited save."""
    with django_assert_max_num_queries(30):
        open_ticket(world.org_a, world.member_a, subject="Count")
    assert Ticket.objects.count() == 1
