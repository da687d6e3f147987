"""The value screens: the 80/20 ranking and tier fit, for admins and account teams."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from accounts.platform.page_cache import page_cache
from portal.value import fit, selectors
from portal.value.forms import ValuePeriodForm
from portal.value.svg import pareto_chart

PAGE_SIZE = 50


def value_screen(view):
    """Customer value is for admins and account teams: customers 404, other staff 403."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_employee:
            raise Http404
        if not selectors.may_see_value(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _page_number(request) -> int:
    try:
        return max(int(request.GET.get("page", 1)), 1)
    except ValueError:
        return 1


def _paged(compute, count, page: int):
    """Run `compute(page)`; past the last page, run it again for the last page."""
    result = compute(page)
    paginator = Paginator(range(count(result)), PAGE_SIZE)
    last = paginator.num_pages
    if page > last:
        result = compute(last)
    return result, paginator.get_page(min(page, last))


@value_screen
def value_pareto(request):
    """Who brings the revenue: customers ranked, the cumulative share and the 80/20 figures."""
    kept = page_cache(request, "value", lambda: _pareto(request), across_accounts=True)
    return render(request, "portal/value/value.html", {"page_cache": kept})


def _pareto(request) -> dict:
    form = ValuePeriodForm(request.GET)
    period = form.get_period()
    result, page = _paged(
        lambda n: selectors.pareto(user=request.user, period=period, page=n, per_page=PAGE_SIZE),
        lambda r: r.customers,
        _page_number(request),
    )
    return {
        "form": form,
        "result": result,
        "chart": pareto_chart(result),
        "page": page,
        "query": form.query_string(),
    }


@value_screen
def value_tier_fit(request):
    """Organisations whose value suits another tier, with the reason."""
    kept = page_cache(request, "tier_fit", lambda: _tier_fit(request), across_accounts=True)
    return render(request, "portal/value/tier_fit.html", {"page_cache": kept})


def _tier_fit(request) -> dict:
    form = ValuePeriodForm(request.GET)
    period = form.get_period()
    direction = request.GET.get("direction", "")
    if direction not in (fit.UPGRADE, fit.DOWNGRADE):
        direction = ""
    result, page = _paged(
        lambda n: fit.tier_fit(
            user=request.user, period=period, direction=direction, page=n, per_page=PAGE_SIZE
        ),
        lambda r: {"": r.matching, "up": r.upgrades, "down": r.downgrades}[direction],
        _page_number(request),
    )
    return {
        "form": form,
        "result": result,
        "page": page,
        "direction": direction,
        "query": form.query_string(),
    }
