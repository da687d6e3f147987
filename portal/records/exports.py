"""CSV exports of the current organisation's orders and invoices.

The rows come from the same selectors (and so the same access policy and
filters) as the screens; every export is recorded in the audit trail with
its filters and row count. Rows are streamed, so a large organisation's
export neither holds the table in memory nor costs a query per row.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify

from accounts.choices import AuditAction
from accounts.decorators import customer_screen
from accounts.middleware import client_ip
from accounts.services import audit_record
from portal.records import selectors
from portal.records.views import order_filters

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 2000


class _Echo:
    """csv.writer writes into this and gets the line back."""

    def write(self, value: str) -> str:
        return value


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    return str(value)


def _stream(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # a BOM: spreadsheet programs then read the file as UTF-8
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([_cell(value) for value in row])


def _response(request, kind: str, header: list[str], rows, count: int, filters: dict):
    organisation = request.organisation
    audit_record(
        actor=request.user,
        action=AuditAction.DATA_EXPORTED,
        organisation=organisation,
        target=f"{kind} (CSV)",
        detail={"rows": count, "filters": {k: v for k, v in filters.items() if v}},
        via_view_as=request.viewing_as,
        ip_address=client_ip(request),
    )
    name = f"{slugify(organisation.name)}-{kind}-{timezone.localdate():%Y-%m-%d}.csv"
    response = StreamingHttpResponse(_stream(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@customer_screen
def orders_csv(request):
    """The orders list as CSV, with the filters the list was showing."""
    params = request.GET
    filters = order_filters(params)
    orders = selectors.order_list(
        user=request.user,
        organisation=request.organisation,
        sort=params.get("sort", "newest"),
        **filters,
    )
    header = ["Order number", "Ordered at", "Status", "Currency", "Total", "From"]
    rows = (
        [
            o.number,
            o.ordered_at.isoformat(),
            o.status_shown,
            o.currency,
            o.total,
            o.source.get_department_display(),
        ]
        for o in orders.select_related("source").iterator(chunk_size=CHUNK_ROWS)
    )
    filters = {k: str(v) if v else "" for k, v in filters.items()}
    return _response(request, "orders", header, rows, orders.count(), filters)


@customer_screen
def invoices_csv(request):
    """The invoices list as CSV (all, or open / overdue / paid as on the list)."""
    state = request.GET.get("state", "")
    invoices = selectors.invoice_list(
        user=request.user, organisation=request.organisation, state=state
    )
    header = ["Invoice number", "Issued on", "Due on", "Paid on", "State", "Currency", "Amount"]
    header += ["Order number", "From"]
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
    return _response(request, "invoices", header, rows, invoices.count(), {"state": state})
