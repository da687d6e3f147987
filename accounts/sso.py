"""Single sign-on with OpenID Connect: which provider may sign whom in, and what it means here.

django-allauth's `openid_connect` provider does the protocol: the `state` (single use, kept in
the session), PKCE, the code exchange, and the ID token's signature, issuer, audience and
expiry (PyJWT against the provider's published keys). What a verified sign-in means for the
portal is decided here, in the adapter's `pre_social_login`, before allauth would do anything
with it: we sign the person in ourselves or refuse, and allauth's own sign-up and account
linking are never reached.

- The staff's provider (settings.SSO_STAFF_*) signs in existing staff accounts at the
  staff's email domains only. Staff accounts are made by admins, not by signing in.
- A customer organisation's provider (IdentityProvider) signs in people whose email is at a
  domain that organisation has proved (DomainClaim); someone new joins it as a member (never
  more), someone its admins deactivated stays out, and a staff address is refused.
- Where the organisation requires its provider, its members' passwords are refused.
- A provider that says it checked a second factor (`amr` or a configured `acr`) verifies the
  session for the portal's two-factor rule (SingleSignOnDevice); otherwise the portal asks
  for its own code, as after a password.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import login as otp_login

from accounts.choices import AuditAction, MembershipRole
from accounts.models import (
    DomainClaim,
    IdentityProvider,
    Membership,
    Organisation,
    SingleSignOnDevice,
    User,
)
from accounts.platform import outbox
from accounts.platform.authentication import PERSON_BACKEND
from accounts.platform.tokens import new_token, token_hash

logger = logging.getLogger(__name__)

STAFF_PROVIDER_ID = "staff"
# Which provider signed this session in (for its sign-out).
SESSION_PROVIDER = "sso_provider"
# RFC 8176 methods that are, or include, something other than a password.
MFA_AMR = frozenset(
    {"mfa", "mca", "otp", "hwk", "swk", "sc", "sms", "tel", "fpt", "face", "iris", "retina", "vbm"}
)


class SignInRefused(Exception):
    """A verified sign-in that the portal does not accept; the message says why, to the person."""


# --- Domains -------------------------------------------------------------------------------------


def domain_normalise(raw: str) -> str:
    """A domain as we compare it: lower case, IDNA (xn--) form, no trailing dot.

    Raises ValidationError for anything that is not a host name with at least two labels."""
    text = (raw or "").strip().rstrip(".").lower()
    try:
        ascii_form = text.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError(
            {"domain": _("“%(raw)s” is not a domain name.") % {"raw": raw}}
        ) from None
    try:
        validate_email(f"postmaster@{ascii_form}")
    except ValidationError:
        raise ValidationError(
            {"domain": _("“%(raw)s” is not a domain name.") % {"raw": raw}}
        ) from None
    if "." not in ascii_form:
        raise ValidationError({"domain": _("Give the whole domain, e.g. example.com.")})
    return ascii_form


def email_domain(email: str) -> str:
    """The normalised domain of an address ('' when it has none we can read)."""
    _local, at, domain = (email or "").rpartition("@")
    if not at:
        return ""
    try:
        return domain_normalise(domain)
    except ValidationError:
        return ""


@transaction.atomic
def domain_claim_start(
    *, organisation: Organisation, domain: str, proof_email: str, by: User, via_view_as=False
) -> DomainClaim:
    """A customer admin claims a domain: a link goes to `proof_email`, an address at it.

    The domain counts only once someone follows the link (domain_claim_verify)."""
    from accounts.services import audit_record
    from accounts.tasks import domain_claim_send

    domain = domain_normalise(domain)
    if domain in {domain_normalise(d) for d in settings.SSO_STAFF_DOMAINS}:
        raise ValidationError({"domain": _("This is the portal staff's own domain.")})
    if email_domain(proof_email) != domain:
        raise ValidationError(
            {"proof_email": _("Give an address at %(domain)s.") % {"domain": domain}}
        )
    if DomainClaim.objects.filter(domain=domain, verified_at__isnull=False).exists():
        raise ValidationError({"domain": _("This domain is already proved by an organisation.")})
    token, hashed = new_token()
    claim, _created = DomainClaim.objects.update_or_create(
        organisation=organisation,
        domain=domain,
        defaults={
            "proof_email": User.objects.normalize_email(proof_email),
            "token_hash": hashed,
            "created_by": by,
            "created_at": timezone.now(),
        },
    )
    audit_record(
        actor=by,
        action=AuditAction.SSO_DOMAIN_CLAIMED,
        organisation=organisation,
        target=domain,
        detail={"proof_email": claim.proof_email},
        via_view_as=via_view_as,
    )
    outbox.enqueue_on_commit(domain_claim_send, claim.pk, token)
    return claim


def domain_claim_for_token(token: str) -> DomainClaim | None:
    if not token:
        return None
    return (
        DomainClaim.objects.select_related("organisation")
        .filter(token_hash=token_hash(token), verified_at__isnull=True)
        .first()
    )


@transaction.atomic
def domain_claim_verify(*, token: str) -> DomainClaim:
    """Whoever reads the mail at the domain followed the link: the claim is proved."""
    from accounts.services import audit_record

    claim = domain_claim_for_token(token)
    if claim is None:
        raise ValidationError(_("This link has been used or replaced by a newer one."))
    claim = DomainClaim.objects.select_for_update().get(pk=claim.pk)
    claim.verified_at = timezone.now()
    claim.token_hash = ""
    try:
        with transaction.atomic():
            claim.save(update_fields=["verified_at", "token_hash"])
    except IntegrityError:
        raise ValidationError(_("Another organisation has proved this domain meanwhile.")) from None
    audit_record(
        actor=None,
        action=AuditAction.SSO_DOMAIN_VERIFIED,
        organisation=claim.organisation,
        target=claim.domain,
        detail={"proof_email": claim.proof_email},
    )
    return claim


@transaction.atomic
def domain_claim_delete(*, claim: DomainClaim, by: User, via_view_as: bool = False) -> None:
    from accounts.services import audit_record

    audit_record(
        actor=by,
        action=AuditAction.SSO_DOMAIN_CLAIMED,
        organisation=claim.organisation,
        target=claim.domain,
        detail={"removed": True},
        via_view_as=via_view_as,
    )
    claim.delete()


# --- Providers -----------------------------------------------------------------------------------


@transaction.atomic
def identity_provider_set(
    *,
    organisation: Organisation,
    name: str,
    server_url: str,
    client_id: str,
    client_secret: str,
    required: bool,
    by: User,
    via_view_as: bool = False,
) -> IdentityProvider:
    """A customer admin sets up (or changes) their organisation's provider. An empty secret
    keeps the one saved."""
    from accounts.services import audit_record

    provider = IdentityProvider.objects.filter(organisation=organisation).first()
    provider = provider or IdentityProvider(organisation=organisation)
    provider.name = name
    provider.server_url = server_url.rstrip("/")
    provider.client_id = client_id
    provider.client_secret = client_secret or provider.client_secret
    provider.required = required
    if not provider.client_secret:
        raise ValidationError(
            {"client_secret": _("The provider gave you a client secret: paste it.")}
        )
    provider.full_clean()
    provider.save()
    audit_record(
        actor=by,
        action=AuditAction.SSO_CONFIGURED,
        organisation=organisation,
        target=name,
        detail={"server_url": provider.server_url, "required": required},
        via_view_as=via_view_as,
    )
    return provider


def provider_for_email(email: str) -> IdentityProvider | None:
    """The provider of the organisation that proved this address's domain, if it has one."""
    domain = email_domain(email)
    if not domain:
        return None
    return (
        IdentityProvider.objects.select_related("organisation")
        .filter(
            organisation__domain_claims__domain=domain,
            organisation__domain_claims__verified_at__isnull=False,
        )
        .first()
    )


def staff_provider_configured() -> bool:
    return bool(settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {}).get("APPS"))


def password_refused_reason(user: User) -> str:
    """Why this person may not sign in with a password ('' when they may)."""
    names = list(
        Organisation.objects.filter(
            memberships__user=user, memberships__is_active=True, identity_provider__required=True
        ).values_list("name", flat=True)
    )
    if not names:
        return ""
    return _(
        "%(organisations)s signs in with its own identity provider: use “Sign in with your "
        "organisation's single sign-on” below, with this email address."
    ) % {"organisations": ", ".join(names)}


def _app(provider: IdentityProvider) -> SocialApp:
    """The provider as allauth's (unsaved) app: our row is the one place it is kept."""
    return SocialApp(
        provider="openid_connect",
        provider_id=provider.provider_id,
        name=provider.name,
        client_id=provider.client_id,
        secret=provider.client_secret,
        settings={"server_url": provider.server_url, "oauth_pkce_enabled": True},
    )


# --- Sign-in -------------------------------------------------------------------------------------


def second_factor_asserted(claims: dict) -> bool:
    """The provider says it checked more than a password (RFC 8176 `amr`, or a configured `acr`)."""
    amr = claims.get("amr") or []
    if isinstance(amr, str):
        amr = [amr]
    if MFA_AMR.intersection(str(method).lower() for method in amr):
        return True
    return bool(claims.get("acr")) and claims.get("acr") in settings.SSO_MFA_ACR_VALUES


def user_for_sign_in(*, provider_id: str, claims: dict) -> User:
    """The portal account a verified sign-in of `provider_id` stands for; SignInRefused if none.

    `claims` are the ID token's (and the userinfo's) claims, already verified by allauth."""
    email = User.objects.normalize_email(str(claims.get("email") or "")).strip()
    domain = email_domain(email)
    if not domain:
        raise SignInRefused(_("Your identity provider did not give us your email address."))
    if claims.get("email_verified") is False:
        raise SignInRefused(_("Your identity provider has not verified your email address."))
    if provider_id == STAFF_PROVIDER_ID:
        return _staff_user(email, domain)
    organisation_id = provider_id.removeprefix("org-")
    provider = (
        IdentityProvider.objects.select_related("organisation")
        .filter(organisation_id=int(organisation_id) if organisation_id.isdigit() else None)
        .first()
    )
    if provider is None:
        raise SignInRefused(_("This identity provider is no longer set up on the portal."))
    return _member_user(provider.organisation, email, domain, claims)


def _staff_user(email: str, domain: str) -> User:
    staff_domains = {domain_normalise(d) for d in settings.SSO_STAFF_DOMAINS}
    if domain not in staff_domains:
        raise SignInRefused(
            _("The company account cannot sign in addresses at %(domain)s.") % {"domain": domain}
        )
    user = User.objects.staff().filter(email__iexact=email, is_active=True).first()
    if user is None:
        raise SignInRefused(
            _(
                "There is no staff account for %(email)s on the portal: an admin makes staff "
                "accounts."
            )
            % {"email": email}
        )
    return user


@transaction.atomic
def _member_user(organisation: Organisation, email: str, domain: str, claims: dict) -> User:
    from accounts.services import audit_record

    if not organisation.domain_claims.filter(domain=domain, verified_at__isnull=False).exists():
        raise SignInRefused(
            _(
                "%(organisation)s has not proved the domain %(domain)s, so its identity provider "
                "cannot sign in this address here. Ask your organisation's admin."
            )
            % {"organisation": organisation.name, "domain": domain}
        )
    user = User.objects.filter(email__iexact=email).first()
    if user is not None and (user.is_employee or not user.is_active):
        raise SignInRefused(_("This address cannot sign in through your organisation's provider."))
    if user is None:
        user = User.objects.create_user(
            email=email, password=None, full_name=str(claims.get("name") or "")[:200]
        )
    membership, created = Membership.objects.get_or_create(
        user=user, organisation=organisation, defaults={"role": MembershipRole.MEMBER}
    )
    if not membership.is_active:
        raise SignInRefused(
            _("Your access to %(organisation)s was ended by its admins.")
            % {"organisation": organisation.name}
        )
    if created:
        audit_record(
            actor=user,
            action=AuditAction.SSO_JOINED,
            organisation=organisation,
            target=email,
            detail={"role": MembershipRole.MEMBER},
        )
    return user


def sign_in(request, *, user: User, provider_id: str, claims: dict) -> None:
    """Log the person in; a second factor the provider checked verifies the session too."""
    login(request, user, backend=PERSON_BACKEND)
    request.session[SESSION_PROVIDER] = provider_id
    if second_factor_asserted(claims):
        device, _created = SingleSignOnDevice.objects.get_or_create(
            user=user, defaults={"name": "Identity provider", "confirmed": True}
        )
        otp_login(request, device)


def refused(request, reason: str, *, status: int = 403):
    return render(request, "accounts/sso_refused.html", {"reason": reason}, status=status)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """allauth's hooks: our providers, our decision after a verified sign-in, our error page."""

    def list_apps(self, request, provider=None, client_id=None):
        if provider and provider.startswith("org-") and provider[4:].isdigit():
            found = IdentityProvider.objects.filter(organisation_id=int(provider[4:])).first()
            return [_app(found)] if found else []
        return super().list_apps(request, provider=provider, client_id=client_id)

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return False  # people join in pre_social_login, by our rules, or not at all

    def pre_social_login(self, request, sociallogin) -> None:
        extra = sociallogin.account.extra_data or {}
        id_token = extra.get("id_token") or {}
        userinfo = extra.get("userinfo") or {}
        provider_id = sociallogin.account.provider
        if userinfo and id_token and userinfo.get("sub") != id_token.get("sub"):
            raise ImmediateHttpResponse(refused(request, _("The provider's answers disagree.")))
        claims = {**userinfo, **id_token}
        try:
            user = user_for_sign_in(provider_id=provider_id, claims=claims)
        except SignInRefused as error:
            logger.info("Single sign-on refused (%s): %s", provider_id, error)
            raise ImmediateHttpResponse(refused(request, str(error))) from None
        sign_in(request, user=user, provider_id=provider_id, claims=claims)
        next_url = (sociallogin.state or {}).get("next") or settings.LOGIN_REDIRECT_URL
        raise ImmediateHttpResponse(redirect(next_url))

    def on_authentication_error(
        self, request, provider, error=None, exception=None, extra_context=None
    ) -> None:
        logger.warning("Single sign-on failed (%s): %s %r", provider, error, exception)
        context = extra_context or {}
        if "state_id" in context or context.get("state") is None:
            reason = _(
                "This sign-in was already used, has expired or did not start here. "
                "Start again from the sign-in page."
            )
        else:
            reason = _(
                "The identity provider's answer could not be verified: you are not signed in."
            )
        raise ImmediateHttpResponse(refused(request, reason, status=400))


def provider_logout_url(request, provider_id: str) -> str:
    """The provider's RP-initiated logout (end_session_endpoint), back to our sign-in page;
    '' when it has none or cannot be reached."""
    from django.urls import reverse

    adapter = SocialAccountAdapter()
    try:
        provider = adapter.get_provider(request, provider_id)
        endpoint = provider.get_oauth2_adapter(request).openid_config.get("end_session_endpoint")
    except Exception:  # the portal's sign-out must not depend on the provider
        logger.warning("No sign-out at the identity provider %s", provider_id, exc_info=True)
        return ""
    if not endpoint:
        return ""
    back = request.build_absolute_uri(reverse(settings.LOGOUT_REDIRECT_URL))
    query = urlencode({"client_id": provider.app.client_id, "post_logout_redirect_uri": back})
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
