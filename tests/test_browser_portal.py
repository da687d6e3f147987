"""The customer's portal in a real browser: orders, view as customer, timeline, phone, keys."""

import re

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD
from portal.tests.records import add_orders
from tests.axe import checked_by_axe
from tests.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}


def log_in(page, email):
    sign_in(page, email)  # with the second factor where the person has or needs one
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))


def main_nav(page):
    return page.get_by_role("navigation", name="Main")


def set_marker(page):
    """A JS variable that only survives while no full page load happens."""
    page.evaluate("window.__marker = 1")


def marker_survived(page) -> bool:
    return page.evaluate("window.__marker === 1")


def focused(page) -> str:
    """What has the keyboard focus, e.g. "input#id_username" or "button:Log in"."""
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            if (!el || el === document.body) return "body";
            const tag = el.tagName.toLowerCase();
            if (el.id) return `${tag}#${el.id}`;
            return `${tag}:${el.textContent.trim()}`;
        }"""
    )


@pytest.fixture
def phone(browser, live_server):
    """A page in a phone-sized, touch context."""
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, is_mobile=True, has_touch=True
    )
    with checked_by_axe(context) as page:
        yield page


def test_customer_home_shows_team_recent_orders_and_invoices_to_pay(page, world):
    orders_a = add_orders(world.org_a, 3)
    orders_b = add_orders(world.org_b, 2)
    a = world.org_a.pk

    log_in(page, world.member_a.email)

    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha Clinic")
    expect(page.get_by_test_id("account-team")).to_contain_text("Anna Manager")
    recent = page.get_by_test_id("home-orders")
    for order in orders_a:
        expect(recent.get_by_role("link", name=order.number, exact=True)).to_be_visible()
    to_pay = page.get_by_test_id("home-invoices")
    # Invoice 0 of add_orders is paid; 1 and 2 are not.
    expect(to_pay.get_by_role("link", name=f"INV-{a}-1", exact=True)).to_be_visible()
    expect(to_pay.get_by_role("link", name=f"INV-{a}-2", exact=True)).to_be_visible()
    expect(to_pay).not_to_contain_text(f"INV-{a}-0")
    body = page.locator("body")
    expect(body).not_to_contain_text("Bravo Hospital")
    for order in orders_b:
        expect(body).not_to_contain_text(order.number)


def test_customer_searches_orders_in_place_and_opens_one(page, world):
    orders = add_orders(world.org_a, 3)
    target = orders[1]
    key = target.external_id

    log_in(page, world.member_a.email)
    main_nav(page).get_by_role("link", name="Orders").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Orders")
    results = page.locator("#order-results")
    expect(results.get_by_role("link", name=re.compile(r"^SO-"))).to_have_count(3)

    set_marker(page)
    # Key by key: the search box filters on keyup.
    page.get_by_label("Search", exact=True).press_sequentially(target.number)
    expect(results.get_by_role("link", name=re.compile(r"^SO-"))).to_have_count(1)
    expect(results.get_by_role("link", name=target.number, exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/orders/\?search=" + re.escape(target.number)))
    assert marker_survived(page), "the search reloaded the whole page instead of the results"

    results.get_by_role("link", name=target.number, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {target.number}")
    expect(page.locator(".page-header")).to_contain_text("From Order entry · synced")

    lines = page.get_by_test_id("order-lines").locator("tbody tr")
    expect(lines).to_have_count(2)
    for code in ("AMX-500", "IBU-200"):
        # Quantity 3 × unit price 2.50 = amount 7.50.
        expect(lines.filter(has_text=code).locator("td")).to_have_text(
            [f"{code} {code} samples", "—", "3", "2.50", "7.50"]
        )

    deliveries = page.get_by_test_id("order-shipments")
    expect(deliveries).to_contain_text("Delivered")
    expect(deliveries).to_contain_text("DHL")
    expect(deliveries).to_contain_text(f"TRK{key}")

    invoice = page.get_by_test_id("order-invoices").get_by_role("link", name=f"INV-{key}")
    expect(invoice).to_have_attribute("href", f"/invoices/{target.invoices.get().pk}/")
    invoice.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"INV-{key}")


def test_account_manager_views_the_customers_orders_and_exits(page, world):
    orders = add_orders(world.org_a, 2)

    log_in(page, world.am_a.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("My accounts")
    row = page.get_by_test_id("my-accounts").get_by_role("row").filter(has_text="Alpha Clinic")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Standard")

    row.get_by_role("button", name="View as customer of Alpha Clinic").click()
    banner = page.get_by_test_id("view-as-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Alpha Clinic")

    main_nav(page).get_by_role("link", name="Orders").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Orders")
    expect(banner).to_be_visible()
    results = page.locator("#order-results")
    for order in orders:
        expect(results.get_by_role("link", name=order.number, exact=True)).to_be_visible()
    results.get_by_role("link", name=orders[0].number, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {orders[0].number}")
    expect(banner).to_be_visible()

    page.get_by_role("button", name="Exit view as customer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My accounts")
    expect(banner).to_have_count(0)


def test_customer_of_b_gets_404_page_for_an_order_of_a(page, world):
    order = add_orders(world.org_a, 1)[0]

    log_in(page, world.member_b.email)
    response = page.goto(f"/orders/{order.pk}/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    body = page.locator("body")
    expect(body).not_to_contain_text(order.number)
    expect(body).not_to_contain_text("Alpha Clinic")


def test_timeline_kind_tab_filters_in_place_and_pushes_the_url(page, world):
    add_orders(world.org_a, 2)

    log_in(page, world.member_a.email)
    main_nav(page).get_by_role("link", name="Timeline").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Timeline")
    items = page.locator("#timeline-items .timeline-item")
    # 2 orders, 2 deliveries, 2 invoices issued, 1 paid.
    expect(items).to_have_count(7)

    set_marker(page)
    tabs = page.get_by_role("navigation", name="Kind of touchpoint")
    tabs.get_by_role("link", name="Orders placed").click()
    expect(page).to_have_url(re.compile(r"/timeline/\?kind=order$"))
    expect(items).to_have_count(2)
    expect(page.locator("#timeline-items .timeline-item:not(.timeline-order)")).to_have_count(0)
    expect(items.first).to_contain_text(re.compile(r"Order SO-\d+-\d+ placed"))
    assert marker_survived(page), "the tab reloaded the whole page instead of the items"


def test_home_fits_a_phone_and_its_nav_works(phone, world):
    add_orders(world.org_a, 3)

    log_in(phone, world.member_a.email)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Alpha Clinic")
    # On a mobile viewport Chromium widens innerWidth to fit content that overflows, so
    # also compare with the device width itself.
    widths = phone.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth, "
        "document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"horizontal scroll: {widths}"
    assert widths == [PHONE["width"]] * 3, f"horizontal scroll: {widths}"

    nav = main_nav(phone)
    for name in ("Home", "Orders", "Deliveries", "Invoices", "Tickets", "Timeline"):
        link = nav.get_by_role("link", name=name, exact=True)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"], f"{name} is off screen"
    nav.get_by_role("link", name="Invoices", exact=True).tap()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Invoices")


def test_login_focus_order_and_skip_link(page, world):
    page.goto("/accounts/login/")
    email, password = page.get_by_label("Email"), page.get_by_label("Password")
    log_in_button = page.get_by_role("button", name="Log in")
    # The email field has autofocus; before it come only the skip link and the brand.
    expect(email).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("link", name="Customer Portal")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(email).to_be_focused()
    page.keyboard.press("Tab")
    expect(password).to_be_focused()
    page.keyboard.press("Tab")
    expect(log_in_button).to_be_focused()

    # Logged in by keyboard alone: the skip link is the first thing Tab reaches.
    email.fill(world.member_a.email)
    password.fill(PASSWORD)
    password.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha Clinic")
    assert focused(page) == "body"
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    expect(page).to_have_url(re.compile(r"#main$"))


def test_customer_sees_what_to_pay_and_downloads_an_invoice_as_pdf(page, world, tmp_path):
    import io
    from datetime import timedelta

    from django.utils import timezone
    from pypdf import PdfReader

    from portal.records.models import Invoice

    invoice = add_orders(world.org_a, 1)[0].invoices.get()
    Invoice.objects.filter(pk=invoice.pk).update(
        paid_on=None, due_on=timezone.localdate() - timedelta(days=4)
    )
    log_in(page, world.member_a.email)
    main_nav(page).get_by_role("link", name="Invoices").click()
    totals = page.get_by_test_id("invoice-totals")
    expect(totals).to_contain_text("25.00 GBP overdue (1 invoice)")
    expect(page.get_by_test_id("invoices")).to_contain_text("Overdue · 4 days")
    page.get_by_role("link", name=invoice.number).click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == f"invoice-{invoice.number.lower()}.pdf"
    text = PdfReader(io.BytesIO(saved.read_bytes())).pages[0].extract_text()
    assert f"Invoice {invoice.number}" in text
    assert "State: Overdue, 4 days" in text
    assert "From Order entry (system oe)" in text
