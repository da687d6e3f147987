"""The Content-Security-Policy in a real browser: key pages load under it with a clean console.

tests/test_security.py checks the header and scans the templates for inline code; this
runs the pages in Chromium, which enforces the policy the server sends. Any blocked
script, style or image, a script error, a failed static file or an htmx swap that no
longer works under the policy fails here.
"""

import re

import pytest
from playwright.sync_api import expect

from portal.tests.records import add_orders
from tests.test_browser import log_in
from tickets import services

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class Console:
    """What the browser reported while the test ran: console errors, page errors, policies."""

    def __init__(self, page):
        self.errors: list[str] = []
        self.policies: dict[str, str] = {}  # document or htmx URL -> the CSP it came with
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)
        # Chromium also logs violations, but the event names the directive: clearer reports.
        # Init scripts run outside the page's policy.
        page.add_init_script(
            "document.addEventListener('securitypolicyviolation', e => console.error("
            "'CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI));"
        )

    def _console(self, message) -> None:
        if message.type in ("error", "warning") and "[DOM]" not in message.text:
            self.errors.append(f"console {message.type}: {message.text} ({message.location})")

    def _failed(self, request) -> None:
        # ERR_ABORTED: the browser dropped it itself, as the page moved on (the favicon
        # of a page left at once); a policy block is ERR_BLOCKED_BY_CSP.
        if request.failure != "net::ERR_ABORTED":
            self.errors.append(f"request failed: {request.url} ({request.failure})")

    def _response(self, response) -> None:
        kind = response.request.resource_type
        if kind == "document" or response.request.headers.get("hx-request"):
            self.policies[response.url] = response.headers.get("content-security-policy", "")


@pytest.fixture
def console(page):
    return Console(page)


def assert_clean(console: Console, visited: list[str]) -> None:
    assert console.errors == [], "\n".join(console.errors)
    for url, policy in console.policies.items():
        # The policy the browser enforced is the strict one: no inline code, no eval.
        assert "script-src 'self'" in policy, url
        assert "style-src 'self'" in policy, url
        assert "unsafe-inline" not in policy, url
        assert "unsafe-eval" not in policy, url
    seen = {re.sub(r"^https?://[^/]+", "", url).split("?")[0] for url in console.policies}
    assert set(visited) <= seen, f"pages without a document response: {set(visited) - seen}"


def visit(page, path: str, heading: str) -> None:
    response = page.goto(path)
    assert response.status == 200, path
    expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
    page.wait_for_load_state("networkidle")  # deferred scripts and htmx have run


def ticket_for_a(world):
    return services.ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject="Pallet missing",
        category="delivery",
        priority="normal",
        body="The pallet never arrived.",
    )


def test_customer_pages_load_under_the_policy_with_a_clean_console(page, console, world):
    orders = add_orders(world.org_a, 3)
    ticket = ticket_for_a(world)

    response = page.goto("/accounts/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    log_in(page, world.customer_admin_a.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha Clinic")
    pages = [
        ("/", "Alpha Clinic"),
        ("/orders/", "Orders"),
        (f"/orders/{orders[0].pk}/", f"Order {orders[0].number}"),
        ("/shipments/", "Deliveries"),
        ("/invoices/", "Invoices"),
        ("/timeline/", "Timeline"),
        ("/tickets/", "Tickets"),
        (f"/tickets/{ticket.pk}/", "Pallet missing"),
        ("/tickets/new/", "Open a ticket"),
        ("/tier/", "Your service tier"),
        ("/reviews/", "Reviews"),
        ("/commitments/", "Our commitments"),
        ("/accounts/members/", "Colleagues"),
        ("/accounts/api-tokens/", "API tokens"),
        ("/accounts/password/change/", "Change your password"),
    ]
    for path, heading in pages:
        visit(page, path, heading)

    assert_clean(console, [path for path, _ in pages])


def test_htmx_updates_work_under_the_policy(page, console, world):
    orders = add_orders(world.org_a, 3)
    log_in(page, world.member_a.email)

    # The orders search swaps the results in place (an htmx request, not a page load).
    visit(page, "/orders/", "Orders")
    page.evaluate("window.__marker = 1")
    results = page.locator("#order-results")
    expect(results.get_by_role("link", name=re.compile(r"^SO-"))).to_have_count(3)
    with page.expect_response(lambda r: "search=" in r.url and r.request.headers.get("hx-request")):
        page.get_by_label("Search", exact=True).press_sequentially(orders[1].number)
    expect(results.get_by_role("link", name=re.compile(r"^SO-"))).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/orders/\?search="))
    page.get_by_label("Status").select_option("delivered")  # as the row shows it
    expect(page).to_have_url(re.compile(r"status=delivered"))
    expect(results.get_by_role("link", name=orders[1].number, exact=True)).to_be_visible()
    assert page.evaluate("window.__marker === 1"), "the filters reloaded the page: htmx is off"

    # The timeline's kind tabs too.
    visit(page, "/timeline/", "Timeline")
    page.evaluate("window.__marker = 1")
    tabs = page.get_by_role("navigation", name="Kind of touchpoint")
    tabs.get_by_role("link", name="Orders placed").click()
    expect(page).to_have_url(re.compile(r"/timeline/\?kind=order$"))
    expect(page.locator("#timeline-items .timeline-item")).to_have_count(3)
    assert page.evaluate("window.__marker === 1"), "the tab reloaded the page: htmx is off"

    assert_clean(console, ["/orders/", "/timeline/"])
    htmx_answers = [url for url in console.policies if "?" in url]
    assert htmx_answers, "no htmx answer was seen"


def test_account_manager_pages_load_under_the_policy_with_a_clean_console(page, console, world):
    add_orders(world.org_a, 2)
    ticket = ticket_for_a(world)

    log_in(page, world.am_a.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("My accounts")
    pages = [
        ("/", "My accounts"),
        ("/workspace/queue/", "Work queue"),
        ("/workspace/renewals/", "Renewals"),
        (f"/workspace/accounts/{world.org_a.pk}/", "Alpha Clinic"),
        ("/tier/value/", "Customer value"),
        ("/tier/value/fit/", "Tier fit"),
        ("/tickets/queue/", "Ticket queue"),
        (f"/tickets/{ticket.pk}/", "Pallet missing"),
        ("/tickets/insights/", "Department insights"),
        ("/workspace/identities/", "Customers to match"),
        ("/accounts/api-tokens/", "API tokens"),
    ]
    for path, heading in pages:
        visit(page, path, heading)

    # View as the customer: the banner and the customer's screens under the same policy.
    visit(page, "/", "My accounts")
    page.get_by_role("button", name="View as customer of Alpha Clinic").click()
    expect(page.get_by_test_id("view-as-banner")).to_contain_text("Alpha Clinic")
    visit(page, "/orders/", "Orders")

    assert_clean(console, [path for path, _ in pages])
