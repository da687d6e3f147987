"""Screenshots of the demo for the README: `make screenshots`.

Expects the demo served at PORTAL_URL (default http://127.0.0.1:8000) and
writes PNGs to docs/screenshots/.
"""

import os
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = os.environ.get("PORTAL_URL", "http://127.0.0.1:8000")
OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
PASSWORD = "portal-demo-2026"  # noqa: S105 - the demo's published password


def log_in(page, email):
    page.context.clear_cookies()
    page.goto(f"{BASE}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.goto(f"{BASE}/accounts/login/")
        page.screenshot(path=OUT / "login.png")
        log_in(page, "alice@northwind.example")
        page.screenshot(path=OUT / "customer-home.png", full_page=True)
        page.goto(f"{BASE}/accounts/members/")
        page.screenshot(path=OUT / "colleagues.png", full_page=True)
        log_in(page, "amelia.hart@portal.example")
        page.screenshot(path=OUT / "am-workspace.png", full_page=True)
        page.get_by_role("button", name="View Northwind Family Clinic as the customer").click()
        page.screenshot(path=OUT / "am-view-as.png", full_page=True)
        phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        phone.context.add_cookies(page.context.cookies())
        phone.goto(f"{BASE}/")
        phone.screenshot(path=OUT / "phone-home.png", full_page=True)
        browser.close()
    print(f"Screenshots written to {OUT}")


if __name__ == "__main__":
    main()
