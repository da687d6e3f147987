"""CSV exports of the current organisation's orders and invoices.

The rows come from the same selectors (and so the same access policy and
filters) as the screens; config.exports streams them and records each export
in the audit trail.
"""

from __future__ import annotations

from django.http import HttpResponseBadRequest
from django.utils.translation import gettext as _

from accounts.decorators import customer_screen
from accounts.locale import zone_label
from config.exports import CHUNK_ROWS, csv_response, local_time, zone_now
from portal.records import selectors
from portal.records.filters import order_filters


@customer_screen
def orders_csv(request):
    """The orders list as CSV, with the filters the list was showing; a filter the list
    refused is a 400 saying why, not an export of something else."""
    params = request.GET
    filters, refused = order_filters(request)
    if refused:
        reasons = "\n".join(refused.values())
        return HttpResponseBadRequest(reasons, content_type="text/plain; charset=utf-8")
    orders = selectors.order_list(
        user=request.user,
        organisation=request.organisation,
        sort=params.get("sort", "newest"),
        **filters,
    )
    zone = zone_now()
    header = [_("Order number"), zone_label(_("Ordered at")), _("Status"), _("Currency")]
    header += [_("Total"), _("From")]
    rows = (
        [
            o.number,
            local_time(o.ordered_at, zone),
            o.status_shown,
            o.currency,
            o.total,
            o.source.get_department_display(),
        ]
        for o in orders.select_related("source").iterator(chunk_size=CHUNK_ROWS)
    )
    filters = {k: str(v) if v else "" for k, v in filters.items()}
    return csv_response(request, "orders", header, rows, orders.count(), filters)


@customer_screen
def invoices_csv(request):
    """The invoices list as CSV (all, or open / overdue / paid as on the list)."""
    state = request.GET.get("state", "")
    invoices = selectors.invoice_list(
        user=request.user, organisation=request.organisation, state=state
    )
    header = [_("Invoice number"), _("Issued on"), _("Due on"), _("Paid on"), _("State")]
    header += [_("Currency"), _("Amount"), _("Order number"), _("From")]
    rows = (
        [
            i.number,
            i.issued_on,
            i.due_on,
            i.paid_on,
            i.state,
            i.currency,
            i.amount,
            i.order.number if i.order else "",
            i.source.get_department_display(),
        ]
        for i in invoices.select_related("source").iterator(chunk_size=CHUNK_ROWS)
    )
    return csv_response(request, "invoices", header, rows, invoices.count(), {"state": state})
