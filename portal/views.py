"""The portal's screens: the customer's home and the staff workspace."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from accounts import selectors as account_selectors
from accounts.choices import TeamRole
from portal import selectors
from tickets import selectors as ticket_selectors
from tiers import selectors as tier_selectors


@login_required
def home(request):
    """One entry point: the organisation's home, or the staff workspace."""
    if request.organisation is not None:
        return customer_home(request)
    if request.user.is_employee:
        return workspace(request)
    # A customer whose memberships have all been ended.
    return render(request, "portal/no_organisation.html", status=403)


def customer_home(request):
    organisation = request.organisation
    team = account_selectors.account_team(organisation=organisation)
    open_tickets = ticket_selectors.ticket_list(
        user=request.user, organisation=organisation, status="open"
    )[:5]
    return render(
        request,
        "portal/home.html",
        {
            "organisation": organisation,
            "primary_am": team.get(TeamRole.PRIMARY_AM),
            "backup_am": team.get(TeamRole.BACKUP_AM),
            "sponsor": team.get(TeamRole.EXECUTIVE_SPONSOR),
            "tier": tier_selectors.current_tier(organisation=organisation),
            "open_tickets": open_tickets,
            "timeline": selectors.timeline(organisation=organisation, limit=10),
        },
    )


def workspace(request):
    accounts = account_selectors.managed_organisations(user=request.user)
    page = Paginator(accounts, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/workspace.html",
        {
            "page": page,
            "roles": account_selectors.team_roles_of(user=request.user),
        },
    )
