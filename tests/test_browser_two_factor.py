"""Two-factor sign-in in a real browser: enrol, then sign in with a code and a recovery code.

The authenticator app is played by the test: it reads the secret the page shows (as a person
typing it into their app would) and computes the codes from it.
"""

import re
import time
from base64 import b32decode

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD
from accounts.tests.two_factor import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def password_step(page, email):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def log_out(page):
    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def code_step(page, code):
    expect(page).to_have_url(re.compile(r"/accounts/login/code/"))
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_role("button", name="Continue").click()


def test_staff_enrol_then_sign_in_with_a_code_then_with_a_recovery_code_once(page, world):
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    # The password is right, and the account manager has no authenticator: enrol first.
    password_step(page, world.am_a.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor sign-in")
    expect(page.get_by_test_id("two-factor-required")).to_contain_text("staff")
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    page.goto("/workspace/queue/")  # nothing else until then
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor sign-in")

    secret = page.get_by_test_id("totp-secret").inner_text()
    key = b32decode(secret.replace(" ", "")).hex()
    page.get_by_label("Code from the app").fill(totp_code(key))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    codes = page.get_by_test_id("recovery-codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    recovery = codes.first.inner_text().strip()
    page.get_by_role("link", name="I have kept them: continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Work queue")
    log_out(page)

    # Signing in: the password, then the app's code (the next 30 seconds' one: the code
    # that confirmed the app is used up).
    password_step(page, world.am_a.email)
    code_step(page, totp_code(key, at=time.time() + 30))
    expect(page.get_by_role("heading", level=1)).to_have_text("My accounts")
    log_out(page)

    # Phone lost: a recovery code instead, which is then used up.
    password_step(page, world.am_a.email)
    code_step(page, recovery)
    expect(page.get_by_role("heading", level=1)).to_have_text("My accounts")
    expect(page.get_by_text("9 left")).to_be_visible()
    log_out(page)

    password_step(page, world.am_a.email)
    code_step(page, recovery)
    expect(page.get_by_text("That code is not right")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/accounts/login/code/"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))  # still not signed in
    assert problems == []


def test_a_customer_admin_requires_it_and_sets_theirs_up(page, world):
    password_step(page, world.customer_admin_a.email)  # a customer: no code asked yet
    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha Clinic")
    page.get_by_role("link", name="Colleagues").click()
    page.get_by_label("Everyone must sign in with a code from an authenticator app").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor sign-in")
    expect(page.get_by_test_id("two-factor-required")).to_contain_text("Alpha Clinic requires")
    key = b32decode(page.get_by_test_id("totp-secret").inner_text().replace(" ", "")).hex()
    page.get_by_label("Code from the app").fill(totp_code(key))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_test_id("recovery-codes").get_by_role("listitem")).to_have_count(10)
    page.get_by_role("link", name="I have kept them: continue").click()
    page.get_by_role("link", name="Colleagues").click()
    expect(page.get_by_text("Required", exact=True)).to_be_visible()
