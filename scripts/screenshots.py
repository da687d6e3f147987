"""Screenshots of the demo for the README: `make screenshots`.

Expects the demo served at PORTAL_URL (default http://127.0.0.1:8000) and
writes PNGs to docs/screenshots/. The README links customer-home.png and
am-workspace.png: keep those names.
"""

import os
from pathlib import Path

from playwright.sync_api import sync_playwright

from portal.demo.two_factor import demo_code, seconds_left

BASE = os.environ.get("PORTAL_URL", "http://127.0.0.1:8000")
OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
PASSWORD = "portal-demo-2026"  # noqa: S105 - the demo's published password
CUSTOMER = "alice@northwind.example"
ACCOUNT_MANAGER = "amelia.hart@portal.example"
ADMIN = "admin@portal.example"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


def log_in(page, email, *, code_step_shot: str = ""):
    page.context.clear_cookies()
    page.goto(f"{BASE}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")
    for _ in range(2):  # staff give the demo authenticator's code; each code works once
        if "/accounts/login/code/" not in page.url:
            break
        if code_step_shot:
            shoot(page, code_step_shot)
        page.get_by_label("Code", exact=True).fill(demo_code())
        page.get_by_role("button", name="Continue").click()
        page.wait_for_load_state("networkidle")
        if "/accounts/login/code/" in page.url:
            page.wait_for_timeout((seconds_left() + 1) * 1000)
    if "/accounts/login/" in page.url:
        raise SystemExit(f"Could not log in as {email}: is the demo loaded (`make demo`)?")


def shoot(page, name, path=None, *, full_page=True):
    """Open `path` (or stay on the current page) and save a screenshot of it."""
    if path is not None:
        page.goto(f"{BASE}{path}")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=OUT / name, full_page=full_page)
    print(f"  {name}")


def customer_screens(browser) -> None:
    page = browser.new_page(viewport=DESKTOP)
    shoot(page, "login.png", "/accounts/login/")
    log_in(page, CUSTOMER)
    shoot(page, "customer-home.png")
    shoot(page, "orders.png", "/orders/")
    page.locator("#order-results tbody a").first.click()
    shoot(page, "order-detail.png")
    shoot(page, "invoices.png", "/invoices/")
    # A hundred touchpoints make a very long page: the first screenful shows the idea.
    shoot(page, "timeline.png", "/timeline/", full_page=False)
    shoot(page, "colleagues.png", "/accounts/members/")
    shoot(page, "two-factor-setup.png", "/accounts/two-factor/")
    help_suggestions(page)
    page.context.close()

    phone = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    log_in(phone, CUSTOMER)
    shoot(phone, "phone-home.png")
    phone.context.close()


def help_suggestions(page) -> None:
    """Help articles offered while a new ticket's subject is typed (docs/knowledge-base.md)."""
    page.goto(f"{BASE}/tickets/new/")
    page.get_by_label("Subject").press_sequentially("Where is my deliv", delay=40)
    page.get_by_test_id("suggestions").wait_for()
    shoot(page, "help-suggestions.png", full_page=False)


def account_manager_screens(browser) -> None:
    page = browser.new_page(viewport=DESKTOP)
    log_in(page, ACCOUNT_MANAGER, code_step_shot="two-factor-code.png")
    shoot(page, "am-workspace.png")
    shoot(page, "work-queue.png", "/workspace/queue/")
    shoot(page, "renewals.png", "/workspace/renewals/")
    page.goto(f"{BASE}/")
    page.locator("a[href*='/workspace/accounts/']").first.click()
    shoot(page, "account-health.png")
    page.goto(f"{BASE}/")
    page.get_by_role("button", name="View as customer of Northwind Family Clinic").click()
    shoot(page, "am-view-as.png")
    page.get_by_role("button", name="Exit view as customer").click()
    shoot(page, "identity-queue.png", "/workspace/identities/?q=riverside")
    page.get_by_role("link", name="Review").first.click()
    page.get_by_test_id("candidates").get_by_role("link").first.click()
    shoot(page, "identity-review.png")
    page.context.close()


def admin_screens(browser) -> None:
    page = browser.new_page(viewport=DESKTOP)
    log_in(page, ADMIN)
    shoot(page, "value-pareto.png", "/tier/value/")
    shoot(page, "tier-fit.png", "/tier/value/fit/")
    shoot(page, "api-docs.png", "/api/v1/docs/", full_page=False)
    page.goto(f"{BASE}/workspace/sources/")
    shoot(page, "sync-sources.png")
    page.locator("[data-testid=sources] tbody a").first.click()
    shoot(page, "sync-source.png")
    page.context.close()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            customer_screens(browser)
            account_manager_screens(browser)
            admin_screens(browser)
        finally:
            browser.close()
    print(f"Screenshots written to {OUT}")


if __name__ == "__main__":
    main()
