"""The customer's ticket list and its CSV export."""

from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.choices import Department
from accounts.decorators import customer_screen
from accounts.locale import zone_label
from accounts.platform.page_cache import page_cache
from config.exports import CHUNK_ROWS, csv_response, local_time, zone_now
from config.views import paginate, query_without_page
from tickets import selectors
from tickets.choices import SlaState

PAGE_SIZE = 25


def page(request, rows):
    """The page of `rows` the request asks for, 25 rows a page (the list and the queue)."""
    return paginate(rows, request.GET.get("page"), per_page=PAGE_SIZE)


@customer_screen
def ticket_list(request):
    kept = page_cache(request, "tickets", lambda: _list(request))
    return render(request, "tickets/list.html", {"page_cache": kept})


def _list_filters(request) -> dict:
    """The customer's ticket filters, as the list and its CSV export both read them."""
    params = request.GET
    requester = params.get("opened_by", "")
    department = params.get("department", "")
    return {
        "status": params.get("status", "open"),
        "search": params.get("q", "").strip()[:100],
        "department": department if department in Department.values else "",
        "requester_id": int(requester) if requester.isdigit() else None,
    }


def _list(request) -> dict:
    filters = _list_filters(request)
    tickets = selectors.ticket_list(user=request.user, organisation=request.organisation, **filters)
    return {
        "page": page(request, tickets),
        **filters,
        "requesters": selectors.ticket_requesters(
            user=request.user, organisation=request.organisation
        ),
        "departments": Department.choices,
        "query": query_without_page(request),
        "filtered": any(filters[name] for name in ("search", "department", "requester_id")),
    }


@customer_screen
def ticket_list_csv(request):
    """The ticket list as CSV, with the filters the list was showing."""
    filters = _list_filters(request)
    tickets = (
        selectors.ticket_list(user=request.user, organisation=request.organisation, **filters)
        .select_related(None)
        .select_related("requester")
    )
    zone = zone_now()
    header = [_("Ticket"), _("Subject"), _("Opened by"), zone_label(_("Opened at")), _("Status")]
    header += [_("Priority"), _("Department"), _("SLA"), zone_label(_("Resolved at"))]
    rows = (
        [
            t.reference,
            t.subject,
            t.requester.full_name if t.requester else "",
            local_time(t.created_at, zone),
            t.get_status_display(),
            t.get_priority_display(),
            t.get_department_display(),
            SlaState(t.sla_state).label if t.sla_state else "",
            local_time(t.resolved_at, zone),
        ]
        for t in tickets.iterator(chunk_size=CHUNK_ROWS)
    )
    filters["requester_id"] = str(filters["requester_id"] or "")
    return csv_response(request, "tickets", header, rows, tickets.count(), filters)
