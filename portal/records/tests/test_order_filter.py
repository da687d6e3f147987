"""One order filter (portal/records/filters.py): the page, its CSV export and the API take
the same parameters, refuse the same values, and so list the same orders."""

import csv
import io
import re
from datetime import date, timedelta

from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.services import api_token_create
from accounts.tests.two_factor import Client
from portal.tests.records import add_orders

DAYS = st.one_of(st.none(), st.integers(0, 8).map(lambda d: date(2026, 1, 1) + timedelta(d)))
FILTERS = st.fixed_dictionaries(
    {
        "search": st.sampled_from(["", "SO-", "-1", "-3", "ibu", "AMX-500", "nothing"]),
        "status": st.sampled_from(["", "delivered", "open", "shipped"]),
        "date_from": DAYS,
        "date_to": DAYS,
    }
)


def given_only(filters: dict) -> dict:
    return {name: str(value) for name, value in filters.items() if value}


def page_numbers(client, params) -> set[str]:
    html = client.get(reverse("portal:orders"), params).content.decode()
    return set(re.findall(r'href="/orders/\d+/">([^<]+)</a>', html))


def export(client, params):
    return client.get(reverse("portal:orders_csv"), params)


def export_numbers(client, params) -> set[str]:
    body = b"".join(export(client, params).streaming_content).decode("utf-8-sig")
    return {row[0] for row in list(csv.reader(io.StringIO(body)))[1:]}


def api_numbers(api, params) -> set[str]:
    response = api.get(reverse("api:order-list"), params)
    assert response.status_code == 200, response.content
    return {order["number"] for order in response.json()["results"]}


def test_the_page_the_export_and_the_api_list_the_same_orders(client, world):
    # The orders are built once; each example only reads them through another filter.
    add_orders(world.org_a, 8)
    add_orders(world.org_b, 2)  # the API lists every visible organisation: none of B's
    client.force_login(world.member_a)
    _, token = api_token_create(user=world.member_a, name="test")
    api = Client(headers={"Authorization": f"Bearer {token}"})

    @settings(max_examples=20, deadline=None)
    @given(filters=FILTERS)
    def the_three_agree(filters):
        params = given_only(filters)
        on_page = page_numbers(client, params)
        assert on_page == export_numbers(client, params) == api_numbers(api, params)

    the_three_agree()


def test_a_date_the_page_cannot_read_is_said_not_ignored_in_silence(client, world):
    add_orders(world.org_a, 3)
    client.force_login(world.member_a)
    response = client.get(reverse("portal:orders"), {"date_from": "2026-13-01"})
    assert response.status_code == 200
    said = response.content.decode()
    assert "From: Enter a valid date." in said
    assert len(page_numbers(client, {"date_from": "2026-13-01"})) == 3  # the rest still lists


def test_the_export_refuses_what_the_page_refuses_instead_of_exporting_something_else(
    client, world
):
    add_orders(world.org_a, 3)
    client.force_login(world.member_a)
    refused = export(client, {"status": "lost in space"})
    assert refused.status_code == 400
    assert "Status: “lost in space” is not one of:" in refused.content.decode()
    assert "delivered" in refused.content.decode()
    assert export(client, {"search": "x" * 101}).status_code == 400
    assert export(client, {"status": "delivered"}).status_code == 200


def test_the_page_is_of_the_current_organisation_whatever_the_query_says(client, world):
    add_orders(world.org_b, 2)
    client.force_login(world.customer_admin_a)
    listed = page_numbers(client, {"organisation": world.org_b.pk, "search": "SO-"})
    assert listed == set()
