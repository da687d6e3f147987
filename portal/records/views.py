"""The customer's records: orders, deliveries, invoices."""

from datetime import date

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.text import slugify

from accounts.choices import AuditAction
from accounts.decorators import customer_screen
from accounts.middleware import client_ip
from accounts.page_cache import page_cache
from accounts.services import audit_record
from config.views import page_or_fragment, paginate, query_without_page
from portal.records import selectors
from portal.records.pdf import invoice_pdf as invoice_pdf_document

PAGE_SIZE = 25


def _date(value: str):
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@customer_screen
def order_list(request):
    context = {"page_cache": page_cache(request, "orders", lambda: _orders(request))}
    return page_or_fragment(request, "portal/orders.html", "portal/orders_rows.html", context)


def order_filters(params) -> dict:
    """The Orders page's query string as order_list's filters: the page and its CSV export
    read it here, so the export lists what the page showed."""
    return {
        "search": params.get("q", "").strip()[:100],
        "status": params.get("status", ""),
        "date_from": _date(params.get("from", "")),
        "date_to": _date(params.get("to", "")),
    }


def _orders(request) -> dict:
    params = request.GET
    filters = order_filters(params)
    orders = selectors.order_list(
        user=request.user,
        organisation=request.organisation,
        sort=params.get("sort", "newest"),
        **filters,
    )
    orders = selectors.order_rows(orders)
    # Unfiltered, the list is every live order: the stored tally says how many.
    count = None if any(filters.values()) else _count(request, "order")
    return {
        "page": paginate(orders, params.get("page"), per_page=PAGE_SIZE, count=count),
        "statuses": selectors.order_statuses(user=request.user, organisation=request.organisation),
        "sorts": selectors.ORDER_SORTS,
        "filters": params,
        "sources": selectors.source_freshness(),
        "query": query_without_page(request),
    }


def _count(request, record: str) -> int:
    return selectors.record_count(
        user=request.user, organisation=request.organisation, record=record
    )


@login_required
def order_detail(request, pk: int):
    order = selectors.order_heading(user=request.user, pk=pk)

    def fill() -> dict:
        whole = selectors.order_get(user=request.user, pk=pk)
        return {"order": whole, "sources": selectors.source_freshness()}

    cached = page_cache(request, "order", fill, organisation_ids=[order.organisation_id])
    return render(request, "portal/order_detail.html", {"order": order, "page_cache": cached})


@customer_screen
def shipment_list(request):
    return render(
        request,
        "portal/shipments.html",
        {"page_cache": page_cache(request, "shipments", lambda: _shipments(request))},
    )


def _shipments(request) -> dict:
    shipments = selectors.shipment_list(user=request.user, organisation=request.organisation)
    return {
        "page": paginate(
            shipments,
            request.GET.get("page"),
            per_page=PAGE_SIZE,
            count=_count(request, "shipment"),
        ),
        "sources": selectors.source_freshness(),
    }


@customer_screen
def invoice_list(request):
    return render(
        request,
        "portal/invoices.html",
        {"page_cache": page_cache(request, "invoices", lambda: _invoices(request))},
    )


def _invoices(request) -> dict:
    state = request.GET.get("state", "")
    search = request.GET.get("q", "")
    sort = request.GET.get("sort", "")
    invoices = selectors.invoice_list(
        user=request.user, organisation=request.organisation, state=state, search=search, sort=sort
    )
    count = None if state or search else _count(request, "invoice")
    return {
        "page": paginate(invoices, request.GET.get("page"), per_page=PAGE_SIZE, count=count),
        "state": state,
        "q": search,
        "sort": sort if sort in selectors.INVOICE_SORTS else "newest",
        "sorts": {
            "newest": "Newest first",
            "oldest": "Oldest first",
            "due": "Due date",
            "amount": "Largest amount",
            "number": "Number",
        },
        "totals": selectors.invoice_totals(user=request.user, organisation=request.organisation),
        "states": selectors.INVOICE_STATES,
        "sources": selectors.source_freshness(),
        "query": query_without_page(request),
    }


@login_required
def invoice_detail(request, pk: int):
    invoice = selectors.invoice_get(user=request.user, pk=pk)
    return render(
        request,
        "portal/invoice_detail.html",
        {"invoice": invoice, "sources": selectors.source_freshness()},
    )


@login_required
def invoice_pdf(request, pk: int):
    """The invoice as a PDF to keep or forward to accounts payable; the export is audited."""
    invoice = selectors.invoice_get(user=request.user, pk=pk)
    audit_record(
        actor=request.user,
        action=AuditAction.DATA_EXPORTED,
        organisation=invoice.organisation,
        target=f"invoice {invoice.number} (PDF)",
        via_view_as=request.viewing_as,
        ip_address=client_ip(request),
    )
    response = HttpResponse(invoice_pdf_document(invoice), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="invoice-{slugify(invoice.number)}.pdf"'
    )
    return response
