"""Two-factor sign-in: the code step, setting up an authenticator, recovery codes."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.forms import (
    EnrolmentForm,
    SecondFactorForm,
    TwoFactorDisableForm,
)
from accounts.platform import two_factor
from accounts.platform.middleware import client_ip
from accounts.views.sign_in import login_locked_out
from config.forms import add_service_errors

SESSION_NEW_RECOVERY_CODES = "new_recovery_codes"


def _next_url(request, fallback: str = "") -> str:
    url = request.GET.get("next", "") or fallback
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def two_factor_login(request):
    """The login's code step: a code from the authenticator app, or a recovery code.

    For the person whose password was just right (not logged in yet), or for a signed-in
    session that still has to be verified. Each wrong code is a failed login for axes.
    """
    if request.user.is_authenticated:
        if request.user.is_verified() or not two_factor.has_authenticator(request.user):
            return redirect(_next_url(request))
        user, pending = request.user, {}
    else:
        user, pending = two_factor.pending_user(request)
        if user is None:
            messages.info(request, _("Please sign in again."))
            return redirect("accounts:login")
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if two_factor.is_locked_out(request, user):
            request.session.pop(two_factor.SESSION_PENDING, None)
            return login_locked_out(request)
        device = two_factor.code_verify(user=user, code=form.cleaned_data["code"])
        if device is not None:
            note = two_factor.second_factor_passed(
                request, user=user, device=device, backend=pending.get("backend")
            )
            if note:
                messages.warning(request, note)
            return redirect(_next_url(request, pending.get("next", "")))
        two_factor.failure_count(request, user)
        if getattr(request, "axes_locked_out", False):
            request.session.pop(two_factor.SESSION_PENDING, None)  # axes answers with the lock
        form.add_error("code", _("That code is not right. Codes change every 30 seconds."))
    return render(request, "accounts/two_factor_login.html", {"form": form})


@login_required
def two_factor_page(request):
    """Turn on two-factor sign-in (scan, confirm with a first code, get recovery codes once),
    or see it, make new recovery codes and, where it is not required, turn it off."""
    user = request.user
    device = two_factor.authenticator(user)
    if device is not None and not user.is_verified():
        return redirect("accounts:two_factor_login")  # the code for this session first
    if device is not None:
        return _two_factor_status(request, device, TwoFactorDisableForm())
    form = EnrolmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = two_factor.enrolment_confirm(
                user=user, code=form.cleaned_data["code"], ip_address=client_ip(request)
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            two_factor.second_factor_passed(request, user=user, device=device, backend=None)
            request.session[SESSION_NEW_RECOVERY_CODES] = codes
            messages.success(request, _("Two-factor sign-in is on."))
            return redirect(f"{request.path}?{request.GET.urlencode()}")
    setup = two_factor.enrolment_device(user=user)
    required = two_factor.required_for(user)
    context = {
        "form": form,
        "qr_svg": two_factor.qr_svg(setup),
        "secret": two_factor.secret_text(setup),
        "required": required,
        "reason": two_factor.required_reason(user) if required else "",
    }
    return render(
        request, "accounts/two_factor_setup.html", context, status=400 if form.errors else 200
    )


def _two_factor_status(request, device, disable_form, status: int = 200):
    user = request.user
    required = two_factor.required_for(user)
    context = {
        "device": device,
        "codes_left": two_factor.recovery_codes_left(user),
        "new_codes": request.session.pop(SESSION_NEW_RECOVERY_CODES, None),
        "next": _next_url(request),
        "required": required,
        "reason": two_factor.required_reason(user) if required else "",
        "disable_form": disable_form,
    }
    return render(request, "accounts/two_factor.html", context, status=status)


@require_POST
@login_required
def two_factor_recovery_codes(request):
    if not request.user.is_verified():
        messages.error(request, _("Turn on two-factor sign-in first."))
        return redirect("accounts:two_factor")
    codes = two_factor.recovery_codes_replace(user=request.user, ip_address=client_ip(request))
    request.session[SESSION_NEW_RECOVERY_CODES] = codes
    messages.success(request, _("New recovery codes: the old ones no longer work."))
    return redirect("accounts:two_factor")


@require_POST
@login_required
def two_factor_disable(request):
    """Only where it is not required; asks for the password or a current code, and either
    one wrong counts towards the login lock."""
    user = request.user
    if two_factor.required_for(user):
        raise PermissionDenied(two_factor.required_reason(user))
    device = two_factor.authenticator(user)
    if device is None or not user.is_verified():
        messages.info(request, _("Two-factor sign-in is not on."))
        return redirect("accounts:two_factor")
    form = TwoFactorDisableForm(request.POST)
    if form.is_valid():
        if form.cleaned_data["password"]:
            # authenticate(), not check_password(): the login throttle counts these tries.
            confirmed = authenticate(
                request, username=user.email, password=form.cleaned_data["password"]
            )
            ok = confirmed is not None and confirmed.pk == user.pk
        else:
            ok = two_factor.code_verify(user=user, code=form.cleaned_data["code"]) is not None
            if not ok:
                two_factor.failure_count(request, user)
        if ok:
            two_factor.two_factor_disable(user=user, ip_address=client_ip(request))
            messages.success(request, _("Two-factor sign-in is off."))
            return redirect("accounts:two_factor")
        form.add_error(None, _("That password or code is not right."))
    return _two_factor_status(request, device, form, status=400)
