"""The portal's screens: the customer's home and the staff workspace."""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from accounts import selectors as account_selectors
from accounts.choices import TeamRole
from accounts.decorators import customer_screen, staff_only
from config.forms import add_service_errors
from portal import selectors, services
from portal.forms import CommitmentForm, EngagementForm
from portal.models import CustomerIdentity
from portal.sync import identity
from portal.sync.identity import Suggester
from tickets import selectors as ticket_selectors
from tiers import selectors as tier_selectors

PAGE_SIZE = 25


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
            "recent_orders": selectors.order_rows(
                selectors.order_list(user=request.user, organisation=organisation)
            )[:5],
            "invoices_due": selectors.invoice_list(
                user=request.user, organisation=organisation, state="unpaid"
            )[:5],
            "timeline": selectors.timeline(organisation=organisation, limit=10),
            "sources": selectors.source_freshness(),
            "upcoming_review": selectors.upcoming_review(organisation=organisation),
            "commitments": selectors.commitment_list(
                user=request.user, organisation=organisation, state="open"
            )[:5],
        },
    )


def workspace(request):
    """My accounts: what each needs, sortable; the way into "view as customer"."""
    sort = request.GET.get("sort", "name")
    accounts = selectors.workspace_accounts(user=request.user, sort=sort)
    page = Paginator(accounts, 50).get_page(request.GET.get("page"))
    selectors.attach_health(page.object_list)
    return render(
        request,
        "portal/workspace.html",
        {
            "page": page,
            "roles": account_selectors.team_roles_of(user=request.user),
            "sort": sort,
            "queue": selectors.work_queue_counts(user=request.user),
            "relationship": selectors.relationship_counts(user=request.user),
        },
    )


@staff_only
def work_queue(request):
    """One queue across my accounts: tickets waiting for us, SLAs at risk, customers to match."""
    return render(
        request,
        "portal/work_queue.html",
        {
            "waiting": selectors.tickets_waiting_for_staff(user=request.user)[:50],
            "at_risk": ticket_selectors.ticket_list(user=request.user, sla_state="at_risk")[:50],
            "breached": ticket_selectors.ticket_list(
                user=request.user, status="open", sla_state="breached"
            )[:50],
            "to_match": CustomerIdentity.objects.filter(organisation__isnull=True).count(),
            "reviews_overdue": selectors.overdue_reviews(user=request.user)[:50],
            "commitments_overdue": selectors.overdue_commitments(user=request.user)[:50],
            "sponsor_lapses": selectors.sponsor_lapses(user=request.user)[:50],
            "today": timezone.localdate(),
        },
    )


@staff_only
def identity_queue(request):
    """Customers of legacy systems nobody has matched yet, with suggestions."""
    pending = CustomerIdentity.objects.filter(organisation__isnull=True).order_by(
        "system", "external_name"
    )
    page = Paginator(pending, 50).get_page(request.GET.get("page"))
    choices = account_selectors.organisation_list(user=request.user)
    suggester = Suggester(choices)
    rows = [(pending_identity, suggester.suggest(pending_identity)) for pending_identity in page]
    return render(
        request,
        "portal/identity_queue.html",
        {"page": page, "rows": rows, "organisations": choices.only("pk", "name")},
    )


@require_POST
@staff_only
def identity_match(request, pk: int):
    """Match a waiting customer to one of the organisations this person may see."""
    pending = get_object_or_404(CustomerIdentity.objects.filter(organisation__isnull=True), pk=pk)
    try:
        organisation = account_selectors.organisation_get(
            user=request.user, pk=int(request.POST.get("organisation", ""))
        )
    except ValueError:
        raise Http404 from None
    linked = identity.identity_match(identity=pending, organisation=organisation, by=request.user)
    messages.success(
        request, f"{pending.external_name} is now {organisation.name}: {linked} records linked."
    )
    return redirect("portal:identity_queue")


# --- The customer's records ---------------------------------------------------------------------


def _date(value: str):
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@customer_screen
def order_list(request):
    params = request.GET
    orders = selectors.order_list(
        user=request.user,
        organisation=request.organisation,
        search=params.get("q", "").strip()[:100],
        status=params.get("status", ""),
        date_from=_date(params.get("from", "")),
        date_to=_date(params.get("to", "")),
        sort=params.get("sort", "newest"),
    )
    orders = selectors.order_rows(orders)
    context = {
        "page": Paginator(orders, PAGE_SIZE).get_page(params.get("page")),
        "statuses": selectors.order_statuses(organisation=request.organisation),
        "sorts": selectors.ORDER_SORTS,
        "filters": params,
        "sources": selectors.source_freshness(),
        "query": _query_without_page(request),
    }
    return _page_or_fragment(request, "portal/orders.html", "portal/orders_rows.html", context)


@login_required
def order_detail(request, pk: int):
    order = selectors.order_get(user=request.user, pk=pk)
    return render(
        request,
        "portal/order_detail.html",
        {"order": order, "sources": selectors.source_freshness()},
    )


@customer_screen
def shipment_list(request):
    shipments = selectors.shipment_list(user=request.user, organisation=request.organisation)
    return render(
        request,
        "portal/shipments.html",
        {
            "page": Paginator(shipments, PAGE_SIZE).get_page(request.GET.get("page")),
            "sources": selectors.source_freshness(),
        },
    )


@customer_screen
def invoice_list(request):
    state = request.GET.get("state", "")
    invoices = selectors.invoice_list(
        user=request.user, organisation=request.organisation, state=state
    )
    return render(
        request,
        "portal/invoices.html",
        {
            "page": Paginator(invoices, PAGE_SIZE).get_page(request.GET.get("page")),
            "state": state,
            "states": selectors.INVOICE_STATES,
            "sources": selectors.source_freshness(),
            "query": _query_without_page(request),
        },
    )


@login_required
def invoice_detail(request, pk: int):
    invoice = selectors.invoice_get(user=request.user, pk=pk)
    return render(
        request,
        "portal/invoice_detail.html",
        {"invoice": invoice, "sources": selectors.source_freshness()},
    )


@customer_screen
def timeline(request):
    kind = request.GET.get("kind", "")
    events = selectors.timeline(organisation=request.organisation, kind=kind, limit=100)
    context = {"timeline": events, "kind": kind, "kinds": selectors.TIMELINE_KINDS}
    return _page_or_fragment(request, "portal/timeline.html", "portal/timeline_panel.html", context)


def _page_or_fragment(request, page: str, fragment: str, context: dict):
    """The whole page, or only the part htmx swaps in place.

    History restores get the whole page, and the answer varies on HX-Request so a
    browser's cache never shows a bare fragment on Back.
    """
    partial = request.htmx and not request.htmx.history_restore_request
    response = render(request, fragment if partial else page, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _query_without_page(request) -> str:
    """The current filters as a query string, for pagination links."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


# --- The relationship: reviews, commitments, health, renewals ------------------------------------


@customer_screen
def reviews(request):
    """The customer's reviews and health checks: summaries and next steps, never our notes."""
    organisation = request.organisation
    return render(
        request,
        "portal/reviews.html",
        {
            "engagements": selectors.engagement_list(
                user=request.user, organisation=organisation, for_customer=True
            )[:100],
            "upcoming_review": selectors.upcoming_review(organisation=organisation),
        },
    )


@customer_screen
def commitments(request):
    """What we promised the customer, open ones first; overdue ones say so."""
    return render(
        request,
        "portal/commitments.html",
        {
            "commitments": selectors.commitment_list(
                user=request.user, organisation=request.organisation
            )[:200],
        },
    )


@staff_only
def account(request, pk: int):
    """One account for staff: health and why, the trend, reviews due, engagements, commitments."""
    organisation = selectors.account_get(user=request.user, pk=pk)
    history = selectors.health_history(organisation=organisation)
    health = history[-1] if history else None
    return render(
        request,
        "portal/account.html",
        {
            "organisation": organisation,
            "today": timezone.localdate(),
            "health": health,
            "breakdown": selectors.health_breakdown(health) if health else [],
            "reasons": selectors.health_reasons(health) if health else "",
            "history": history,
            "trend": selectors.trend_points(history),
            "team": account_selectors.account_team(organisation=organisation),
            "engagements": selectors.engagement_list(
                user=request.user, organisation=organisation, for_customer=False
            )[:50],
            "commitments": selectors.commitment_list(user=request.user, organisation=organisation)[
                :100
            ],
            "lapses": selectors.sponsor_lapses(user=request.user).filter(organisation=organisation),
        },
    )


def _organisation_for_staff(request, pk: int):
    if not request.user.is_employee:
        raise Http404
    return account_selectors.organisation_get(user=request.user, pk=pk)


def _edit_page(request, form, organisation, title: str, **extra):
    context = {"form": form, "organisation": organisation, "title": title, **extra}
    status = 400 if form.errors else 200
    return render(request, "portal/relationship_form.html", context, status=status)


def _saved(request, form, organisation, save, message: str):
    """On a valid POST, `save(cleaned_data)` through the service and go back to the account
    with `message`; None (show the form again) when there is nothing to save yet or the
    service refuses, its reasons then on the form."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        save(dict(form.cleaned_data))
    except ValidationError as error:
        add_service_errors(form, error)
        return None
    messages.success(request, message)
    return redirect("portal:account", organisation.pk)


@staff_only
def engagement_create(request, pk: int):
    organisation = _organisation_for_staff(request, pk)
    form = EngagementForm(
        request.POST or None,
        organisation=organisation,
        user=request.user,
        initial={"on": timezone.localdate(), "attendees": [request.user.pk]},
    )

    def save(data):
        services.engagement_record(
            by=request.user, organisation=organisation, via_view_as=request.viewing_as, **data
        )

    return _saved(request, form, organisation, save, "Engagement recorded.") or _edit_page(
        request, form, organisation, "Record an engagement"
    )


@staff_only
def engagement_edit(request, pk: int):
    engagement = selectors.engagement_get(user=request.user, pk=pk)
    organisation = engagement.organisation
    initial = {
        name: getattr(engagement, name) for name in [*services.ENGAGEMENT_FIELDS, "internal_notes"]
    }
    initial["attendees"] = list(engagement.attendees.values_list("pk", flat=True))
    form = EngagementForm(
        request.POST or None, organisation=organisation, user=request.user, initial=initial
    )

    def save(data):
        attendees = list(data.pop("attendees"))
        services.engagement_update(
            by=request.user,
            engagement=engagement,
            attendees=attendees,
            via_view_as=request.viewing_as,
            **data,
        )

    title = f"{engagement.get_kind_display()} of {engagement.on:%-d %B %Y}"
    return _saved(request, form, organisation, save, "Engagement saved.") or _edit_page(
        request, form, organisation, title, engagement=engagement
    )


@staff_only
def commitment_create(request, pk: int):
    organisation = _organisation_for_staff(request, pk)
    form = CommitmentForm(
        request.POST or None, organisation=organisation, initial={"owner": request.user.pk}
    )
    form.fields.pop("status")  # a new promise is open

    def save(data):
        services.commitment_create(
            by=request.user, organisation=organisation, via_view_as=request.viewing_as, **data
        )

    message = "Commitment added. The customer sees it on their portal."
    return _saved(request, form, organisation, save, message) or _edit_page(
        request, form, organisation, "Add a commitment"
    )


@staff_only
def commitment_edit(request, pk: int):
    commitment = selectors.commitment_get(user=request.user, pk=pk)
    organisation = commitment.organisation
    initial = {name: getattr(commitment, name) for name in services.COMMITMENT_FIELDS}
    form = CommitmentForm(request.POST or None, organisation=organisation, initial=initial)

    def save(data):
        services.commitment_update(
            by=request.user, commitment=commitment, via_view_as=request.viewing_as, **data
        )

    return _saved(request, form, organisation, save, "Commitment saved.") or _edit_page(
        request, form, organisation, commitment.title, commitment=commitment
    )


@staff_only
def renewals(request):
    """Renewals in the next 90 days with each account's health: mine, or all for admins."""
    return render(
        request,
        "portal/renewals.html",
        {"buckets": selectors.renewal_pipeline(user=request.user)},
    )
