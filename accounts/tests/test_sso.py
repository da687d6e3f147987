"""Single sign-on's rules (accounts/sso.py): domains and their proof, who a verified sign-in
may be, passwords refused where the organisation requires its provider, and the second factor
a provider vouches for. The protocol itself is tested against a real provider in
tests/test_browser_sso.py."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from accounts import sso
from accounts.choices import AuditAction, MembershipRole
from accounts.models import AuditEvent, DomainClaim, IdentityProvider, Membership, User
from accounts.tests.factories import PASSWORD


def proved(organisation, domain):
    return DomainClaim.objects.create(
        organisation=organisation,
        domain=domain,
        proof_email=f"it@{domain}",
        verified_at="2026-01-01T00:00:00Z",
    )


def provider_of(organisation, *, required=False):
    return IdentityProvider.objects.create(
        organisation=organisation,
        name="Alpha SSO",
        server_url="https://id.alpha.test",
        client_id="portal",
        client_secret="s3cret",
        required=required,
    )


def verify_link_token(message) -> str:
    match = re.search(r"/accounts/sso/domains/verify/([^/\s]+)/", message.body)
    assert match, message.body
    return match.group(1)


# --- Domains -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),
        ("  alpha.test ", "alpha.test"),
        ("bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_domains_are_compared_in_one_form(raw, expected):
    assert sso.domain_normalise(raw) == expected


@pytest.mark.parametrize("raw", ["", "com", "exa mple.com", "a@b.com", "-x.com", "..", "x..com"])
def test_what_is_not_a_domain_is_refused(raw):
    with pytest.raises(ValidationError):
        sso.domain_normalise(raw)


label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=20)
top_level = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=10)


@given(st.lists(label, min_size=1, max_size=3), top_level, st.booleans(), st.booleans())
def test_any_spelling_of_a_domain_is_the_same_domain(labels, tld, upper, trailing_dot):
    domain = ".".join([*labels, tld])
    spelled = (domain.upper() if upper else domain) + ("." if trailing_dot else "")
    assert sso.domain_normalise(spelled) == sso.domain_normalise(domain) == domain
    assert sso.email_domain(f"Someone@{spelled}") == domain


@given(st.emails())
def test_an_email_domain_is_its_part_after_the_last_at(email):
    domain = sso.email_domain(email)
    assert domain == "" or email.lower().rstrip(".").endswith(domain) or "xn--" in domain


def test_a_domain_is_proved_by_following_the_link_sent_to_an_address_at_it(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        claim = sso.domain_claim_start(
            organisation=world.org_a,
            domain="Alpha.test",
            proof_email="it@alpha.test",
            by=world.customer_admin_a,
        )
    assert claim.domain == "alpha.test"
    assert claim.verified_at is None
    assert sso.provider_for_email("new@alpha.test") is None  # not proved yet
    [message] = mailoutbox
    assert message.to == ["it@alpha.test"]
    token = verify_link_token(message)
    sso.domain_claim_verify(token=token)
    claim.refresh_from_db()
    assert claim.verified_at is not None
    with pytest.raises(ValidationError):
        sso.domain_claim_verify(token=token)  # once only
    assert AuditEvent.objects.filter(action=AuditAction.SSO_DOMAIN_VERIFIED).count() == 1


def test_the_proof_address_must_be_at_the_domain(world):
    with pytest.raises(ValidationError) as error:
        sso.domain_claim_start(
            organisation=world.org_a,
            domain="alpha.test",
            proof_email="it@alpha.test.evil.example",
            by=world.customer_admin_a,
        )
    assert "proof_email" in error.value.message_dict


def test_a_domain_proved_by_one_organisation_cannot_be_claimed_by_another(world):
    proved(world.org_a, "alpha.test")
    with pytest.raises(ValidationError):
        sso.domain_claim_start(
            organisation=world.org_b,
            domain="ALPHA.test",
            proof_email="it@alpha.test",
            by=world.customer_admin_b,
        )


def test_two_waiting_claims_of_one_domain_prove_it_for_the_first_to_follow_its_link(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sso.domain_claim_start(
            organisation=world.org_a, domain="shared.test", proof_email="a@shared.test",
            by=world.customer_admin_a,
        )  # fmt: skip
        sso.domain_claim_start(
            organisation=world.org_b, domain="shared.test", proof_email="b@shared.test",
            by=world.customer_admin_b,
        )  # fmt: skip
    first, second = (verify_link_token(m) for m in mailoutbox)
    sso.domain_claim_verify(token=first)
    with pytest.raises(ValidationError):
        sso.domain_claim_verify(token=second)
    assert list(DomainClaim.objects.filter(verified_at__isnull=False).values_list(
        "organisation", flat=True)) == [world.org_a.pk]  # fmt: skip


def test_the_staff_domain_cannot_be_claimed(world, settings):
    settings.SSO_STAFF_DOMAINS = ["portal.test"]
    with pytest.raises(ValidationError):
        sso.domain_claim_start(
            organisation=world.org_a,
            domain="portal.test",
            proof_email="it@portal.test",
            by=world.customer_admin_a,
        )


# --- Who a sign-in may be ----------------------------------------------------------------------


def test_someone_new_from_a_proved_domain_joins_as_a_member_only(world):
    provider = provider_of(world.org_a)
    proved(world.org_a, "alpha.test")
    user = sso.user_for_sign_in(
        provider_id=provider.provider_id,
        claims={"email": "New.Person@Alpha.TEST", "name": "New Person", "groups": ["admin"]},
    )
    membership = Membership.objects.get(user=user)
    assert membership.organisation == world.org_a
    assert membership.role == MembershipRole.MEMBER
    assert not user.has_usable_password()
    # Signing in again is the same person, not a second account.
    again = sso.user_for_sign_in(
        provider_id=provider.provider_id, claims={"email": "new.person@alpha.test"}
    )
    assert again == user
    assert Membership.objects.filter(user=user).count() == 1


@pytest.mark.parametrize(
    "email",
    ["someone@bravo.test", "someone@evil.alpha.test", "someone@alpha.test.evil", "nobody"],
)
def test_a_provider_cannot_sign_in_an_address_outside_its_proved_domains(world, email):
    provider = provider_of(world.org_a)
    proved(world.org_a, "alpha.test")
    proved(world.org_b, "bravo.test")
    with pytest.raises(sso.SignInRefused):
        sso.user_for_sign_in(provider_id=provider.provider_id, claims={"email": email})
    assert not User.objects.filter(email__iexact=email).exists() or email == "someone@bravo.test"


def test_a_waiting_claim_signs_no_one_in(world):
    provider = provider_of(world.org_a)
    DomainClaim.objects.create(
        organisation=world.org_a, domain="alpha.test", proof_email="x@alpha.test"
    )
    with pytest.raises(sso.SignInRefused):
        sso.user_for_sign_in(provider_id=provider.provider_id, claims={"email": "n@alpha.test"})


def test_a_colleague_deactivated_by_the_admins_stays_out(world):
    provider = provider_of(world.org_a)
    proved(world.org_a, "alpha.test")
    Membership.objects.filter(user=world.member_a).update(is_active=False)
    with pytest.raises(sso.SignInRefused, match="ended"):
        sso.user_for_sign_in(
            provider_id=provider.provider_id, claims={"email": world.member_a.email}
        )


def test_a_customer_provider_cannot_sign_in_a_staff_account(world, settings):
    settings.SSO_STAFF_DOMAINS = []
    provider = provider_of(world.org_a)
    proved(world.org_a, "portal.test")  # even if it had proved it somehow
    with pytest.raises(sso.SignInRefused):
        sso.user_for_sign_in(provider_id=provider.provider_id, claims={"email": world.am_a.email})


def test_the_staff_provider_signs_in_existing_staff_at_the_staff_domains_only(world, settings):
    settings.SSO_STAFF_DOMAINS = ["portal.test"]
    assert sso.user_for_sign_in(provider_id="staff", claims={"email": "AM.A@portal.test"}) == (
        world.am_a
    )
    for email in ("new.hire@portal.test", world.member_a.email):
        with pytest.raises(sso.SignInRefused):
            sso.user_for_sign_in(provider_id="staff", claims={"email": email})
    assert not User.objects.filter(email="new.hire@portal.test").exists()


def test_an_unverified_email_is_refused(world):
    provider = provider_of(world.org_a)
    proved(world.org_a, "alpha.test")
    with pytest.raises(sso.SignInRefused):
        sso.user_for_sign_in(
            provider_id=provider.provider_id,
            claims={"email": "n@alpha.test", "email_verified": False},
        )


@pytest.mark.parametrize(
    ("claims", "asserted"),
    [
        ({"amr": ["pwd"]}, False),
        ({}, False),
        ({"amr": ["pwd", "otp"]}, True),
        ({"amr": ["mfa"]}, True),
        ({"amr": ["hwk"]}, True),
        ({"amr": "MFA"}, True),
        ({"acr": "urn:company:mfa"}, True),
        ({"acr": "urn:company:password"}, False),
    ],
)
def test_a_second_factor_counts_when_amr_or_a_configured_acr_says_so(settings, claims, asserted):
    settings.SSO_MFA_ACR_VALUES = ["urn:company:mfa"]
    assert sso.second_factor_asserted(claims) is asserted


# --- Passwords ---------------------------------------------------------------------------------


def test_a_password_is_refused_where_the_organisation_requires_its_provider(client, world):
    provider_of(world.org_a, required=True)
    response = client.post(
        reverse("accounts:login"), {"username": world.member_a.email, "password": PASSWORD}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "signs in with its own identity provider" in response.content.decode()
    # Bravo has no such rule: its members keep their passwords.
    response = client.post(
        reverse("accounts:login"), {"username": world.member_b.email, "password": PASSWORD}
    )
    assert response.status_code == 302


def test_a_wrong_password_does_not_tell_whether_sso_is_required(client, world):
    provider_of(world.org_a, required=True)
    response = client.post(
        reverse("accounts:login"), {"username": world.member_a.email, "password": "wrong"}
    )
    assert "identity provider" not in response.content.decode()


def test_the_sso_button_finds_the_provider_of_a_proved_domain_only(client, world):
    provider_of(world.org_a)
    response = client.post(reverse("accounts:sso_start"), {"email": "someone@alpha.test"})
    assert response.status_code == 400  # alpha.test is not proved yet
    assert "No organisation signs in with its own provider" in response.content.decode()


@pytest.mark.parametrize("claims", [1, 20])
def test_the_sso_page_makes_as_many_queries_with_many_domains_as_with_one(
    client, world, django_assert_max_num_queries, claims
):
    provider_of(world.org_a)
    for n in range(claims):
        proved(world.org_a, f"site{n}.alpha.test")
    client.force_login(world.customer_admin_a)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("accounts:sso"))
    assert response.status_code == 200
    assert response.content.decode().count("Proved") == claims
