"""Every route answers every role as the matrix says, and leaks nothing of A."""

import copy
import io
import sys

import pytest
from django.conf import settings
from django.contrib import admin
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import TestCase, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.platform.data_versions import GLOBAL
from accounts.services import api_token_create, invitation_create
from accounts.tests.data_versions import renew
from accounts.tests.two_factor import Client
from conftest import world_create
from portal.sync.identity import resolve_queue
from portal.sync.models import CustomerIdentity, SourceSystem, SyncRun
from portal.tests.records import add_orders
from tests.access import MATRIX, ROLES, SEES_A, route_names, uncovered_routes
from tests.helpers import invitation_token_from
from tickets.models import Attachment, Ticket
from tickets.services import improvement_create, ticket_create, ticket_set_status

# Every route as every role: `make test` runs it, the fast subset does not (run one route's
# row with -k when changing its view).
pytestmark = pytest.mark.slow


def client_for(client, world, role):
    if role == "anonymous":
        return client
    user = getattr(world, role.removesuffix("_viewing_as_a"))
    client.force_login(user)
    if role.endswith("_viewing_as_a"):
        response = client.post(reverse("accounts:view_as_start", args=[world.org_a.pk]))
        assert response.status_code == 302
    return client


@pytest.fixture(scope="module")
def module_world(django_db_setup, django_db_blocker):
    """The matrix's world, built once for the module in a transaction rolled back after
    its last test. Each test runs in a savepoint inside it (pytest-django's `db`), so what
    a test writes is gone before the next one, as if each had built a world of its own."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            world = matrix_world_create()
        except BaseException:
            outer.__exit__(*sys.exc_info())
            raise
    yield world
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


@pytest.fixture
def matrix_world(module_world, db):
    """The module's world for one test: a copy, so what a route makes on first use
    (tests/access.py) is made again in the next test's savepoint, never kept from a
    rolled-back one; kept page content from earlier tests can no longer match."""
    renew(GLOBAL)
    return copy.copy(module_world)


def matrix_world_create():
    world = world_create()
    mail.outbox = []
    with TestCase.captureOnCommitCallbacks(execute=True):
        invitation_create(
            organisation=world.org_a,
            email="invited@alpha.test",
            role="member",
            invited_by=world.customer_admin_a,
        )
    world.invitation_token = invitation_token_from(mail.outbox[-1])
    add_tickets_of_a(world)
    world.order_a = add_orders(world.org_a, 1)[0]
    world.invoice_a = world.order_a.invoices.get()
    world.shipment_a = world.order_a.shipments.get()
    world.api_token_a, _ = api_token_create(user=world.member_a, name="ERP import")
    # Waiting, with A as its candidate (the engine's verdict: a close name, unconfirmed).
    world.pending_identity = CustomerIdentity.objects.create(
        system="order-entry", external_id="OE-9", external_name="ALFA CLINIC"
    )
    resolve_queue()
    world.identity_of_a = CustomerIdentity.objects.create(
        system="billing", external_id="B-1", external_name="Alpha Clinic Accounts",
        status="matched", organisation=world.org_a, method="number",
    )  # fmt: skip
    # Off, so "Run now" (inline in tests) queues a run that does nothing.
    world.source = SourceSystem.objects.create(
        name="Old billing", system="old-billing", department="billing", kind="sql",
        entity="invoices", enabled=False, config={},
    )  # fmt: skip
    world.run = SyncRun.objects.create(
        source=world.source, started_at=timezone.now(), heartbeat_at=timezone.now()
    )
    # Each role signed in once for the module (two-factor and view-as included); each
    # request runs in a savepoint, so what it does to its session is undone after it.
    world.sessions = {
        role: client_for(Client(), world, role).cookies[settings.SESSION_COOKIE_NAME].value
        for role in ROLES
        if role != "anonymous"
    }
    mail.outbox = []
    return world


def signed_in(world, role) -> Client:
    """A client with the role's session of the module's world."""
    client = Client()
    if role != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    return client


def add_tickets_of_a(world):
    """A's logistics ticket with an attachment, a resolved one, and an improvement."""
    pdf = SimpleUploadedFile("label.pdf", b"%PDF-1.4 shipping label", "application/pdf")
    world.ticket_a = ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject="Parcel missing",
        category="delivery",
        priority="normal",
        body="Where is it?",
        attachments=[pdf],
    )
    world.attachment_a = Attachment.objects.get(message__ticket=world.ticket_a)
    world.duplicate_a = ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject="Parcel missing (again)",
        category="delivery",
        priority="normal",
        body="Any news?",
    )
    world.resolved_a = ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject="Wrong delivery address",
        category="delivery",
        priority="low",
        body="Please fix.",
    )
    ticket_set_status(ticket=world.resolved_a, by=world.member_a, status="resolved")
    Ticket.objects.filter(pk=world.resolved_a.pk).update(feedback_department="logistics")
    world.improvement = improvement_create(
        by=world.admin,
        department="logistics",
        title="Parcel tracing from the portal",
        ticket_ids=[world.resolved_a.pk],
    )


@pytest.mark.parametrize("route", MATRIX, ids=[r.name for r in MATRIX])
def test_route_answers_every_role_as_the_matrix_says(matrix_world, route):
    """One world per route; each role's request runs in a savepoint rolled back after it,
    so no role sees what another's request wrote (as if each had a world of its own)."""
    route.args(matrix_world), route.data(matrix_world)  # what they make lazily, made for all
    wrong = []
    for role in ROLES:
        with transaction.atomic():
            wrong += _answers(signed_in(matrix_world, role), matrix_world, route, role)
            transaction.set_rollback(True)
    assert not wrong, "\n".join(wrong)


def _answers(client, world, route, role) -> list[str]:
    """What is wrong with how the route answers this role (nothing, if it is as said)."""
    url = reverse(route.name, args=route.args(world))
    body = {"content_type": route.content_type} if route.content_type else {}
    response = getattr(client, route.method)(url, route.data(world), **body)
    said = f"{route.method.upper()} {url} as {role}"
    if response.status_code != route.expect[role]:
        return [f"{said}: {response.status_code}, the matrix says {route.expect[role]}"]
    if role == "anonymous" and route.expect[role] == 302:
        to_login = response["Location"].startswith(reverse("accounts:login"))
        if not to_login and route.name not in {"accounts:logout", "accounts:view_as_exit"}:
            return [f"{said}: sent to {response['Location']}, not the login page"]
    if route.leak_checked and role not in SEES_A:
        # Streamed downloads (CSV exports) are checked as thoroughly as pages.
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        body = _pdf_text(raw) if response.get("Content-Type") == "application/pdf" else raw.decode()
        if world.org_a.name in body or world.org_a.customer_number in body:
            return [f"{said}: shows A's name or number"]
    return []


def _pdf_text(raw: bytes) -> str:
    """A PDF's text (another organisation's statement): checked like a page."""
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(raw)).pages)


def test_every_route_is_in_the_matrix():
    assert uncovered_routes() == set()


@override_settings(ROOT_URLCONF="tests.urls_with_unlisted_route")
def test_a_new_unlisted_route_is_reported():
    assert uncovered_routes() == {"unlisted"}


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_django_admin_is_for_admins_only(client, matrix_world, role):
    client = client_for(client, matrix_world, role)
    for url in _admin_urls():
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url


def test_admin_opens_every_admin_page(client, matrix_world):
    client.force_login(matrix_world.admin)
    for url in _admin_urls():
        assert client.get(url).status_code == 200, url


def _admin_urls():
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        obj = model._default_manager.first()
        if obj is not None:
            urls.append(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
    return urls


def test_admin_routes_are_all_under_the_admin_site():
    assert {n for n in route_names() if n.startswith("admin:")}
