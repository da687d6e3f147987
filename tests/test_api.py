"""The REST API: tokens, the policy, filters, cursor pages, errors, limits, query counts.

Who may call which endpoint is in the access matrix (tests/access.py); these
tests cover what the answers contain.
"""

import itertools
import json
import socket
import threading

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Prefetch
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.renderers import JSONRenderer

from accounts.choices import AuditAction
from accounts.models import ApiToken, AuditEvent
from accounts.services import api_token_create
from accounts.tests.factories import PASSWORD
from config.api import UserRateThrottle
from conftest import world_create
from portal.records.models import Order, OrderLine, Shipment
from portal.records.selectors import order_list, order_rows
from portal.records.serializers import OrderSerializer
from portal.tests.records import add_orders
from tickets.models import Message, Ticket
from tickets.services import ticket_create, ticket_reply, ticket_set_status


def bearer(user, name="test") -> Client:
    _, token = api_token_create(user=user, name=name)
    return Client(headers={"Authorization": f"Bearer {token}"})


def api(name, *args, **query):
    url = reverse(f"api:{name}", args=args)
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def open_ticket(world, org=None, requester=None, subject="Parcel missing"):
    return ticket_create(
        organisation=org or world.org_a,
        requester=requester or world.member_a,
        subject=subject,
        category="delivery",
        priority="normal",
        body="Where is it?",
    )


# --- Tokens --------------------------------------------------------------------------------------


def test_a_token_is_shown_once_and_only_its_hash_is_kept(client, world):
    client.force_login(world.member_a)
    response = client.post(
        reverse("accounts:api_tokens"), {"name": "ERP import", "password": PASSWORD}, follow=True
    )
    assert response.status_code == 200
    token = response.context["new_token"]
    assert token.startswith("cp_")
    stored = ApiToken.objects.get(user=world.member_a)
    assert token not in {stored.token_hash, stored.prefix}
    assert stored.prefix == token[:8]
    # Reloading the page never shows it again.
    assert token not in client.get(reverse("accounts:api_tokens")).content.decode()

    answer = Client(headers={"Authorization": f"Bearer {token}"}).get(api("order-list"))
    assert answer.status_code == 200
    stored.refresh_from_db()
    assert stored.last_used_at is not None


def test_creating_a_token_needs_the_current_password(client, world):
    client.force_login(world.member_a)
    response = client.post(reverse("accounts:api_tokens"), {"name": "ERP", "password": "wrong"})
    assert response.status_code == 400
    assert "not your current password" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_revoked_token_stops_working_at_once(client, world):
    api_token, token = api_token_create(user=world.member_a, name="ERP")
    caller = Client(headers={"Authorization": f"Bearer {token}"})
    assert caller.get(api("order-list")).status_code == 200

    client.force_login(world.member_a)
    client.post(reverse("accounts:api_token_revoke", args=[api_token.pk]))

    response = caller.get(api("order-list"))
    assert response.status_code == 401
    assert response.json()["type"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_deactivated_persons_token_stops_working(world):
    caller = bearer(world.member_a)
    world.member_a.is_active = False
    world.member_a.save()
    assert caller.get(api("order-list")).status_code == 401


def test_nobody_revokes_someone_elses_token(client, world):
    api_token, _ = api_token_create(user=world.member_a, name="ERP")
    client.force_login(world.customer_admin_a)
    response = client.post(reverse("accounts:api_token_revoke", args=[api_token.pk]))
    assert response.status_code == 404
    api_token.refresh_from_db()
    assert api_token.is_active


def test_a_session_post_needs_the_csrf_token(world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.member_a)
    ticket = open_ticket(world)
    response = browser.post(api("ticket-messages", ticket.pk), {"body": "Hello"})
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


# --- The policy and the data ---------------------------------------------------------------------


def test_lists_hold_only_visible_organisations_records(world):
    add_orders(world.org_a, 2)
    add_orders(world.org_b, 3)
    numbers = {o["number"] for o in bearer(world.member_b).get(api("order-list")).json()["results"]}
    assert len(numbers) == 3
    assert all(n.startswith(f"SO-{world.org_b.pk}-") for n in numbers)


def test_an_order_comes_with_its_live_lines(world):
    order = add_orders(world.org_a, 1)[0]
    order.lines.filter(product_code="IBU-200").update(deleted_at=order.ordered_at)
    body = bearer(world.member_a).get(api("order-detail", order.pk)).json()
    assert [line["product_code"] for line in body["lines"]] == ["AMX-500"]
    assert body["shipment_status"] == "delivered"
    assert body["source"] == "Order entry"


def test_orders_rendered_by_postgresql_read_exactly_as_the_serializer_documents(world):
    first, second, third = add_orders(world.org_a, 3)
    Order.objects.filter(pk=first.pk).update(total=None)  # a nullable field too
    Shipment.objects.filter(order=second).delete()  # not shipped yet: null
    OrderLine.objects.filter(order=third).delete()  # no lines: []
    # Text that JSON has to escape.
    first.lines.update(product_name='Gaze "sterile" 10\\20 cm\n\tñ ✓ \u2028', lot="</script>")
    # Fractions with trailing and leading zeros (DRF writes six digits, PostgreSQL's JSON fewer).
    for order, microsecond in ((second, 120000), (third, 5)):
        at = order.ordered_at.replace(microsecond=microsecond)
        Order.objects.filter(pk=order.pk).update(ordered_at=at, synced_at=at)
    live_lines = OrderLine.objects.filter(deleted_at__isnull=True).order_by("pk")
    orders = order_rows(order_list(user=world.member_a)).select_related("source")
    orders = orders.prefetch_related(Prefetch("lines", queryset=live_lines))
    expected = json.loads(JSONRenderer().render(OrderSerializer(orders, many=True).data))

    caller = bearer(world.member_a)
    assert caller.get(api("order-list")).json()["results"] == expected
    for document in expected:
        assert caller.get(api("order-detail", document["id"])).json() == document


def test_another_organisations_object_is_not_found_with_one_error_shape(world):
    order = add_orders(world.org_a, 1)[0]
    response = bearer(world.member_b).get(api("order-detail", order.pk))
    assert response.status_code == 404
    assert response.json() == {"type": "not_found", "detail": "Not found.", "errors": {}}


def test_an_unknown_api_path_answers_the_json_404_and_pages_keep_the_html_one(client, world):
    response = bearer(world.member_a).get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"type": "not_found", "detail": "Not found.", "errors": {}}
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")


def test_filters_and_cursor_pages_walk_a_list_without_gaps_or_repeats(world):
    add_orders(world.org_a, 7)
    add_orders(world.org_b, 2)
    caller = bearer(world.admin)
    url, seen = api("order-list", organisation=world.org_a.pk, page_size=3), []
    while url:
        page = caller.get(url).json()
        seen += [o["number"] for o in page["results"]]
        url = page["next"]
    assert len(seen) == 7 == len(set(seen))
    assert seen == sorted(seen, key=lambda n: int(n.rsplit("-", 1)[1]), reverse=True)

    # Orders 0 to 2 of A are still on their way: order entry's word is what they show.
    on_the_way = [f"SO-{world.org_a.pk}-{i}" for i in range(3)]
    Shipment.objects.filter(order__number__in=on_the_way).update(delivered_at=None)
    shipped = caller.get(api("order-list", organisation=world.org_a.pk, status="shipped")).json()
    assert [o["number"] for o in shipped["results"]] == [f"SO-{world.org_a.pk}-1"]
    delivered = caller.get(api("order-list", organisation=world.org_a.pk, status="delivered"))
    assert len(delivered.json()["results"]) == 4
    by_number = caller.get(api("order-list", ordering="number", organisation=world.org_b.pk))
    assert [o["number"] for o in by_number.json()["results"]] == [
        f"SO-{world.org_b.pk}-0",
        f"SO-{world.org_b.pk}-1",
    ]


def test_a_filter_on_another_organisation_is_a_clear_400_not_a_leak(world):
    add_orders(world.org_a, 1)
    response = bearer(world.member_b).get(api("order-list", organisation=world.org_a.pk))
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "invalid"
    assert "organisation" in body["errors"]
    assert world.org_a.name not in response.content.decode()


def test_invoice_state_filter(world):
    add_orders(world.org_a, 6)  # every third invoice is paid
    caller = bearer(world.member_a)
    paid = caller.get(api("invoice-list", state="paid")).json()["results"]
    assert {i["state"] for i in paid} == {"paid"}
    assert len(paid) == 2
    assert caller.get(api("invoice-list", state="lost")).status_code == 400


# --- Tickets -------------------------------------------------------------------------------------


def test_a_customer_opens_replies_to_resolves_and_rates_a_ticket(world):
    caller = bearer(world.member_a)
    created = caller.post(
        api("ticket-list"),
        {
            "organisation": world.org_a.pk,
            "subject": "Broken seal",
            "category": "product",
            "priority": "high",
            "body": "Lot 42 arrived with a broken seal.",
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    ticket = created.json()
    assert ticket["department"] == "product"
    assert ticket["first_response_due_at"] is not None  # the tier's SLA clock started
    assert ticket["sla_state"] == "on_track"

    reply = caller.post(api("ticket-messages", ticket["id"]), {"body": "Photos attached soon."})
    assert reply.status_code == 201
    assert caller.post(api("ticket-resolve", ticket["id"])).json()["status"] == "resolved"
    rating = {"csat": 4, "effort": 5}
    rated = caller.post(api("ticket-rating", ticket["id"]), rating, content_type="application/json")
    assert rated.status_code == 200
    assert Ticket.objects.get(pk=ticket["id"]).rating.csat == 4


def test_changes_made_with_a_token_are_attributed_to_its_holder(world):
    created = bearer(world.member_a).post(
        api("ticket-list"),
        {"organisation": world.org_a.pk, "subject": "Late", "category": "delivery",
         "priority": "normal", "body": "Still waiting."},
        content_type="application/json",
    )  # fmt: skip
    assert created.status_code == 201
    event = AuditEvent.objects.get(
        action=AuditAction.RECORD_CREATED, detail__model="tickets.ticket"
    )
    assert event.actor == world.member_a
    assert event.ip_address == "127.0.0.1"


def test_a_bad_ticket_says_which_fields_are_wrong_and_writes_nothing(world):
    response = bearer(world.member_a).post(
        api("ticket-list"),
        {"organisation": world.org_a.pk, "category": "cheese", "body": ""},
        content_type="application/json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"subject", "category", "body"}
    assert not Ticket.objects.exists()


def test_internal_notes_are_for_staff_only(world):
    ticket = open_ticket(world)
    ticket_reply(ticket=ticket, author=world.am_a, body="Customer is upset.", internal=True)
    customer, am = bearer(world.member_a), bearer(world.am_a)

    assert [m["body"] for m in customer.get(api("ticket-messages", ticket.pk)).json()] == [
        "Where is it?"
    ]
    assert "Customer is upset." in {
        m["body"] for m in am.get(api("ticket-messages", ticket.pk)).json()
    }

    sneaky = customer.post(api("ticket-messages", ticket.pk), {"body": "x", "internal": True})
    assert sneaky.status_code == 403
    assert sneaky.json()["type"] == "permission_denied"
    assert not Message.objects.filter(body="x").exists()


def test_a_closed_ticket_refuses_replies_with_a_reason(world):
    ticket = open_ticket(world)
    ticket_set_status(ticket=ticket, by=world.am_a, status="closed")
    response = bearer(world.member_a).post(api("ticket-messages", ticket.pk), {"body": "Hi"})
    assert response.status_code == 400
    assert "closed" in response.json()["errors"]["non_field_errors"][0]


def test_the_agent_sees_the_department_queue(world):
    billing = ticket_create(
        organisation=world.org_b,
        requester=world.member_b,
        subject="Invoice twice",
        category="billing",
        priority="normal",
        body="Charged twice.",
    )
    open_ticket(world)  # logistics: not the billing agent's
    listed = bearer(world.agent).get(api("ticket-list")).json()["results"]
    assert [t["id"] for t in listed] == [billing.pk]


def test_managed_accounts_are_the_staff_members_own(world):
    listed = bearer(world.am_a).get(api("managed-account-list")).json()["results"]
    assert [a["name"] for a in listed] == ["Alpha Clinic"]
    assert listed[0]["tier_name"] == world.tier.name


def test_the_organisation_tier_team_and_timeline(world):
    caller = bearer(world.member_a)
    tier = caller.get(api("organisation-tier", world.org_a.pk)).json()
    assert tier["tier"]["name"] == world.tier.name
    assert {t["priority"] for t in tier["tier"]["sla_targets"]} >= {"normal"}
    team = caller.get(api("organisation-team", world.org_a.pk)).json()
    assert [(m["role"], m["name"]) for m in team] == [("primary_am", "Anna Manager")]

    add_orders(world.org_a, 2)
    timeline = caller.get(api("organisation-timeline", world.org_a.pk, kind="order", limit=1))
    assert [e["kind"] for e in timeline.json()] == ["order"]
    bad = caller.get(api("organisation-timeline", world.org_a.pk, limit=0))
    assert bad.status_code == 400
    assert "limit" in bad.json()["errors"]


# --- Limits --------------------------------------------------------------------------------------


@override_settings(API_RATE_USER="3/minute")
def test_each_user_has_a_rate_limit(world):
    cache.clear()
    caller, other = bearer(world.member_a), bearer(world.member_b)
    statuses = [caller.get(api("order-list")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = caller.get(api("order-list"))
    assert limited.json()["type"] == "throttled"
    assert int(limited["Retry-After"]) > 0
    assert other.get(api("order-list")).status_code == 200  # per user, not global


@override_settings(
    API_RATE_USER="3/minute",
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
)
def test_the_rate_limit_counts_in_the_embedded_default_without_redis(world):
    cache.clear()  # the local-memory cache outlives each test's settings
    caller = bearer(world.member_a)
    assert [caller.get(api("order-list")).status_code for _ in range(4)] == [200, 200, 200, 429]


@override_settings(
    API_RATE_USER="3/minute",
    CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}},
)
def test_the_api_answers_with_a_cache_that_keeps_nothing(world):
    caller = bearer(world.member_a)  # unthrottled: there is nowhere to count
    assert [caller.get(api("order-list")).status_code for _ in range(4)] == [200] * 4


def test_the_api_answers_while_the_cache_behind_the_rate_limit_is_down(world):
    nowhere = {"BACKEND": "django.core.cache.backends.redis.RedisCache"}
    nowhere["LOCATION"] = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    caller = bearer(world.member_a)
    with override_settings(CACHES={"default": nowhere}):
        assert caller.get(api("order-list")).status_code == 200


def test_the_rate_limit_gives_up_when_the_cache_behind_it_hangs(world):
    request = RequestFactory().get(api("order-list"))
    request.user = world.member_a
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        hanging = {"BACKEND": "django.core.cache.backends.redis.RedisCache"}
        hanging["LOCATION"] = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        allowed = []
        with override_settings(CACHES={"default": hanging}):
            # In a thread: without the client's timeout this would wait for ever.
            throttle = UserRateThrottle()

            def check():
                allowed.append(throttle.allow_request(request, None))

            call = threading.Thread(target=check, daemon=True)
            call.start()
            call.join(timeout=10)
    assert allowed == [True]  # answered, unthrottled, like when Redis is down


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- Query counts: flat in page size and data ----------------------------------------------------

# Token lookup (user included), visible organisation ids (not for admins, who see all),
# the page (orders with their lines as one statement); filter validation when filtered.
# On SQLite, DRF renders the orders from their rows: the lines are one query more.
LIST_QUERY_BUDGETS = {
    "order-list": 3 if connection.vendor == "postgresql" else 4,
    "shipment-list": 3,
    "invoice-list": 3,
    "ticket-list": 3,
    "organisation-list": 3,
    "managed-account-list": 3,
}


SIZES = [2, 12]
ROLES = ["admin", "am_a", "member_a"]


@pytest.fixture(scope="module")
def list_queries(django_db_setup, django_db_blocker) -> dict:
    """(status, queries, results) of each list endpoint for each role at each size (orders
    and tickets of A), measured on one world built for the module and rolled back after:
    each size is built once, on top of the one before, for all endpoints and roles."""
    measured = {}
    with django_db_blocker.unblock(), transaction.atomic():
        world = world_create()
        built = 0
        for size in SIZES:
            add_orders(world.org_a, size - built, start=built)
            for i in range(built, size):
                open_ticket(world, subject=f"Ticket {i}")
            built = size
            for name, role in itertools.product(LIST_QUERY_BUDGETS, ROLES):
                caller = bearer(getattr(world, role))
                caller.get(api(name))  # the token's first use also records when it was last used
                with CaptureQueriesContext(connection) as queries:
                    response = caller.get(api(name, page_size=size))
                results = response.json().get("results") if response.status_code == 200 else None
                measured[name, size, role] = (response.status_code, len(queries), results)
        transaction.set_rollback(True)
    return measured


@pytest.mark.django_db  # run with the database tests, before those that migrate apps back
@pytest.mark.parametrize("name", LIST_QUERY_BUDGETS)
@pytest.mark.parametrize("orders", SIZES)
@pytest.mark.parametrize("role", ROLES)
def test_list_endpoints_make_the_same_queries_whatever_the_size(list_queries, name, orders, role):
    if name == "managed-account-list" and role == "member_a":
        pytest.skip("staff only (the access matrix has the 403)")
    status, queries, results = list_queries[name, orders, role]
    assert status == 200
    assert queries <= LIST_QUERY_BUDGETS[name], f"{queries} queries"
    assert results


def test_every_operation_in_the_schema_has_its_description():
    """A viewset's docstring is its operations' description: placed after an assignment
    it is no docstring at all, and the schema (and Swagger UI) lose it."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    missing = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if not operation.get("description", "").strip()
    ]
    assert missing == []


# --- One truth per field: the order status -------------------------------------------------------


def _scatter_deliveries(world, rng):
    """A's orders with every kind of delivery state: none, some or all arrived, held, deleted."""
    orders = add_orders(world.org_a, 12)
    for order in orders:
        shipment = order.shipments.get()
        kind = rng.choice(["arrived", "on its way", "none", "held", "deleted", "two"])
        if kind == "on its way":
            shipment.delivered_at = None
        elif kind == "none":
            shipment.order = None
        elif kind == "held":
            shipment.held, shipment.delivered_at = True, None
        elif kind == "deleted":
            shipment.deleted_at, shipment.delivered_at = shipment.shipped_at, None
        elif kind == "two":  # a second parcel, still on its way
            Shipment.objects.create(
                source=shipment.source, external_id=f"{shipment.external_id}-2",
                organisation=world.org_a, order=order, order_id_external="x",
                content_hash="x", synced_at=shipment.synced_at, carrier="DHL",
                status="in transit", shipped_at=shipment.shipped_at,
            )  # fmt: skip
        shipment.save()
    return orders


@pytest.mark.parametrize("seed", range(3))
def test_the_order_status_shown_exported_filtered_and_served_is_one(client, world, seed):
    import csv
    import random

    _scatter_deliveries(world, random.Random(seed))
    client.force_login(world.member_a)
    page = client.get(reverse("portal:orders"), {"sort": "number"}).context["page"]
    shown = {order.number: order.status_shown for order in page}
    assert len(shown) == 12
    export = b"".join(client.get(reverse("portal:orders_csv")).streaming_content).decode()
    rows = list(csv.DictReader(export.lstrip("\ufeff").splitlines()))
    assert {row["Order number"]: row["Status"] for row in rows} == shown
    caller = bearer(world.member_a)
    served = caller.get(api("order-list", page_size=50)).json()["results"]
    assert {o["number"]: o["status"] for o in served} == shown
    for number, status in shown.items():
        pk = Order.objects.get(number=number).pk
        assert caller.get(api("order-detail", pk)).json()["status"] == status
    for status in set(shown.values()):
        expected = {number for number, s in shown.items() if s == status}
        filtered = caller.get(api("order-list", status=status, page_size=50)).json()["results"]
        assert {o["number"] for o in filtered} == expected
        listed = client.get(reverse("portal:orders"), {"status": status}).context["page"]
        assert {o.number for o in listed} == expected
        detail = client.get(reverse("portal:order", args=[Order.objects.get(number=number).pk]))
        assert detail.status_code == 200


def test_an_order_the_screens_show_delivered_is_delivered_everywhere(client, world):
    """The issue's case: order entry says shipped, every parcel arrived."""
    order = add_orders(world.org_a, 2)[1]
    assert order.status == "shipped"
    caller = bearer(world.member_a)
    assert caller.get(api("order-detail", order.pk)).json()["status"] == "delivered"
    delivered = caller.get(api("order-list", status="delivered")).json()["results"]
    assert order.number in {o["number"] for o in delivered}
    client.force_login(world.member_a)
    export = b"".join(client.get(reverse("portal:orders_csv")).streaming_content).decode()
    assert f"{order.number}," in export
    assert "shipped" not in export


# --- Bad filter values and orderings -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "query", "parameter", "named"),
    [
        ("order-list", {"status": "teleported"}, "status", ["delivered", "open", "shipped"]),
        ("order-list", {"ordering": "total"}, "ordering", ["ordered_at", "-number"]),
        ("shipment-list", {"status": "lost"}, "status", ["delivered"]),
        ("shipment-list", {"ordering": "-carrier"}, "ordering", ["shipped_at"]),
        ("invoice-list", {"state": "due"}, "state", ["open", "overdue", "paid"]),
        ("ticket-list", {"status": "pending"}, "status", ["open", "done", "waiting"]),
        ("ticket-list", {"ordering": "subject"}, "ordering", ["-created_at", "updated_at"]),
        ("ticket-list", {"department": "x"}, "department", ["billing", "logistics"]),
    ],
)
def test_an_unknown_filter_value_or_ordering_is_a_400_naming_the_allowed_ones(
    world, name, query, parameter, named
):
    add_orders(world.org_a, 2)
    response = bearer(world.member_a).get(api(name, **query))
    assert response.status_code == 400, response.content
    (message,) = response.json()["errors"][parameter]
    assert f"“{query[parameter]}” is not one of:" in message
    for value in named:
        assert value in message


def test_a_status_used_only_by_another_organisation_is_not_named(world):
    add_orders(world.org_a, 1)
    Order.objects.filter(organisation=world.org_a).update(status="quarantined-lot")
    add_orders(world.org_b, 1)
    response = bearer(world.member_b).get(api("order-list", status="quarantined-lot"))
    assert response.status_code == 400
    assert "quarantined-lot" in response.json()["errors"]["status"][0]  # the value echoed...
    allowed = response.json()["errors"]["status"][0].split("is not one of:")[1]
    assert "quarantined" not in allowed  # ...but not among B's values


# --- Ticket attachments --------------------------------------------------------------------------


def test_a_ticket_opened_and_answered_with_files_through_the_api(world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    caller = bearer(world.member_a)
    label = SimpleUploadedFile("label.pdf", b"%PDF-1.4 label", "application/pdf")
    photo = SimpleUploadedFile("seal.png", b"\x89PNG\r\n\x1a\n....", "image/png")
    created = caller.post(
        api("ticket-list"),
        {"organisation": world.org_a.pk, "subject": "Broken seal", "category": "product",
         "body": "See the files.", "attachments": [label, photo]},
    )  # fmt: skip
    assert created.status_code == 201, created.content
    ticket_id = created.json()["id"]
    first = Message.objects.get(ticket_id=ticket_id)
    assert sorted(a.filename for a in first.attachments.all()) == ["label.pdf", "seal.png"]
    note = SimpleUploadedFile("notes.txt", b"lot 42, seal broken", "text/plain")
    more = {"body": "One more", "attachments": note}
    reply = caller.post(api("ticket-messages", ticket_id), more)
    assert reply.status_code == 201, reply.content
    assert [a["filename"] for a in reply.json()["attachments"]] == ["notes.txt"]


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("invoice.exe", b"MZ...", "files of this type are not accepted"),
        ("invoice.pdf", b"MZ not a pdf", "does not contain what its name says"),
    ],
)
def test_a_bad_file_through_the_api_is_refused_as_on_the_form_and_nothing_is_written(
    world, name, content, says
):
    from django.core.exceptions import ValidationError
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tickets.attachments import validate_upload

    caller = bearer(world.member_a)
    bad = SimpleUploadedFile(name, content, "application/octet-stream")
    with pytest.raises(ValidationError) as form_says:  # the web form's own check, for its wording
        validate_upload(SimpleUploadedFile(name, content))
    created = caller.post(
        api("ticket-list"),
        {"organisation": world.org_a.pk, "subject": "Invoice", "category": "billing",
         "body": "Attached.", "attachments": [bad]},
    )  # fmt: skip
    assert created.status_code == 400
    assert created.json()["errors"]["attachments"] == form_says.value.messages
    assert says in created.json()["errors"]["attachments"][0]
    assert not Ticket.objects.exists()
    ticket = open_ticket(world)
    bad.seek(0)
    reply = caller.post(api("ticket-messages", ticket.pk), {"body": "x", "attachments": bad})
    assert reply.status_code == 400
    assert Message.objects.filter(ticket=ticket).count() == 1


@override_settings(TICKET_ATTACHMENT_MAX_BYTES=10)
def test_a_file_over_the_size_limit_is_refused_through_the_api(world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    big = SimpleUploadedFile("big.txt", b"x" * 11, "text/plain")
    ticket = open_ticket(world)
    reply = bearer(world.member_a).post(
        api("ticket-messages", ticket.pk), {"body": "x", "attachments": big}
    )
    assert reply.status_code == 400
    assert "is larger than" in reply.json()["errors"]["attachments"][0]


# --- The schema ----------------------------------------------------------------------------------


def test_the_schema_passes_a_strict_openapi_validator():
    from openapi_spec_validator import validate

    from tests.test_api_fuzz import generated_schema

    schema = generated_schema()
    validate(schema)  # raises on any violation, e.g. a value listed twice in an enum
    bodies = {
        (path, method): list(operation["requestBody"]["content"])
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    }
    # Each body under the one content type its operation takes: files go multipart.
    assert bodies == {
        ("/api/v1/tickets/", "post"): ["multipart/form-data"],
        ("/api/v1/tickets/{id}/messages/", "post"): ["multipart/form-data"],
        ("/api/v1/tickets/{id}/rating/", "post"): ["application/json"],
    }
    timeline = schema["paths"]["/api/v1/organisations/{id}/timeline/"]["get"]
    assert timeline["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"


def test_the_status_filter_takes_the_values_in_use_after_the_schema_was_generated(world):
    """The schema reads the filter set's class; the values in use are asked per request."""
    from tests.test_api_fuzz import generated_schema

    generated_schema()
    add_orders(world.org_a, 2)
    response = bearer(world.member_a).get(api("order-list", status="delivered"))
    assert response.status_code == 200
    assert len(response.json()["results"]) == 2


def test_errors_of_a_lists_items_come_as_flat_messages(world):
    """DRF nests a list field's item errors ({"0": [...]}); the error body's shape is one
    list of text per field, as the schema says."""
    response = bearer(world.member_a).post(
        api("ticket-list"),
        {"organisation": world.org_a.pk, "subject": "x", "category": "other", "body": "x",
         "attachments": "not a file"},
    )  # fmt: skip
    assert response.status_code == 400
    (message,) = response.json()["errors"]["attachments"]
    assert message.startswith("0: ")
    assert "not a file" in message
