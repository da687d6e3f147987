"""Schema-driven fuzzing of the API over real HTTP, as a customer and as an AM.

Schemathesis reads the OpenAPI schema generated from the code and sends
generated requests (valid and invalid) to every operation of a live server.
Every answer must be a non-5xx response whose status code, content type and
body the schema documents. The seed is fixed (derandomize) and the examples
bounded, so a run is repeatable and its length predictable.
"""

import json
import os

import pytest
import schemathesis
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis import checks

from accounts.services import api_token_create
from portal.tests.records import add_orders
from tickets.services import ticket_create, ticket_reply

# Generated requests by the hundred: `make test` runs it, the fast subset does not.
pytestmark = pytest.mark.slow
# The SQLite run of make test sets a smaller budget (API_FUZZ_EXAMPLES).
EXAMPLES_PER_OPERATION = int(os.environ.get("API_FUZZ_EXAMPLES", "20"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


def generated_schema() -> dict:
    """The schema as /api/v1/schema/ serves it (test_the_served_schema_is_the_generated_one)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema))


# Loaded when the module is collected (Django is set up by then; no database needed).
schema = schemathesis.openapi.from_dict(generated_schema())


def fuzz_world(world):
    """Records the generated requests can land on: orders, invoices, a ticket with notes."""
    add_orders(world.org_a, 3)
    add_orders(world.org_b, 2)
    ticket = ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject="Late delivery",
        category="delivery",
        priority="normal",
        body="Where is order 1?",
    )
    ticket_reply(ticket=ticket, author=world.am_a, body="Checking with the carrier.")
    ticket_reply(ticket=ticket, author=world.am_a, body="Carrier lost it.", internal=True)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_every_generated_request_as_its_schema_says(
    case, transactional_db, world, live_server
):
    if not hasattr(world, "tokens"):  # once per operation, not per generated example
        fuzz_world(world)
        world.tokens = [
            api_token_create(user=u, name="fuzz")[1] for u in (world.member_a, world.am_a)
        ]
    for token in world.tokens:  # each generated request is sent as a customer and as an AM
        case.call_and_validate(
            base_url=live_server.url,
            headers={"Authorization": f"Bearer {token}"},
            checks=CHECKS,
        )


def test_the_served_schema_is_the_generated_one(client):
    served = client.get(reverse("api:schema") + "?format=json")
    assert served.status_code == 200
    assert served.json() == generated_schema()
    assert len(served.json()["paths"]) >= 15
