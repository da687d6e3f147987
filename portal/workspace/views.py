"""The staff workspace: my accounts, the work queue, renewals."""

from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import LifecycleStage
from accounts.decorators import staff_only
from accounts.platform.page_cache import page_cache
from config import prepared
from config.views import paginate, query_without_page
from portal.relationship import health
from portal.relationship.choices import HealthColour
from portal.workspace import selectors


def workspace(request):
    """My accounts: what each needs, searchable, filterable and sortable; the way into
    "view as customer"."""
    kept = page_cache(request, "workspace", lambda: _workspace(request), across_accounts=True)
    return render(
        request, "portal/workspace.html", {"page_cache": kept, "sort_columns": SORT_COLUMNS}
    )


# My accounts' sortable columns: the key of selectors.ACCOUNT_SORTS and the heading.
# Tuples, as the filters' choices: {% memo %} keys the blocks that show them on them.
SORT_COLUMNS = (
    ("name", _("Organisation")),
    ("health", _("Health")),
    ("stage", _("Stage")),
    ("renewal", _("Renewal")),
    ("open", _("Open tickets")),
    ("risk", _("SLA risk")),
    ("contact", _("Last contact")),
)
STAGES = tuple(LifecycleStage.choices)
HEALTH_CHOICES = (*HealthColour.choices, ("none", "Not scored yet"))


def _workspace(request) -> dict:
    params = request.GET
    sort = params.get("sort", "name")
    filters = {
        "search": params.get("q", ""),
        "tier": params.get("tier", ""),
        "stage": params.get("stage", ""),
        "health": params.get("health", ""),
        "renewal_days": _renewal_days(params.get("renewal", "")),
    }
    counts = selectors.workspace_counts(user=request.user)
    if any(filters.values()):
        accounts = selectors.workspace_accounts(user=request.user, sort=sort, **filters)
    else:  # the list most requests ask for: its SQL built once, its count read with counts
        accounts = selectors.workspace_account_pages(
            user=request.user, sort=sort, count=counts["accounts"]
        )
    page = paginate(accounts, params.get("page"), per_page=50)
    health.attach_health(page.object_list)
    return {
        "page": page,
        "sort": sort,
        "filters": {**filters, "renewal": params.get("renewal", "")},
        "filtered": any(filters.values()),
        "query": query_without_page(request),
        "unsorted_query": query_without_page(request, "sort"),
        "tiers": selectors.tier_names(),
        "stages": STAGES,
        "health_choices": HEALTH_CHOICES,
        "renewal_choices": selectors.RENEWAL_WITHIN_DAYS,
        "queue": counts,
        "relationship": counts,
    }


def _renewal_days(value: str) -> int | None:
    return int(value) if value.isdigit() and int(value) in selectors.RENEWAL_WITHIN_DAYS else None


@staff_only
def work_queue(request):
    """One queue across my accounts: tickets waiting for us, SLAs at risk, customers to match."""
    now = timezone.now()  # one moment for the page: its reads are learned, then answered
    kept = page_cache(
        request,
        "work_queue",
        lambda: prepared.together(lambda: _work_queue(request, now)),
        across_accounts=True,
    )
    return render(request, "portal/work_queue.html", {"page_cache": kept})


def _work_queue(request, now) -> dict:
    return {
        **selectors.work_queue_tickets(user=request.user, now=now),
        "to_match": selectors.customers_to_match(),
        "troubled_sources": selectors.troubled_sources(),
        "reviews_overdue": selectors.reviews_overdue(user=request.user),
        "commitments_overdue": selectors.commitments_overdue(user=request.user),
        "sponsor_lapses": selectors.lapsed_sponsor_promises(user=request.user),
        "today": timezone.localdate(now),
    }


@staff_only
def renewals(request):
    """Renewals in the next 90 days with each account's health: mine, or all for admins."""

    def fill() -> dict:
        return {"buckets": selectors.renewal_pipeline(user=request.user)}

    kept = page_cache(request, "renewals", fill, across_accounts=True)
    return render(request, "portal/renewals.html", {"page_cache": kept})
