"""Single sign-on pages: starting a sign-in, the customer admin's provider and domains, the
domain proof link, and the sign-out that also ends the provider's session (accounts/sso.py)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import policy, sso
from accounts.decorators import customer_screen
from accounts.forms import DomainClaimForm, IdentityProviderForm, LoginForm, SingleSignOnForm
from accounts.models import DomainClaim, IdentityProvider
from config.forms import add_service_errors


def _next_url(request) -> str:
    url = request.POST.get("next", "")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return ""


def login_context(sso_form=None) -> dict:
    """What the login page shows of single sign-on."""
    staff_name = settings.SSO_STAFF_NAME if sso.staff_provider_configured() else ""
    return {"sso_form": sso_form or SingleSignOnForm(), "sso_staff_name": staff_name}


@require_POST
def sso_start(request):
    """The login page's single sign-on buttons: the staff's provider, or the provider of the
    organisation that proved the email's domain. Off to the provider, with a fresh `state`."""
    adapter = sso.SocialAccountAdapter()
    if request.POST.get("provider") == sso.STAFF_PROVIDER_ID and sso.staff_provider_configured():
        provider_id = sso.STAFF_PROVIDER_ID
    else:
        form = SingleSignOnForm(request.POST)
        found = form.is_valid() and sso.provider_for_email(form.cleaned_data["email"])
        if not found:
            if form.is_valid():
                form.add_error(
                    "email",
                    _(
                        "No organisation signs in with its own provider at this address's "
                        "domain: use your password."
                    ),
                )
            context = {
                "form": LoginForm(request),
                "next": _next_url(request),
                **login_context(form),
            }
            return render(request, "accounts/login.html", context, status=400)
        provider_id = found.provider_id
    provider = adapter.get_provider(request, provider_id)
    response = provider.redirect(request, process="login", next_url=_next_url(request) or None)
    if response.status_code != 302:
        return response
    title = _("Taking you to %(provider)s…") % {"provider": provider.app.name}
    return _onward(request, response["Location"], title)


def _onward(request, url: str, title: str, note: str = ""):
    """A page that goes on to the provider at once. Not a redirect: the form that got here
    may post only to us (Content-Security-Policy form-action), and browsers hold a redirect
    after a form to that too."""
    context = {"url": url, "title": title, "note": note}
    return render(request, "accounts/sso_onward.html", context)


class LogoutView(auth_views.LogoutView):
    """Sign out of the portal and, after single sign-on, of the provider too (its
    end_session_endpoint brings the person back to our sign-in page)."""

    def post(self, request, *args, **kwargs):
        provider_id = request.session.get(sso.SESSION_PROVIDER)
        provider_logout = sso.provider_logout_url(request, provider_id) if provider_id else ""
        response = super().post(request, *args, **kwargs)
        if provider_logout:
            return _onward(
                request,
                provider_logout,
                _("Signing you out of your identity provider…"),
                note=_("You are signed out of the portal."),
            )
        return response


def _require_manager(request):
    if not policy.can_manage_members(
        request.user, request.organisation, viewing_as=request.viewing_as
    ):
        raise PermissionDenied(_("Only your organisation's customer admins manage single sign-on."))


def _page(request, provider_form, claim_form, status=200):
    organisation = request.organisation
    context = {
        "provider": IdentityProvider.objects.filter(organisation=organisation).first(),
        "claims": DomainClaim.objects.visible_to(request.user).filter(organisation=organisation),
        "provider_form": provider_form,
        "claim_form": claim_form,
        "callback_url": request.build_absolute_uri(
            reverse("openid_connect_callback", args=[f"org-{organisation.pk}"])
        ),
        "logout_url": request.build_absolute_uri(reverse(settings.LOGOUT_REDIRECT_URL)),
    }
    return render(request, "accounts/sso.html", context, status=status)


@customer_screen
def sso_settings(request):
    """The customer admin's single sign-on: their provider, and the domains it signs in."""
    _require_manager(request)
    provider = IdentityProvider.objects.filter(organisation=request.organisation).first()
    initial = {}
    if provider:
        initial = {
            "name": provider.name,
            "server_url": provider.server_url,
            "client_id": provider.client_id,
            "required": provider.required,
        }
    form = IdentityProviderForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            sso.identity_provider_set(
                organisation=request.organisation,
                by=request.user,
                via_view_as=request.viewing_as,
                **form.cleaned_data,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Single sign-on saved."))
            return redirect("accounts:sso")
    return _page(request, form, DomainClaimForm(), status=400 if form.errors else 200)


@require_POST
@customer_screen
def sso_domain_add(request):
    _require_manager(request)
    form = DomainClaimForm(request.POST)
    if form.is_valid():
        try:
            claim = sso.domain_claim_start(
                organisation=request.organisation,
                by=request.user,
                via_view_as=request.viewing_as,
                **form.cleaned_data,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("We sent a link to %(email)s: following it proves the domain.")
                % {"email": claim.proof_email},
            )
            return redirect("accounts:sso")
    return _page(request, IdentityProviderForm(), form, status=400)


@require_POST
@customer_screen
def sso_domain_delete(request, claim_id: int):
    _require_manager(request)
    claims = DomainClaim.objects.visible_to(request.user)
    claim = get_object_or_404(claims, organisation=request.organisation, pk=claim_id)
    sso.domain_claim_delete(claim=claim, by=request.user, via_view_as=request.viewing_as)
    messages.success(request, _("%(domain)s is no longer claimed.") % {"domain": claim.domain})
    return redirect("accounts:sso")


def sso_domain_verify(request, token: str):
    """The link in the proof mail: a button to confirm (a mail scanner's GET proves nothing)."""
    claim = sso.domain_claim_for_token(token)
    if claim is None:
        return render(request, "accounts/sso_domain_verify.html", {"claim": None}, status=404)
    if request.method == "POST":
        try:
            claim = sso.domain_claim_verify(token=token)
        except ValidationError as error:
            return render(
                request,
                "accounts/sso_domain_verify.html",
                {"claim": claim, "error": error.messages[0]},
                status=409,
            )
        return render(request, "accounts/sso_domain_verify.html", {"claim": claim, "done": True})
    return render(request, "accounts/sso_domain_verify.html", {"claim": claim})
