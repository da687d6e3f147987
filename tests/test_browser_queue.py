"""The staff queue in a real browser: a saved view, made the default, and a bulk action
that says what it changed and what it refused, on a phone and on a laptop."""

import re

import pytest
from playwright.sync_api import expect

from accounts.choices import Department, UserKind
from accounts.tests.factories import UserFactory
from tests.axe import LAPTOP, PHONE, checked_by_axe
from tests.browser import sign_in
from tickets import services
from tickets.models import SavedView, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def open_ticket(organisation, requester, subject, category="billing"):
    return services.ticket_create(
        organisation=organisation,
        requester=requester,
        subject=subject,
        category=category,
        priority="normal",
        body="Details.",
    )


def fits(page, screen) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.evaluate("window.innerWidth") == screen["width"]


@pytest.mark.parametrize("screen", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_an_agent_saves_a_default_view_and_acts_on_ticked_tickets(
    browser, live_server, world, screen
):
    colleague = UserFactory(
        email="agent2@portal.test",
        full_name="Bea Billing",
        kind=UserKind.SUPPORT_AGENT,
        department=Department.BILLING,
    )
    wrong = open_ticket(world.org_a, world.member_a, "Invoice address wrong")
    twice = open_ticket(world.org_b, world.member_b, "Charged twice")
    done = open_ticket(world.org_b, world.member_b, "Refund arrived")
    services.ticket_set_status(ticket=done, by=world.admin, status="resolved")

    context = browser.new_context(base_url=live_server.url, viewport=screen)
    with checked_by_axe(context) as page:
        sign_in(page, world.agent.email)
        page.goto("/tickets/queue/")
        fits(page, screen)
        page.get_by_label("Status", exact=True).select_option(label="All")
        page.get_by_role("button", name="Filter").click()
        expect(page).to_have_url(re.compile(r"status=all"))
        page.get_by_label("Name these filters").fill("All billing")
        page.get_by_label("Share with Billing").check()
        page.get_by_label("Open the queue with it").check()
        page.get_by_role("button", name="Save view").click()
        expect(page.get_by_text("View “All billing” saved.")).to_be_visible()
        expect(page.locator(".view-list a[aria-current]")).to_have_text("All billing")
        fits(page, screen)

        # The default opens when the queue is opened without filters.
        page.goto("/tickets/queue/")
        expect(page).to_have_url(re.compile(r"/tickets/queue/\?status=all$"))

        # Tick three, one of them resolved, and set them to waiting on the customer.
        for ticket in (wrong, twice, done):
            page.get_by_label(f"Select {ticket.reference}").check()
        page.get_by_label("Set status").select_option(label="Waiting on customer")
        page.get_by_role("button", name="Set status of ticked").click()
        expect(page.get_by_text(f"Status set on 2 tickets: {wrong.reference}, {twice.reference}."))
        refused = page.get_by_text(re.compile(r"Not changed \(1\)"))
        expect(refused).to_contain_text(f"{done.reference}: A ticket that is resolved cannot")
        fits(page, screen)

        for ticket in (wrong, twice):
            page.get_by_label(f"Select {ticket.reference}").check()
        page.get_by_label("Assign to").select_option(label=colleague.full_name)
        page.get_by_role("button", name="Assign ticked").click()
        expect(page.get_by_text(f"Assigned 2 tickets: {wrong.reference}, {twice.reference}."))
        fits(page, screen)

    assert Ticket.objects.get(pk=wrong.pk).status == "waiting"
    assert Ticket.objects.get(pk=done.pk).status == "resolved"
    assert {t.assignee for t in Ticket.objects.filter(pk__in=[wrong.pk, twice.pk])} == {colleague}
    assert SavedView.objects.get(owner=world.agent).department == "billing"
