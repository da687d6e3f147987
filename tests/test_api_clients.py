"""Clients generated from the schema, used against the live server, as an integrator would.

Two generators, both offline from their PyPI packages: openapi-python-client writes a
whole client (its requests, its parsing of every answer), datamodel-code-generator the
schema's models as pydantic classes, which must accept what the server answers. A schema
the generators refuse, or that promises another shape than the server sends (a paged
object for a plain list, a body under three content types, an enum with a value twice),
fails here.
"""

from __future__ import annotations

import importlib
import io
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from accounts.services import api_token_create
from portal.records.models import Shipment
from portal.tests.records import add_orders
from tests.test_api_fuzz import generated_schema

pytestmark = pytest.mark.slow  # runs the generators as processes
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The schema, and what each generator made of it (importable from a temp dir)."""
    where = tmp_path_factory.mktemp("generated")
    schema = where / "schema.json"
    schema.write_text(json.dumps(generated_schema()))
    config = where / "config.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run: the code as generated
    subprocess.run(  # noqa: S603 (our own venv's tools, our own arguments)
        [BIN / "openapi-python-client", "generate", "--path", schema, "--meta", "none",
         "--output-path", where / "portal_client", "--config", config],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(  # noqa: S603
        [BIN / "datamodel-codegen", "--input", schema, "--input-file-type", "openapi",
         "--output", where / "portal_models.py",
         "--output-model-type", "pydantic_v2.BaseModel",
         "--strict-nullable"],  # "nullable: true" means None is a value (OpenAPI 3.0)
        check=True, capture_output=True,
    )  # fmt: skip
    sys.path.insert(0, str(where))
    yield where
    sys.path.remove(str(where))
    for name in [m for m in sys.modules if m.startswith(("portal_client", "portal_models"))]:
        del sys.modules[name]


def module(name: str):
    return importlib.import_module(name)


def cursor_of(url: str | None) -> str | None:
    return parse_qs(urlsplit(url).query)["cursor"][0] if url else None


def test_a_generated_client_lists_filters_pages_reads_and_opens_a_ticket_with_a_file(
    generated, transactional_db, world, live_server
):
    orders = add_orders(world.org_a, 5)
    Shipment.objects.filter(order=orders[0]).update(delivered_at=None)  # still on its way
    add_orders(world.org_b, 2)
    _, token = api_token_create(user=world.member_a, name="generated client")
    client = module("portal_client").AuthenticatedClient(base_url=live_server.url, token=token)
    api = "portal_client.api."

    # Page through every order, two at a time.
    orders_list = module(api + "orders.orders_list")
    numbers, cursor = [], None
    while True:
        page = orders_list.sync(client=client, page_size=2, cursor=cursor)
        numbers += [order.number for order in page.results]
        cursor = cursor_of(page.next_)
        if cursor is None:
            break
    assert sorted(numbers) == sorted(o.number for o in orders)

    # Filter: the status as the screens show it.
    delivered = orders_list.sync(client=client, status="delivered")
    assert {o.number for o in delivered.results} == {o.number for o in orders[1:]}
    ordering = module("portal_client.models.orders_list_ordering").OrdersListOrdering
    by_number = orders_list.sync(client=client, ordering=ordering.NUMBER)
    assert [o.number for o in by_number.results] == sorted(o.number for o in orders)
    refused = orders_list.sync(client=client, status="teleported")
    assert refused.type_ == "invalid"
    assert "delivered" in refused.errors["status"][0]

    # Read one.
    order = module(api + "orders.orders_retrieve").sync(client=client, id=orders[0].pk)
    assert (order.number, order.status, len(order.lines)) == (orders[0].number, "open", 2)

    # Open a ticket with a file, and reply.
    models = module("portal_client.models")
    types = module("portal_client.types")
    label = types.File(
        payload=io.BytesIO(b"%PDF-1.4 label"), file_name="label.pdf", mime_type="application/pdf"
    )
    ticket = module(api + "tickets.tickets_create").sync(
        client=client,
        body=models.TicketCreateRequest(
            organisation=world.org_a.pk,
            subject="Seal broken",
            category=models.CategoryEnum.PRODUCT,
            body="Photo of the label attached.",
            attachments=[label],
        ),
    )
    assert ticket.department.value == "product"
    reply = module(api + "tickets.tickets_messages_create").sync(
        client=client, id=ticket.id, body=models.MessageCreateRequest(body="Any news?")
    )
    assert reply.body == "Any news?"
    thread = module(api + "tickets.tickets_messages_list").sync(client=client, id=ticket.id)
    assert [a.filename for a in thread[0].attachments] == ["label.pdf"]

    # The timeline: a plain list, as the schema says.
    timeline = module(api + "organisations.organisations_timeline").sync(
        client=client, id=world.org_a.pk
    )
    assert isinstance(timeline, list)
    client.get_httpx_client().close()  # no kept-alive connection holds the server's thread


def test_the_generated_models_accept_what_the_server_answers(
    generated, transactional_db, world, live_server
):
    import httpx

    add_orders(world.org_a, 3)
    _, token = api_token_create(user=world.member_a, name="models")
    models = module("portal_models")
    http = httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"})
    answers = {
        "/api/v1/orders/": models.PaginatedOrderList,
        "/api/v1/invoices/": models.PaginatedInvoiceList,
        "/api/v1/shipments/": models.PaginatedShipmentList,
        "/api/v1/tickets/": models.PaginatedTicketList,
        f"/api/v1/organisations/{world.org_a.pk}/tier/": models.OrganisationTier,
    }
    for path, model in answers.items():
        model.model_validate(http.get(path).raise_for_status().json())
    timeline = http.get(f"/api/v1/organisations/{world.org_a.pk}/timeline/").json()
    assert isinstance(timeline, list)
    for entry in timeline:
        models.TimelineEntry.model_validate(entry)
    models.Error.model_validate(http.get("/api/v1/orders/?ordering=total").json())
    http.close()
