"""A reorder in a real browser: from the order page, quantities adjusted, sent as a request."""

import re

import pytest
from playwright.sync_api import expect

from portal.tests.records import add_orders
from tests.axe import LAPTOP, PHONE, checked_by_axe
from tests.browser import sign_in
from tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("screen", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_a_customer_asks_for_an_order_again_with_other_quantities(
    browser, live_server, world, screen
):
    order = add_orders(world.org_a, 1)[0]
    context = browser.new_context(base_url=live_server.url, viewport=screen)
    with checked_by_axe(context) as page:
        sign_in(page, world.member_a.email)
        page.goto(f"/orders/{order.pk}/")
        page.get_by_role("link", name=re.compile("Reorder")).click()
        expect(page.get_by_test_id("reorder-honest")).to_contain_text("It is not an order placed")
        page.get_by_label("AMX-500 AMX-500 samples").fill("7")
        page.get_by_label("IBU-200 IBU-200 samples").fill("0")
        page.get_by_label("Notes").fill("Before the clinic reopens.")
        page.get_by_role("button", name="Send the reorder request").click()
        ticket = Ticket.objects.get()
        expect(page).to_have_url(re.compile(rf"/tickets/{ticket.pk}/"))
        expect(
            page.get_by_text(f"Reorder request sent to Sales as {ticket.reference}.")
        ).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= screen["width"]
    body = ticket.messages.get().body
    assert "- AMX-500 AMX-500 samples: 7 (was 3)" in body
    assert "Before the clinic reopens." in body
