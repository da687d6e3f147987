"""Single sign-on in a real browser against a real OpenID provider (docs/production.md).

The provider is the npm package oidc-provider, run on loopback by scripts/with-services.sh
(scripts/oidc_provider.mjs): each test registers the portal as a client with the provider's
standard registration endpoint, adds its people, and signs in on the provider's own page.
"""

import re
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from accounts.choices import MembershipRole
from accounts.models import DomainClaim, IdentityProvider, Membership, User
from accounts.tests.factories import PASSWORD
from tests.browser import sign_in

# One OpenID provider for the whole suite, and a test may tamper with its tokens: its tests
# run in one process (`make test`'s `--dist loadgroup`), one after another.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("openid-provider")]

OP_PASSWORD = "provider-password"


class Provider:
    """The test's handle on the running provider: its people, clients and tampering."""

    def __init__(self, url: str):
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10)

    def person(self, email: str, *, amr=("pwd",)) -> str:
        login = f"{email.split('@')[0]}-{uuid.uuid4().hex[:6]}"
        body = {"email": email, "password": OP_PASSWORD, "name": "Test Person", "amr": list(amr)}
        self.http.put(f"/_test/users/{login}", json=body).raise_for_status()
        return login

    def remove(self, login: str) -> None:
        self.http.delete(f"/_test/users/{login}").raise_for_status()

    def tamper(self, **claims) -> None:
        self.http.put("/_test/tamper", json=claims).raise_for_status()

    def client(self, live_server, provider_id: str) -> tuple[str, str]:
        response = self.http.post(
            "/reg",
            json={
                "redirect_uris": [f"{live_server.url}/accounts/sso/{provider_id}/callback/"],
                "post_logout_redirect_uris": [f"{live_server.url}/accounts/login/"],
                "response_types": ["code"],
                "grant_types": ["authorization_code"],
                "token_endpoint_auth_method": "client_secret_post",
            },
        )
        response.raise_for_status()
        data = response.json()
        return data["client_id"], data["client_secret"]


@pytest.fixture
def provider():
    url = django_settings.__dict__.get("_test_oidc_url") or __import__("os").environ.get(
        "TEST_OIDC_URL"
    )
    if not url:
        pytest.fail("No OpenID provider: run the tests through scripts/with-services.sh.")
    handle = Provider(url)
    yield handle
    handle.tamper()  # off again for the next test


@pytest.fixture
def staff_sso(provider, live_server, settings):
    client_id, secret = provider.client(live_server, "staff")
    settings.SSO_STAFF_DOMAINS = ["portal.test"]
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "staff",
                    "name": "Company account",
                    "client_id": client_id,
                    "secret": secret,
                    "settings": {"server_url": provider.url, "oauth_pkce_enabled": True},
                }
            ]
        }
    }
    return provider


@pytest.fixture
def alpha_sso(provider, live_server, world):
    """Alpha Clinic's own provider, and alpha.test proved."""
    client_id, secret = provider.client(live_server, f"org-{world.org_a.pk}")
    IdentityProvider.objects.create(
        organisation=world.org_a,
        name="Alpha SSO",
        server_url=provider.url,
        client_id=client_id,
        client_secret=secret,
    )
    DomainClaim.objects.create(
        organisation=world.org_a,
        domain="alpha.test",
        proof_email="it@alpha.test",
        verified_at="2026-01-01T00:00:00Z",
    )
    return provider


def provider_login(page, login: str, password: str = OP_PASSWORD) -> None:
    expect(page.get_by_role("heading", name="Company sign-in")).to_be_visible()
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def staff_button(page) -> None:
    page.goto("/accounts/login/")
    page.get_by_role("button", name="Staff: sign in with Company account").click()


def organisation_button(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Your work address").fill(email)
    page.get_by_role("button", name="Sign in with your organisation's single sign-on").click()


def signed_out(page) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def refused(page, text: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("You are not signed in")
    expect(page.get_by_test_id("sso-refused")).to_contain_text(text)


def log_out(page) -> None:
    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Log out").click()


def test_staff_sign_in_with_a_provider_second_factor_then_sign_out_of_both(page, world, staff_sso):
    login = staff_sso.person(world.am_a.email, amr=("pwd", "otp"))
    staff_button(page)
    provider_login(page, login)
    # The provider checked a second factor: no code asked here, straight to the workspace.
    expect(page).to_have_url(re.compile(r"/workspace/|/$"))
    expect(page.locator(".user-menu summary")).to_contain_text("Anna Manager")

    log_out(page)
    # The provider's RP-initiated logout, then back to our sign-in page.
    expect(page.get_by_role("heading", name="Sign out of the company account")).to_be_visible()
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    signed_out(page)
    # The provider's session ended too: it asks for the password again.
    staff_button(page)
    expect(page.get_by_role("heading", name="Company sign-in")).to_be_visible()


def test_staff_signed_in_by_password_alone_at_the_provider_are_asked_for_a_second_factor(
    page, world, staff_sso
):
    login = staff_sso.person(world.am_a.email, amr=("pwd",))
    staff_button(page)
    provider_login(page, login)
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor sign-in")
    page.goto("/workspace/queue/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor sign-in")


def test_someone_new_from_a_proved_domain_joins_as_a_member(page, world, alpha_sso):
    login = alpha_sso.person("new.colleague@alpha.test")
    organisation_button(page, "new.colleague@alpha.test")
    provider_login(page, login)
    expect(page).to_have_url(re.compile(r"/$"))
    user = User.objects.get(email="new.colleague@alpha.test")
    assert list(Membership.objects.filter(user=user).values_list("organisation", "role")) == [
        (world.org_a.pk, MembershipRole.MEMBER)
    ]


def test_a_domain_not_claimed_is_refused(page, world, alpha_sso):
    # The login page finds no provider for it...
    organisation_button(page, "someone@unclaimed.test")
    expect(page.get_by_text("No organisation signs in with its own provider")).to_be_visible()
    # ...and Alpha's provider cannot sign in an address outside Alpha's proved domains.
    login = alpha_sso.person("someone@unclaimed.test")
    organisation_button(page, "anyone@alpha.test")
    provider_login(page, login)
    refused(page, "has not proved the domain unclaimed.test")
    signed_out(page)
    assert not User.objects.filter(email="someone@unclaimed.test").exists()


def test_a_person_removed_at_the_provider_cannot_sign_in(page, world, alpha_sso):
    login = alpha_sso.person(world.member_a.email)
    organisation_button(page, world.member_a.email)
    provider_login(page, login)
    expect(page).to_have_url(re.compile(r"/$"))
    log_out(page)
    page.get_by_role("button", name="No, stay signed in").click()  # the provider's session stays
    alpha_sso.remove(login)

    organisation_button(page, world.member_a.email)
    # The provider's session no longer stands for anyone: it asks again, and refuses them.
    provider_login(page, login)
    expect(page.get_by_role("alert")).to_contain_text("No such person")
    signed_out(page)


@pytest.mark.parametrize(
    "forged", [{"aud": "another-application"}, {"iss": "http://127.0.0.1:1/another-issuer"}]
)
def test_an_id_token_for_another_audience_or_issuer_is_refused(page, world, alpha_sso, forged):
    login = alpha_sso.person(world.member_a.email)
    alpha_sso.tamper(**forged)
    organisation_button(page, world.member_a.email)
    provider_login(page, login)
    refused(page, "could not be verified")
    signed_out(page)


def test_a_replayed_or_missing_state_is_refused(page, browser, live_server, world, alpha_sso):
    login = alpha_sso.person(world.member_a.email)
    callbacks = []
    page.on("request", lambda r: callbacks.append(r.url) if "/callback/" in r.url else None)
    organisation_button(page, world.member_a.email)
    provider_login(page, login)
    expect(page).to_have_url(re.compile(r"/$"))
    [callback] = callbacks

    # The same answer again, in the same browser: its state was used up.
    log_out(page)
    page.get_by_role("button", name="Yes, sign me out").click()
    page.goto(callback)
    refused(page, "already used")
    signed_out(page)

    # Someone else's browser replaying it (a stolen or injected answer).
    other = browser.new_context(base_url=live_server.url)
    try:
        intruder = other.new_page()
        intruder.goto(callback)
        refused(intruder, "did not start here")
    finally:
        other.close()

    # A sign-in whose request to the provider lost its state: the provider answers without
    # one (state is optional in OAuth), and the portal refuses the answer.
    to_provider = re.compile(r".*/auth\?.*")
    page.route(to_provider, lambda route: route.continue_(url=_without_state(route.request.url)))
    organisation_button(page, world.member_a.email)
    provider_login(page, login)
    refused(page, "did not start here")
    page.unroute(to_provider)
    signed_out(page)


def _without_state(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "state"]
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_customer_admin_sets_up_sso_and_proves_a_domain_by_email(page, world, mailoutbox, settings):
    settings.PORTAL_BASE_URL = "http://testserver"
    sign_in(page, world.customer_admin_a.email)
    page.goto("/accounts/members/")
    page.get_by_role("link", name="single sign-on").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Single sign-on for Alpha Clinic")
    page.get_by_label("Issuer URL").fill("https://id.alpha.test")
    page.get_by_label("Client ID").fill("portal")
    page.get_by_label("Client secret").fill("from-the-provider")
    page.get_by_role("button", name="Save single sign-on").click()
    expect(page.get_by_text("Single sign-on saved.")).to_be_visible()

    page.get_by_role("textbox", name="Email domain").fill("Alpha.test")
    page.get_by_label("Send the confirmation to").fill("it@alpha.test")
    page.get_by_role("button", name="Send the confirmation").click()
    expect(page.get_by_text("Waiting for it@alpha.test")).to_be_visible()

    [message] = mailoutbox
    path = urlsplit(re.search(r"http://testserver(\S+)", message.body).group(0)).path
    page.goto(path)
    page.get_by_role("button", name="Yes, alpha.test is ours").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("alpha.test is confirmed")
    page.goto("/accounts/sso/")
    expect(page.locator(".pill", has_text="Proved")).to_be_visible()
    assert DomainClaim.objects.get(organisation=world.org_a).verified_at is not None


def test_a_password_is_refused_with_a_pointer_to_the_sso_button(page, world, alpha_sso):
    IdentityProvider.objects.filter(organisation=world.org_a).update(required=True)
    page.goto("/accounts/login/")
    page.get_by_label("Email", exact=True).fill(world.member_a.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("signs in with its own identity provider")
    signed_out(page)
