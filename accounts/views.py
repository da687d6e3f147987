"""Login and its code step, two-factor sign-in, organisation switching, "view as customer",
and colleagues."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import policy, selectors, services, two_factor
from accounts.decorators import customer_screen
from accounts.forms import (
    AcceptInvitationForm,
    ApiTokenForm,
    EnrolmentForm,
    HandoffForm,
    InvitationForm,
    LoginForm,
    OrganisationTwoFactorForm,
    SecondFactorForm,
    TwoFactorDisableForm,
)
from accounts.middleware import SESSION_ORGANISATION, SESSION_VIEW_AS, client_ip
from accounts.models import ApiToken, Organisation
from config.forms import add_service_errors, save_then_redirect


class LoginView(auth_views.LoginView):
    """The password step. Whoever has an authenticator is not logged in yet: the code step
    (two_factor_login) does that once the code is right."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        from accounts.sso_views import login_context

        return {**super().get_context_data(**kwargs), **login_context()}

    def form_valid(self, form):
        user = form.get_user()
        if two_factor.has_authenticator(user):
            two_factor.pending_start(self.request, user, next_url=self.get_success_url())
            return redirect("accounts:two_factor_login")
        return super().form_valid(form)


def login_locked_out(request, response=None, credentials=None):
    """What django-axes answers once an email has failed too often from one address.

    The same page for the web login, the admin login and a password check such
    as API token creation: it says why and for how long, and points to the
    password reset, which is not throttled by this lock.
    """
    from accounts.sso_views import login_context

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(
        request,
        "accounts/login.html",
        {"form": LoginForm(request), "locked_out_minutes": minutes, "next": "", **login_context()},
        status=429,
    )


@require_POST
def organisation_switch(request):
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    try:
        pk = int(request.POST.get("organisation", ""))
    except ValueError:
        raise Http404 from None
    organisation = selectors.customer_organisations(user=request.user).filter(pk=pk).first()
    if organisation is None:
        raise Http404
    request.session[SESSION_ORGANISATION] = organisation.pk
    return redirect("home")


@require_POST
def view_as_start(request, organisation_id: int):
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    organisation = selectors.organisation_get(user=request.user, pk=organisation_id)
    if not policy.can_view_as(request.user, organisation):
        raise Http404  # a customer of this organisation has nobody to view as
    services.view_as_start(
        user=request.user, organisation=organisation, ip_address=client_ip(request)
    )
    request.session[SESSION_VIEW_AS] = organisation.pk
    return redirect("home")


@require_POST
def view_as_exit(request):
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    organisation_id = request.session.pop(SESSION_VIEW_AS, None)
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is not None:
        services.view_as_end(
            user=request.user, organisation=organisation, ip_address=client_ip(request)
        )
    return redirect("home")


def _require_member_manager(request):
    if not policy.can_manage_members(
        request.user, request.organisation, viewing_as=request.viewing_as
    ):
        raise PermissionDenied("Only your organisation's customer admins manage colleagues.")


def _members_page(request, form, status: int = 200):
    organisation = request.organisation
    context = {
        "members": selectors.member_list(organisation=organisation),
        "invitations": selectors.invitation_waiting_list(organisation=organisation).select_related(
            "invited_by"
        ),
        "form": form,
        "two_factor_form": OrganisationTwoFactorForm(
            initial={"requires_two_factor": organisation.requires_two_factor}
        ),
    }
    return render(request, "accounts/members.html", context, status=status)


@customer_screen
def member_list(request):
    _require_member_manager(request)
    return _members_page(request, InvitationForm())


@require_POST
@customer_screen
def member_invite(request):
    _require_member_manager(request)
    form = InvitationForm(request.POST)
    saved = save_then_redirect(
        request,
        form,
        lambda data: services.invitation_create(
            organisation=request.organisation,
            invited_by=request.user,
            via_view_as=request.viewing_as,
            **data,
        ),
        to="accounts:members",
        message=lambda invitation: f"Invitation sent to {invitation.email}.",
    )
    if saved:
        return saved
    return _members_page(request, form, status=400)


@require_POST
@customer_screen
def member_deactivate(request, membership_id: int):
    _require_member_manager(request)
    membership = selectors.member_get(organisation=request.organisation, pk=membership_id)
    try:
        services.membership_deactivate(
            membership=membership, by=request.user, via_view_as=request.viewing_as
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{membership.user} no longer has access.")
    return redirect("accounts:members")


@require_POST
@customer_screen
def member_invitation_resend(request, invitation_id: int):
    invitation = _invitation_act(request, invitation_id, services.invitation_resend)
    messages.success(request, f"A new link is on its way to {invitation.email}.")
    return redirect("accounts:members")


@require_POST
@customer_screen
def member_invitation_revoke(request, invitation_id: int):
    invitation = _invitation_act(request, invitation_id, services.invitation_revoke)
    messages.success(request, f"The invitation of {invitation.email} is withdrawn.")
    return redirect("accounts:members")


def _invitation_act(request, invitation_id: int, service):
    """A customer admin's action on one of their organisation's waiting invitations."""
    _require_member_manager(request)
    invitation = selectors.invitation_waiting_get(
        organisation=request.organisation, pk=invitation_id
    )
    service(invitation=invitation, by=request.user, via_view_as=request.viewing_as)
    return invitation


@require_POST
@customer_screen
def member_two_factor(request):
    """A customer admin requires (or stops requiring) two-factor sign-in of everyone."""
    _require_member_manager(request)
    form = OrganisationTwoFactorForm(request.POST)
    required = form.is_valid() and form.cleaned_data["requires_two_factor"]
    organisation = two_factor.organisation_two_factor_set(
        organisation=request.organisation,
        required=required,
        by=request.user,
        via_view_as=request.viewing_as,
        ip_address=client_ip(request),
    )
    if not required:
        messages.success(request, f"Two-factor sign-in is optional at {organisation.name}.")
        return redirect("accounts:members")
    messages.success(
        request,
        f"Everyone at {organisation.name} now signs in with a second factor; colleagues "
        "without one set it up at their next sign-in.",
    )
    if not request.user.is_employee and not request.user.is_verified():
        # The admin who asks it of everyone starts with themselves, now.
        request.session[two_factor.SESSION_NEEDED] = True
        return redirect("accounts:two_factor")
    return redirect("accounts:members")


def invitation_accept(request, token: str):
    invitation = services.invitation_get_usable(token=token)
    if invitation is None:
        return render(request, "accounts/invitation_invalid.html", status=404)
    user = request.user if request.user.is_authenticated else None
    existing = user is not None or selectors.user_exists(email=invitation.email)
    form = None if existing else AcceptInvitationForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            membership = services.invitation_accept(
                token=token,
                user=user,
                full_name=form.cleaned_data["full_name"] if form else "",
                password=form.cleaned_data["password1"] if form else "",
            )
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, str(error.args[0]) if error.args else "Not allowed.")
        else:
            if user is None:
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            request.session[SESSION_ORGANISATION] = membership.organisation_id
            messages.success(request, f"Welcome to {membership.organisation.name}.")
            return redirect("home")
    return render(
        request,
        "accounts/invitation_accept.html",
        {"invitation": invitation, "form": form, "needs_login": existing and user is None},
    )


# --- Two-factor sign-in -------------------------------------------------------------------------

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
            messages.info(request, "Please sign in again.")
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
        form.add_error("code", "That code is not right. Codes change every 30 seconds.")
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
            messages.success(request, "Two-factor sign-in is on.")
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
        messages.error(request, "Turn on two-factor sign-in first.")
        return redirect("accounts:two_factor")
    codes = two_factor.recovery_codes_replace(user=request.user, ip_address=client_ip(request))
    request.session[SESSION_NEW_RECOVERY_CODES] = codes
    messages.success(request, "New recovery codes: the old ones no longer work.")
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
        messages.info(request, "Two-factor sign-in is not on.")
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
            messages.success(request, "Two-factor sign-in is off.")
            return redirect("accounts:two_factor")
        form.add_error(None, "That password or code is not right.")
    return _two_factor_status(request, device, form, status=400)


# --- Personal API tokens -------------------------------------------------------------------------

SESSION_NEW_API_TOKEN = "new_api_token"  # noqa: S105 (a session key)


@login_required
def api_tokens(request):
    """The user's API tokens. A new token is shown once: on the page the creation redirects
    to (kept in the server-side session until then), so a reload does not create another."""
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # authenticate(), not check_password(): login throttling counts these tries too.
        confirmed = authenticate(
            request, username=request.user.email, password=form.cleaned_data["password"]
        )
        if confirmed is None or confirmed.pk != request.user.pk:
            form.add_error("password", "That is not your current password.")
        else:
            _, request.session[SESSION_NEW_API_TOKEN] = services.api_token_create(
                user=request.user, name=form.cleaned_data["name"], ip_address=client_ip(request)
            )
            return redirect("accounts:api_tokens")
    context = {
        "form": form,
        "new_token": request.session.pop(SESSION_NEW_API_TOKEN, None),
        "tokens": selectors.api_tokens(user=request.user),
    }
    return render(request, "accounts/api_tokens.html", context, status=400 if form.errors else 200)


@require_POST
@login_required
def api_token_revoke(request, pk: int):
    try:
        api_token = services.api_token_revoke(
            user=request.user, pk=pk, ip_address=client_ip(request)
        )
    except ApiToken.DoesNotExist:
        raise Http404 from None
    messages.success(request, f"Token “{api_token.name}” revoked: it no longer works.")
    return redirect("accounts:api_tokens")


# --- Handoff -------------------------------------------------------------------------------------


@login_required
def team_handoff(request):
    """An admin hands a leaving or reassigned staff member's accounts to others."""
    if not request.user.is_employee:
        raise Http404
    if not policy.sees_everything(request.user):
        raise PermissionDenied
    leaving = _handoff_leaving(request.GET.get("from") or request.POST.get("from"))
    form = None
    if leaving is not None:
        form = HandoffForm(
            request.POST or None,
            terms=selectors.handoff_terms(user=leaving),
            candidates=selectors.handoff_candidates(leaving=leaving),
            leaving=leaving,
        )
        saved = _handoff_save(request, form, leaving)
        if saved:
            return saved
    response = render(
        request,
        "accounts/handoff.html",
        {
            "staff": selectors.handoff_staff(),
            "leaving": leaving,
            "form": form,
            "recent": selectors.handoff_recent(),
        },
    )
    response.status_code = 400 if form is not None and form.errors else 200
    return response


def _handoff_leaving(raw: str | None):
    if not raw:
        return None
    try:
        pk = int(raw)
    except ValueError:
        raise Http404 from None
    leaving = selectors.handoff_staff().filter(pk=pk).first()
    if leaving is None:
        raise Http404
    return leaving


def _handoff_save(request, form: HandoffForm, leaving):
    def message(started) -> str:
        return (
            f"{len(started)} account role{'s' if len(started) != 1 else ''} handed over from "
            f"{leaving}. The new holders get the notes by email; the customers hear who looks "
            "after them now."
        )

    return save_then_redirect(
        request,
        form,
        lambda data: services.team_handoff(from_user=leaving, moves=form.moves(), by=request.user),
        to="accounts:team_handoff",
        message=message,
    )
