"""What people do in a real browser: log in, look around, view as the customer."""

import pytest
from playwright.sync_api import expect

from tests.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def log_in(page, email):
    sign_in(page, email)  # with the second factor where the person has or needs one


def test_customer_logs_in_and_sees_their_organisation_only(page, world):
    log_in(page, world.customer_admin_a.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha Clinic")
    expect(page.get_by_test_id("account-team")).to_contain_text("Anna Manager")
    expect(page.locator("body")).not_to_contain_text("Bravo Hospital")


def test_wrong_password_says_so_and_keeps_the_email(page, world):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(world.member_a.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")
    expect(page.get_by_label("Email")).to_have_value(world.member_a.email)


def test_account_manager_views_as_the_customer_and_back(page, world):
    log_in(page, world.am_a.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("My accounts")
    page.get_by_role("button", name="View as customer of Alpha Clinic").click()
    banner = page.get_by_test_id("view-as-banner")
    expect(banner).to_contain_text("Alpha Clinic")
    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha Clinic")
    page.get_by_role("button", name="Exit view as customer").click()
    expect(banner).to_have_count(0)
    expect(page.get_by_role("heading", level=1)).to_have_text("My accounts")


def test_customer_admin_invites_a_colleague(page, world, mailoutbox):
    log_in(page, world.customer_admin_a.email)
    page.get_by_role("link", name="Colleagues").click()
    page.get_by_label("Colleague's email").fill("not an email")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".field-error")).to_contain_text("valid email")
    page.get_by_label("Colleague's email").fill("newbie@alpha.test")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("listitem").filter(has_text="Invitation sent")).to_be_visible()
