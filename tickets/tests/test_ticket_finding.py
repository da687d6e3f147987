"""Customers find their organisation's tickets: search, opened by, department, CSV export."""

import csv
import io

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from tickets import services
from tickets.models import Ticket


def open_ticket(organisation, requester, subject, category="delivery"):
    return services.ticket_create(
        organisation=organisation,
        requester=requester,
        subject=subject,
        category=category,
        priority="normal",
        body="Details.",
    )


@pytest.fixture
def tickets(world):
    return {
        "parcel": open_ticket(world.org_a, world.member_a, "Parcel missing"),
        "invoice": open_ticket(world.org_a, world.customer_admin_a, "Invoice twice", "billing"),
        "other": open_ticket(world.org_b, world.member_b, "Parcel missing at Bravo"),
    }


def listed(client, **query) -> str:
    return client.get(reverse("tickets:list"), query).content.decode()


def test_every_member_sees_who_opened_each_ticket(client, world, tickets):
    client.force_login(world.member_a)
    page = listed(client)
    assert "Opened by" in page
    assert world.customer_admin_a.full_name in page
    assert "Invoice twice" in page


def test_search_finds_by_subject_words_and_reference(client, world, tickets):
    client.force_login(world.member_a)
    page = listed(client, q="invoice")
    assert "Invoice twice" in page
    assert "Parcel missing" not in page
    page = listed(client, q=tickets["parcel"].reference)
    assert "Parcel missing" in page
    assert "Invoice twice" not in page


def test_filter_by_who_opened_it_and_by_department(client, world, tickets):
    client.force_login(world.member_a)
    page = listed(client, opened_by=world.customer_admin_a.pk)
    assert "Invoice twice" in page
    assert "Parcel missing" not in page
    department = Ticket.objects.get(pk=tickets["parcel"].pk).department
    page = listed(client, department=department)
    assert "Parcel missing" in page


def test_filters_never_reach_another_organisation(client, world, tickets):
    client.force_login(world.member_a)
    page = listed(client, opened_by=world.member_b.pk, q="Bravo", status="all")
    assert "Parcel missing at Bravo" not in page
    assert world.member_b.full_name not in page


def test_the_csv_export_holds_the_filtered_tickets_and_is_audited(client, world, tickets):
    client.force_login(world.member_a)
    response = client.get(reverse("tickets:list_csv"), {"q": "parcel", "status": "all"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["Ticket", "Subject", "Opened by"]
    assert [row[1] for row in rows[1:]] == ["Parcel missing"]
    assert rows[1][2] == world.member_a.full_name
    event = AuditEvent.objects.get(target="tickets (CSV)")
    assert event.detail["rows"] == 1
    assert event.detail["filters"]["search"] == "parcel"


def test_a_subject_that_looks_like_a_formula_is_exported_as_text(client, world):
    open_ticket(world.org_a, world.member_a, "=HYPERLINK(1)")
    client.force_login(world.member_a)
    body = b"".join(client.get(reverse("tickets:list_csv")).streaming_content).decode()
    assert "'=HYPERLINK(1)" in body
