"""The customer's records: orders, deliveries, invoices."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.choices import AuditAction
from accounts.decorators import customer_screen
from accounts.platform.middleware import client_ip
from accounts.platform.page_cache import page_cache
from accounts.services import audit_record
from config.forms import save_then_redirect
from config.views import page_or_fragment, paginate, query_without_page
from portal.records import selectors, services
from portal.records.filters import order_filters
from portal.records.forms import ReorderForm
from portal.records.pdf import invoice_pdf as invoice_pdf_document
from portal.records.pdf import statement_pdf as statement_pdf_document

PAGE_SIZE = 25


@customer_screen
def order_list(request):
    context = {"page_cache": page_cache(request, "orders", lambda: _orders(request))}
    return page_or_fragment(request, "portal/orders.html", "portal/orders_rows.html", context)


def _orders(request) -> dict:
    params = request.GET
    filters, refused = order_filters(request)
    sort = params.get("sort", "newest")
    if any(filters.values()):
        orders = selectors.order_rows(
            selectors.order_list(
                user=request.user, organisation=request.organisation, sort=sort, **filters
            )
        )
        count = None
    else:
        # Unfiltered, the list is every live order: the stored tally says how many, and
        # the page's SQL is built once per process.
        count = _count(request, "order")
        orders = selectors.order_page(
            user=request.user, organisation=request.organisation, sort=sort, count=count
        )
    return {
        "page": paginate(orders, params.get("page"), per_page=PAGE_SIZE, count=count),
        "statuses": selectors.order_statuses(user=request.user, organisation=request.organisation),
        "sorts": selectors.ORDER_SORTS,
        "filters": params,
        "refused": refused,
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
    count = _count(request, "shipment")
    shipments = selectors.shipment_page(
        user=request.user, organisation=request.organisation, count=count
    )
    return {
        "page": paginate(shipments, request.GET.get("page"), per_page=PAGE_SIZE, count=count),
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
    if state or search:
        count = None
        invoices = selectors.invoice_list(
            user=request.user,
            organisation=request.organisation,
            state=state,
            search=search,
            sort=sort,
        )
    else:  # every invoice: the stored tally says how many, the page's SQL is kept
        count = _count(request, "invoice")
        invoices = selectors.invoice_page(
            user=request.user, organisation=request.organisation, sort=sort, count=count
        )
    return {
        "page": paginate(invoices, request.GET.get("page"), per_page=PAGE_SIZE, count=count),
        "state": state,
        "q": search,
        "sort": sort if sort in selectors.INVOICE_SORTS else "newest",
        "sorts": {
            "newest": _("Newest first"),
            "oldest": _("Oldest first"),
            "due": _("Due date"),
            "amount": _("Largest amount"),
            "number": _("Number"),
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


@customer_screen
def statement_pdf(request):
    """The organisation's statement of open items as a PDF; the export is audited."""
    organisation = request.organisation
    now = timezone.now()
    audit_record(
        actor=request.user,
        action=AuditAction.DATA_EXPORTED,
        organisation=organisation,
        target="statement of open items (PDF)",
        via_view_as=request.viewing_as,
        ip_address=client_ip(request),
    )
    document = statement_pdf_document(
        organisation=organisation,
        invoices=selectors.invoice_list(
            user=request.user, organisation=organisation, state="unpaid"
        ).select_related(None),
        totals=selectors.invoice_totals(user=request.user, organisation=organisation),
        now=now,
    )
    response = HttpResponse(document, content_type="application/pdf")
    filename = f"statement-{slugify(organisation.customer_number or organisation.name)}"
    response["Content-Disposition"] = f'attachment; filename="{filename}-{now:%Y-%m-%d}.pdf"'
    return response


@customer_screen
def order_reorder(request, pk: int):
    """Ask for an order again: its lines with quantities to adjust and notes, sent as a
    ticket to order entry's department. A request, and the page says so."""
    order = selectors.order_for_reorder(user=request.user, pk=pk)
    if order.organisation_id != request.organisation.pk:
        raise Http404  # another of the person's organisations: switch to it first
    lines = list(order.lines.all())
    form = ReorderForm(request.POST if request.method == "POST" else None, lines=lines)
    saved = save_then_redirect(
        request,
        form,
        lambda data: services.reorder_request(
            order=order,
            requester=request.user,
            quantities=form.quantities(),
            notes=data["notes"],
            via_view_as=request.viewing_as,
        ),
        to=lambda ticket: ticket.get_absolute_url(),
        message=lambda ticket: (
            _(
                "Reorder request sent to %(department)s as %(ticket)s. "
                "It is not an order yet: they will confirm it with you."
            )
            % {"department": ticket.get_department_display(), "ticket": ticket.reference}
        ),
    )
    if saved:
        return saved
    status = 400 if form.errors else 200
    context = {"order": order, "form": form, "lines": lines}
    return render(request, "portal/order_reorder.html", context, status=status)
