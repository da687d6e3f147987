"""Outbound webhooks against a real HTTP receiver on loopback (a thread with http.server).

The receiver checks nothing itself: the tests verify what it got with the
`standardwebhooks` package, as a customer's receiver would.
"""

from __future__ import annotations

import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook, WebhookVerificationError

from accounts.models import WebhookDelivery, WebhookSubscription
from accounts.platform import webhooks
from tickets.services import ticket_create, ticket_reply, ticket_set_status

ALL_TICKET_EVENTS = [
    "ticket.created",
    "ticket.replied",
    "ticket.status_changed",
    "ticket.resolved",
]


class Receiver:
    """An HTTP server on a loopback port that keeps what it is sent and answers `status`.

    `stop()` and `start()` again on the same port: a receiver that is down and comes back.
    """

    def __init__(self, status: int = 204, headers: dict | None = None):
        self.status, self.headers, self.got = status, headers or {}, []
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.got.append((dict(self.headers), body))
                self.send_response(receiver.status)
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def events(self, secret: str) -> list[dict]:
        """What it got, each verified as a receiver does (raises on a bad signature)."""
        return [Webhook(secret).verify(body, headers) for headers, body in self.got]


@pytest.fixture
def receiver():
    running = Receiver().start()
    yield running
    running.stop()


def time_passes() -> None:
    """The back-off of every waiting delivery is over."""
    WebhookDelivery.objects.filter(status="pending").update(next_attempt_at=timezone.now())


def subscribe(world, url, events=ALL_TICKET_EVENTS, owner=None, organisation="a"):
    owner = owner or world.customer_admin_a
    organisation = world.org_a if organisation == "a" else organisation
    return webhooks.subscription_create(
        owner=owner, organisation=organisation, url=url, events=events
    )


def open_ticket(world, org=None, requester=None):
    return ticket_create(
        organisation=org or world.org_a,
        requester=requester or world.member_a,
        subject="Broken seal",
        category="product",
        priority="normal",
        body="Lot 42.",
    )


# --- Delivery, signed -----------------------------------------------------------------------


def test_ticket_events_reach_the_receiver_signed_as_standard_webhooks_says(
    world, receiver, django_capture_on_commit_callbacks
):
    subscription = subscribe(world, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(world)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket=ticket, author=world.am_a, body="Replacement sent.")
        ticket_reply(ticket=ticket, author=world.am_a, body="Customer upset.", internal=True)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_set_status(ticket=ticket, by=world.member_a, status="resolved")

    events = receiver.events(subscription.secret)
    assert [e["type"] for e in events] == [
        "ticket.created",
        "ticket.replied",
        "ticket.status_changed",  # the staff reply opened it (new -> open)
        "ticket.status_changed",
        "ticket.resolved",
    ]
    assert {e["data"]["ticket"]["id"] for e in events} == {ticket.pk}
    assert events[1]["data"]["message"]["body"] == "Replacement sent."
    assert "Customer upset." not in json.dumps(events)  # internal notes never leave
    headers = receiver.got[0][0]
    assert headers["webhook-id"].startswith("msg_")
    assert headers["webhook-signature"].startswith("v1,")
    assert abs(int(headers["webhook-timestamp"]) - timezone.now().timestamp()) < 60
    assert WebhookDelivery.objects.filter(status="succeeded").count() == 5


def test_a_tampered_body_or_another_secret_does_not_verify(
    world, receiver, django_capture_on_commit_callbacks
):
    subscription = subscribe(world, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket(world)
    headers, body = receiver.got[0]
    Webhook(subscription.secret).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(subscription.secret).verify(body.replace(b"Broken", b"Intact"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.secret_new()).verify(body, headers)


def test_a_rotated_secret_signs_alongside_the_old_one_for_a_day(
    world, receiver, django_capture_on_commit_callbacks
):
    subscription = subscribe(world, receiver.url)
    old = subscription.secret
    webhooks.subscription_rotate(subscription=subscription)
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket(world)
    headers, body = receiver.got[0]
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(body, headers)
    Webhook(subscription.secret).verify(body, headers)
    # A day later only the new secret signs.
    later = timezone.now() + timedelta(days=1, minutes=1)
    signed = webhooks.signature_headers(subscription, "msg_x", "{}", later)
    assert len(signed["webhook-signature"].split(" ")) == 1


# --- Whose events ---------------------------------------------------------------------------


def test_a_customer_subscription_never_gets_another_organisations_events(
    world, receiver, django_capture_on_commit_callbacks
):
    mine = subscribe(world, receiver.url)
    everyone = Receiver().start()
    try:
        admins = subscribe(world, everyone.url, owner=world.admin, organisation=None)
        with django_capture_on_commit_callbacks(execute=True):
            open_ticket(world, org=world.org_b, requester=world.member_b)
            open_ticket(world)
        assert [e["data"]["organisation"] for e in receiver.events(mine.secret)] == [world.org_a.pk]
        assert sorted(e["data"]["organisation"] for e in everyone.events(admins.secret)) == sorted(
            [world.org_a.pk, world.org_b.pk]
        )
    finally:
        everyone.stop()


def test_only_admins_subscribe_to_every_organisation_and_customers_to_their_own(world):
    with pytest.raises(PermissionDenied):
        subscribe(world, "http://127.0.0.1:9/", owner=world.customer_admin_a, organisation=None)
    with pytest.raises(PermissionDenied):
        subscribe(world, "http://127.0.0.1:9/", owner=world.customer_admin_b)
    with pytest.raises(ValidationError):
        subscribe(world, "http://127.0.0.1:9/", events=["ticket.deleted"])


def test_an_owner_who_lost_access_gets_nothing_more(
    world, receiver, django_capture_on_commit_callbacks
):
    subscribe(world, receiver.url)
    world.customer_admin_a.memberships.update(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket(world)
    assert receiver.got == []
    assert not WebhookDelivery.objects.exists()


# --- At least once ----------------------------------------------------------------------------


@override_settings(WEBHOOK_RETRY_BASE_SECONDS=30)
def test_a_receiver_that_is_down_gets_the_event_once_it_is_back(
    world, django_capture_on_commit_callbacks
):
    receiver = Receiver()  # not started: nothing listens on its port
    subscription = subscribe(world, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket(world)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "ConnectError" in delivery.last_error
    first_wait = delivery.next_attempt_at - delivery.last_attempt_at
    assert first_wait == timedelta(seconds=30)

    # Still down at the next attempt: the wait doubles.
    time_passes()
    webhooks.deliveries_due()
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert delivery.next_attempt_at - delivery.last_attempt_at == timedelta(seconds=60)
    assert webhooks.deliveries_due() == {"due": 0}  # not due yet

    receiver.start()
    try:
        time_passes()
        webhooks.deliveries_due()
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("succeeded", 3)
        (event,) = receiver.events(subscription.secret)
        assert event["type"] == "ticket.created"
        assert receiver.got[0][0]["webhook-id"] == delivery.message_id
    finally:
        receiver.stop()
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0


@override_settings(WEBHOOK_DISABLE_AFTER_FAILURES=3, WEBHOOK_MAX_ATTEMPTS=2)
def test_repeated_failures_turn_the_subscription_off_and_tell_its_owner(
    world, django_capture_on_commit_callbacks, mailoutbox
):
    failing = Receiver(status=500).start()
    try:
        subscription = subscribe(world, failing.url)
        with django_capture_on_commit_callbacks(execute=True):
            open_ticket(world)
            open_ticket(world)
        time_passes()
        with django_capture_on_commit_callbacks(execute=True):
            webhooks.deliveries_due()
    finally:
        failing.stop()
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert "3 failed deliveries in a row" in subscription.disabled_reason
    assert len(failing.got) == 3  # the fourth attempt was not made: it is off
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"failed"}
    (mail,) = [m for m in mailoutbox if "webhook" in m.subject]
    assert mail.to == [world.customer_admin_a.email]
    assert failing.url in mail.body
    assert reverse("accounts:webhooks") in mail.body


def test_a_redirect_is_not_followed(world, receiver, django_capture_on_commit_callbacks):
    redirecting = Receiver(status=307, headers={"Location": receiver.url}).start()
    try:
        subscribe(world, redirecting.url)
        with django_capture_on_commit_callbacks(execute=True):
            open_ticket(world)
    finally:
        redirecting.stop()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == ("pending", 307)
    assert "redirect" in delivery.last_error
    assert receiver.got == []


def test_an_admin_replays_a_logged_delivery_with_the_same_id(
    client, world, receiver, django_capture_on_commit_callbacks
):
    subscription = subscribe(world, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket(world)
    delivery = WebhookDelivery.objects.get()
    client.force_login(world.admin)
    changelist = reverse("admin:accounts_webhookdelivery_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(changelist, {"action": "replay", "_selected_action": [delivery.pk]})
    assert response.status_code == 302
    first, second = receiver.events(subscription.secret)
    assert first == second
    assert receiver.got[0][0]["webhook-id"] == receiver.got[1][0]["webhook-id"]


# --- Internal addresses -----------------------------------------------------------------------

INTERNAL = [
    "http://127.0.0.1/",
    "http://localhost:8000/",
    "http://2130706433/",  # 127.0.0.1 as one number
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "ftp://example.com/",
    "http://user:pass@example.com/",
]


@override_settings(WEBHOOK_ALLOWED_NETWORKS=[])
@pytest.mark.parametrize("url", INTERNAL)
def test_internal_addresses_are_refused(world, url):
    with pytest.raises(ValidationError) as refused:
        subscribe(world, url)
    assert "url" in refused.value.message_dict
    assert not WebhookSubscription.objects.exists()


@override_settings(WEBHOOK_ALLOWED_NETWORKS=[])
@given(
    address=st.one_of(
        st.ip_addresses(network="127.0.0.0/8"),
        st.ip_addresses(network="10.0.0.0/8"),
        st.ip_addresses(network="172.16.0.0/12"),
        st.ip_addresses(network="192.168.0.0/16"),
        st.ip_addresses(network="169.254.0.0/16"),
        st.ip_addresses(network="100.64.0.0/10"),
        st.ip_addresses(network="224.0.0.0/4"),
        st.ip_addresses(network="240.0.0.0/4"),
        st.ip_addresses(network="fc00::/7"),
        st.ip_addresses(network="fe80::/10"),
        st.ip_addresses(network="ff00::/8"),
        st.ip_addresses(network="::1/128"),
        st.ip_addresses(network="::ffff:0:0/96").filter(lambda ip: not ip.ipv4_mapped.is_global),
    )
)
def test_no_internal_address_is_allowed(address):
    assert not webhooks.address_allowed(str(address))


def test_a_public_address_is_allowed_and_the_allow_list_lets_loopback_through():
    assert webhooks.address_allowed("93.184.216.34")
    assert webhooks.address_allowed("2606:2800:220:1:248:1893:25c8:1946")
    with override_settings(WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8"]):
        assert webhooks.address_allowed("127.0.0.1")
    with override_settings(WEBHOOK_ALLOWED_NETWORKS=[]):
        assert not webhooks.address_allowed("127.0.0.1")


def test_an_address_refused_at_send_time_is_never_contacted(
    world, receiver, django_capture_on_commit_callbacks
):
    """A subscription made while its address was allowed (or a host that now resolves
    elsewhere) is checked again on every attempt."""
    subscribe(world, receiver.url)
    refusing = override_settings(WEBHOOK_ALLOWED_NETWORKS=[])
    with refusing, django_capture_on_commit_callbacks(execute=True):
        open_ticket(world)
    assert receiver.got == []
    assert "internal address" in WebhookDelivery.objects.get().last_error


# --- The page -----------------------------------------------------------------------------------


def test_a_customer_admin_adds_a_webhook_sees_its_secret_once_and_its_log(
    client, world, receiver, django_capture_on_commit_callbacks
):
    client.force_login(world.customer_admin_a)
    response = client.post(
        reverse("accounts:webhooks"), {"url": receiver.url, "events": ["ticket.created"]}
    )
    subscription = WebhookSubscription.objects.get()
    assert response["Location"] == reverse("accounts:webhook", args=[subscription.pk])
    assert (subscription.organisation, subscription.owner) == (world.org_a, world.customer_admin_a)
    page = client.get(response["Location"]).content.decode()
    assert subscription.secret in page
    assert subscription.secret not in client.get(response["Location"]).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket(world)
    log = client.get(response["Location"]).content.decode()
    assert WebhookDelivery.objects.get().message_id in log
    old = subscription.secret
    client.post(reverse("accounts:webhook_rotate", args=[subscription.pk]))
    subscription.refresh_from_db()
    assert subscription.secret != old
    assert subscription.previous_secret == old


@override_settings(WEBHOOK_ALLOWED_NETWORKS=[])
def test_the_page_refuses_an_internal_address_with_a_reason(client, world):
    client.force_login(world.customer_admin_a)
    response = client.post(
        reverse("accounts:webhooks"),
        {"url": "http://169.254.169.254/", "events": ["ticket.created"]},
    )
    assert response.status_code == 400
    assert "internal address" in response.content.decode()
    assert not WebhookSubscription.objects.exists()


def test_a_member_cannot_manage_webhooks_and_another_organisations_is_not_found(client, world):
    theirs = subscribe(
        world, "http://127.0.0.1:9/", owner=world.customer_admin_b, organisation=world.org_b
    )
    client.force_login(world.member_a)
    assert client.get(reverse("accounts:webhooks")).status_code == 403
    client.force_login(world.customer_admin_a)
    assert client.get(reverse("accounts:webhook", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("accounts:webhook_delete", args=[theirs.pk])).status_code == 404
    assert WebhookSubscription.objects.filter(pk=theirs.pk).exists()


# --- Records from the sync ------------------------------------------------------------------


def test_a_sync_batch_sends_order_created_then_changed_events(
    world, receiver, legacy, order_source, django_capture_on_commit_callbacks
):
    from portal.sync import identity
    from portal.sync.models import CustomerIdentity
    from portal.sync.tests.legacy import sync

    legacy.put(1, cust="OE-77")
    sync(order_source)  # a customer nobody matched yet: its orders are nobody's news
    identity.identity_match(
        identity=CustomerIdentity.objects.get(external_id="OE-77"),
        organisation=world.org_a,
        by=world.am_a,
    )
    subscription = subscribe(world, receiver.url, events=["order.created", "order.changed"])
    others = subscribe(
        world, receiver.url, events=["order.created"], owner=world.customer_admin_b,
        organisation=world.org_b,
    )  # fmt: skip
    legacy.put(2, cust="OE-77")
    with django_capture_on_commit_callbacks(execute=True):
        sync(order_source)
    legacy.put(2, cust="OE-77", total="99.00", at=legacy_later())
    with django_capture_on_commit_callbacks(execute=True):
        sync(order_source)

    events = receiver.events(subscription.secret)
    assert [(e["type"], e["data"]["order"]["external_id"]) for e in events] == [
        ("order.created", "2"),
        ("order.changed", "2"),
    ]
    assert {e["data"]["organisation"] for e in events} == {world.org_a.pk}
    assert events[0]["data"]["order"]["url"].startswith("/api/v1/orders/")
    assert not WebhookDelivery.objects.filter(subscription=others).exists()


def legacy_later():
    from portal.sync.tests.legacy import T0

    return T0 + timedelta(minutes=5)


@pytest.fixture
def legacy(tmp_path, monkeypatch):
    from portal.sync.tests.legacy import LegacyOrders

    db = LegacyOrders(tmp_path / "orders.sqlite3")
    monkeypatch.setenv("TEST_ORDERS_DSN", f"sqlite:///{db.path}")
    return db


@pytest.fixture
def order_source(db):
    from portal.sync.models import SourceSystem
    from portal.sync.tests.legacy import order_fields

    return SourceSystem.objects.create(
        name="Order entry", system="order-entry", department="sales", kind="sql",
        entity="orders",
        config={"dsn_env": "TEST_ORDERS_DSN", "table": "orders", "cursor_column": "updated_at",
                "key_column": "id", "batch_size": 3, "fields": order_fields()},
    )  # fmt: skip


# --- Through a real worker --------------------------------------------------------------------


@pytest.mark.slow
def test_a_real_worker_delivers_once_the_receiver_is_back(world, celery_worker_process):
    """Through Redis and a `celery worker` process: the first attempt fails (nothing
    listens), the beat's sweep sends the task again once it is due, the worker delivers."""
    import time

    receiver = Receiver()
    subscription = subscribe(world, receiver.url)
    open_ticket(world)  # committed at once here (transactional test): the task goes out

    def wait_for(condition, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.2)
        return False

    assert wait_for(lambda: WebhookDelivery.objects.filter(attempts=1).exists())
    assert WebhookDelivery.objects.get().status == "pending"
    receiver.start()
    try:
        time_passes()
        assert webhooks.deliveries_due() == {"due": 1}
        assert wait_for(lambda: receiver.got)
    finally:
        receiver.stop()
    assert wait_for(lambda: WebhookDelivery.objects.get().status == "succeeded")
    (event,) = receiver.events(subscription.secret)
    assert event["type"] == "ticket.created"


def test_the_webhook_page_makes_the_same_queries_however_long_its_log(
    client, world, django_assert_max_num_queries
):
    subscription = subscribe(world, "http://127.0.0.1:9/hook")
    client.force_login(world.customer_admin_a)
    url = reverse("accounts:webhook", args=[subscription.pk])

    def queries_with(deliveries: int) -> int:
        webhooks.events_emit(
            [("ticket.created", world.org_a.pk, {"n": n}) for n in range(deliveries)]
        )
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    few = queries_with(2)
    assert queries_with(40) == few
    with django_assert_max_num_queries(few):
        client.get(reverse("accounts:webhooks"))


# --- Identity decisions ----------------------------------------------------------------------


def test_a_match_by_a_person_sends_identity_matched_to_that_organisation_only(
    world, receiver, django_capture_on_commit_callbacks
):
    from portal.sync.identity import identity_match
    from portal.sync.models import CustomerIdentity

    mine = subscribe(world, receiver.url, events=["identity.matched"])
    others = subscribe(
        world,
        receiver.url,
        events=["identity.matched"],
        owner=world.customer_admin_b,
        organisation=world.org_b,
    )
    identity = CustomerIdentity.objects.create(
        system="order-entry", external_id="OE-9", external_name="ALFA CLINIC"
    )
    with django_capture_on_commit_callbacks(execute=True):
        identity_match(identity=identity, organisation=world.org_a, by=world.admin)
    (event,) = receiver.events(mine.secret)
    assert event["type"] == "identity.matched"
    assert event["data"]["organisation"] == world.org_a.pk
    assert event["data"]["identity"]["external_id"] == "OE-9"
    assert event["data"]["records"] == 0
    assert not WebhookDelivery.objects.filter(subscription=others).exists()
    with django_capture_on_commit_callbacks(execute=True):  # undoing it sends nothing
        identity_match(identity=identity, organisation=None, by=world.admin)
    assert WebhookDelivery.objects.count() == 1
