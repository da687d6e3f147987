"""Colleagues: a customer admin's members, invitations and two-factor rule, and
accepting an invitation."""

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts import policy, selectors, services
from accounts.decorators import customer_screen
from accounts.forms import (
    AcceptInvitationForm,
    InvitationForm,
    OrganisationTwoFactorForm,
)
from accounts.platform import two_factor
from accounts.platform.authentication import PERSON_BACKEND
from accounts.platform.middleware import SESSION_ORGANISATION, client_ip
from config.forms import save_then_redirect


def _require_member_manager(request):
    if not policy.can_manage_members(
        request.user, request.organisation, viewing_as=request.viewing_as
    ):
        raise PermissionDenied(_("Only your organisation's customer admins manage colleagues."))


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
        message=lambda invitation: _("Invitation sent to %(email)s.") % {"email": invitation.email},
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
        messages.success(request, _("%(user)s no longer has access.") % {"user": membership.user})
    return redirect("accounts:members")


@require_POST
@customer_screen
def member_invitation_resend(request, invitation_id: int):
    invitation = _invitation_act(request, invitation_id, services.invitation_resend)
    messages.success(
        request, _("A new link is on its way to %(email)s.") % {"email": invitation.email}
    )
    return redirect("accounts:members")


@require_POST
@customer_screen
def member_invitation_revoke(request, invitation_id: int):
    invitation = _invitation_act(request, invitation_id, services.invitation_revoke)
    messages.success(
        request, _("The invitation of %(email)s is withdrawn.") % {"email": invitation.email}
    )
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
        messages.success(
            request, _("Two-factor sign-in is optional at %(name)s.") % {"name": organisation.name}
        )
        return redirect("accounts:members")
    messages.success(
        request,
        _(
            "Everyone at %(name)s now signs in with a second factor; colleagues "
            "without one set it up at their next sign-in."
        )
        % {"name": organisation.name},
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
            messages.error(request, str(error.args[0]) if error.args else _("Not allowed."))
        else:
            if user is None:
                login(request, membership.user, backend=PERSON_BACKEND)
            request.session[SESSION_ORGANISATION] = membership.organisation_id
            messages.success(
                request, _("Welcome to %(name)s.") % {"name": membership.organisation.name}
            )
            return redirect("home")
    return render(
        request,
        "accounts/invitation_accept.html",
        {"invitation": invitation, "form": form, "needs_login": existing and user is None},
    )
