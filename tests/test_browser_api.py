"""The API seen from a browser: creating a token, and the Swagger UI served locally."""

import pytest
from playwright.sync_api import expect

from accounts.models import ApiToken
from accounts.tests.factories import PASSWORD
from tests.test_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_customer_creates_a_token_and_sees_it_once(page, world):
    log_in(page, world.member_a.email)
    page.locator("summary").filter(has_text=world.member_a.full_name).click()
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("What is it for?").fill("ERP order import")
    page.get_by_label("Your password").fill("not my password")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator(".field-error")).to_contain_text("not your current password")

    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_test_id("new-token").inner_text()
    assert token.startswith("cp_")
    expect(page.get_by_role("row").filter(has_text="ERP order import")).to_contain_text(token[:8])

    page.reload()  # a GET now: the token is gone from the page for good
    expect(page.get_by_test_id("new-token")).to_have_count(0)
    page.get_by_role("button", name="Revoke ERP order import").click()
    expect(page.get_by_role("row").filter(has_text="ERP order import")).to_contain_text("Revoked")
    assert not ApiToken.objects.get().is_active


def test_swagger_ui_lists_the_operations_from_local_files_only(page, world, live_server):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    log_in(page, world.member_a.email)
    page.goto("/api/v1/docs/")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(page.get_by_text("/api/v1/orders/", exact=True).first).to_be_visible()
    assert all(url.startswith(live_server.url) for url in requested), requested
    assert problems == []


def test_a_customer_admin_adds_a_webhook_and_sees_its_secret_once(page, world):
    from accounts.models import WebhookSubscription

    log_in(page, world.customer_admin_a.email)
    page.goto("/accounts/members/")
    page.get_by_role("link", name="webhooks").click()
    page.get_by_label("Receiver URL").fill("http://127.0.0.1:9/hook")
    page.get_by_label("A ticket was opened").check()
    page.get_by_label("A ticket got a reply").check()
    page.get_by_role("button", name="Add webhook").click()
    secret = page.get_by_test_id("new-secret").inner_text()
    assert secret == WebhookSubscription.objects.get().secret
    assert secret.startswith("whsec_")
    expect(page.get_by_role("heading", name="Latest deliveries")).to_be_visible()
    page.reload()  # shown once
    expect(page.get_by_test_id("new-secret")).to_have_count(0)
    page.get_by_role("button", name="Rotate the secret").click()
    assert page.get_by_test_id("new-secret").inner_text() != secret
