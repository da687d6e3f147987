"""The customer's records: orders, deliveries, invoices."""

from datetime import date

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from accounts.decorators import customer_screen
from config.views import page_or_fragment, query_without_page
from portal.records import selectors

PAGE_SIZE = 25


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
        "query": query_without_page(request),
    }
    return page_or_fragment(request, "portal/orders.html", "portal/orders_rows.html", context)


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
            "query": query_without_page(request),
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
