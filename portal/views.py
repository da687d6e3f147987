"""The portal's screens: the customer's home and the staff workspace."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts.choices import TeamRole, UserKind
from accounts.platform.page_cache import page_cache
from config import prepared
from portal.records import selectors as records_selectors
from portal.relationship import selectors as relationship_selectors
from portal.timeline import selectors as timeline_selectors
from portal.workspace.views import workspace
from tickets import selectors as ticket_selectors
from tiers import selectors as tiers_selectors

PAGE_SIZE = 25


@login_required
def home(request):
    """One entry point: the organisation's home, or the staff workspace."""
    if request.organisation is not None:
        return customer_home(request)
    if request.user.kind == UserKind.SUPPORT_AGENT:
        return redirect("tickets:queue")  # an agent's work is their department's queue
    if request.user.is_employee:
        return workspace(request)
    # A customer whose memberships have all been ended.
    return render(request, "portal/no_organisation.html", status=403)


def customer_home(request):
    organisation = request.organisation
    now = timezone.now()  # one moment for the page: its reads are learned, then answered
    page = page_cache(
        request,
        "home",
        lambda: prepared.together(lambda: _home_content(request, organisation, now)),
        organisation_ids=[organisation.pk],
    )
    return render(request, "portal/home.html", {"organisation": organisation, "page_cache": page})


def _home_content(request, organisation, now) -> dict:
    team = account_selectors.account_team(organisation=organisation)
    recent_orders = records_selectors.recent_orders(user=request.user, organisation=organisation)
    return {
        "primary_am": team.get(TeamRole.PRIMARY_AM),
        "backup_am": team.get(TeamRole.BACKUP_AM),
        "sponsor": team.get(TeamRole.EXECUTIVE_SPONSOR),
        "tier": tiers_selectors.current_tier(organisation=organisation),
        "open_tickets": ticket_selectors.open_tickets(
            user=request.user, organisation=organisation, now=now
        ),
        "recent_orders": recent_orders,
        "invoices_due": records_selectors.invoices_due(
            user=request.user, organisation=organisation
        ),
        "to_pay": records_selectors.invoice_totals(user=request.user, organisation=organisation),
        "timeline": timeline_selectors.timeline(organisation=organisation, limit=10),
        "sources": {order.source_id: order.source for order in recent_orders[:1]},  # labelled
        "upcoming_review": relationship_selectors.upcoming_review(organisation=organisation),
        "commitments": relationship_selectors.open_commitments(
            user=request.user, organisation=organisation
        ),
    }
