"""What the browser tests share: signing in through the login page, second factor included."""

import re

from playwright.sync_api import expect

from accounts.models import User
from accounts.tests.factories import PASSWORD
from accounts.tests.two_factor import authenticator_if_needed, next_code


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    """The login page, then the code step where the person must use two-factor sign-in or
    has an authenticator. Someone who must and has none gets one first, as if they had
    enrolled earlier (tests/test_browser_two_factor.py enrols through the pages)."""
    device = authenticator_if_needed(User.objects.get(email=email))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    if device is not None:
        expect(page).to_have_url(re.compile(r"/accounts/login/code/"))
        page.get_by_label("Code", exact=True).fill(next_code(device))
        page.get_by_role("button", name="Continue").click()
