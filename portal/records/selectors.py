"""Reads of the synced records, always through the access policy."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import models
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Organisation, User
from config import prepared
from portal.records.choices import InvoiceStatus
from portal.records.models import (
    UNPAID,
    Carrier,
    Invoice,
    Order,
    OrderLine,
    RecordTally,
    Shipment,
)

ORDER_SORTS = {
    "newest": ("-ordered_at", "-pk"),
    "oldest": ("ordered_at", "pk"),
    "number": ("number", "pk"),
    "total": ("-total", "-pk"),
}


def source_freshness() -> dict[int, models.Model]:
    """Every source by id, to label records with where they came from and how fresh.
    Reached through the records' own foreign key: the sync engine is a layer above. The
    SQL built once per process (config/prepared.py)."""
    return {source.pk: source for source in prepared.objects(_sources)}


def _sources() -> QuerySet:
    sources = Order._meta.get_field("source").related_model.objects
    return sources.only("pk", "name", "last_success_at")


def order_list(
    *,
    user: User,
    organisation: Organisation | int | None = None,
    search: str = "",
    status: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    sort: str = "newest",
) -> QuerySet[Order]:
    """Orders the user may see, of one organisation (the screens) or all visible (the API),
    each with its `status_shown` (the status filter reads that too)."""
    orders = _of_organisation(Order.objects, user, organisation)
    orders = orders.annotate(status_shown=status_shown())
    if search:
        lines = OrderLine.objects.filter(order=OuterRef("pk")).filter(
            Q(product_code__icontains=search) | Q(product_name__icontains=search)
        )
        orders = orders.filter(Q(number__icontains=search) | Exists(lines))
    if status:
        orders = orders.filter(status_shown=status)
    if date_from:
        orders = orders.filter(ordered_at__date__gte=date_from)
    if date_to:
        orders = orders.filter(ordered_at__date__lte=date_to)
    return orders.order_by(*ORDER_SORTS.get(sort, ORDER_SORTS["newest"]))


# An order's deliveries and invoices as its screens show them: live, and not held (one
# whose own customer is another organisation is shown to neither; portal/sync/identity.py).
SHOWN_WITH_ORDER = {"deleted_at__isnull": True, "held": False}


def order_rows(orders: QuerySet[Order]) -> QuerySet[Order]:
    """The screens' order rows: each with its live line count and latest shipment's status.

    Subqueries, not a join with GROUP BY: only the rows of the page are counted.
    """
    live_lines = OrderLine.objects.filter(order=OuterRef("pk"), deleted_at__isnull=True)
    return orders.annotate(
        line_count=Coalesce(
            Subquery(live_lines.order_by().values("order").annotate(n=Count("pk")).values("n")[:1]),
            0,
        ),
        shipment_status=latest_shipment_status(),
    )


DELIVERED = "delivered"


def status_shown() -> Case:
    """The one rule for the status of an order a customer sees, as SQL: the order entry's
    status, unless every live delivery of it has arrived: then "delivered" (order entry often
    lags the carrier). The screens, the CSV export, the status filter and the API all read
    this expression (as the `status_shown` annotation of order_list and order_get)."""
    # One scalar subquery (1 when every live delivery arrived, 0 when one has not, NULL
    # without any), not two EXISTS: PostgreSQL may plan an EXISTS as a hashed subplan that
    # reads every shipment in the table (200 ms at 200,000) even for a page of 25 orders.
    shipments = Shipment.objects.filter(order=OuterRef("pk"), **SHOWN_WITH_ORDER).order_by()
    arrived = Case(When(delivered_at__isnull=True, then=Value(0)), default=Value(1))
    all_arrived = Subquery(
        shipments.values("order").annotate(all_arrived=Min(arrived)).values("all_arrived")[:1]
    )
    return Case(
        When(Exact(all_arrived, 1), then=Value(DELIVERED)),
        default=F("status"),
        output_field=CharField(),
    )


def latest_shipment_status() -> Subquery:
    """The status of an order's latest live shipment (None before it ships)."""
    latest = Shipment.objects.filter(order=OuterRef("pk"), **SHOWN_WITH_ORDER)
    return Subquery(latest.order_by("-shipped_at").values("status")[:1])


def _of_organisation(records: QuerySet, user: User, organisation: Organisation | int | None):
    """One organisation's records (the screens), or those of all the user's (the API),
    under the access policy."""
    if organisation is not None:
        return records.visible_to(user).filter(organisation=organisation)
    return records.visible_to(user, as_list=True)


def _tallies(user: User, organisation: Organisation | int | None, record: str) -> QuerySet:
    """The stored tallies (portal/records/tallies.py) of one organisation's records, or of
    all the user's (the API), under the access policy."""
    tallies = RecordTally.objects.filter(record=record, count__gt=0)
    if organisation is not None:
        return tallies.visible_to(user).filter(organisation=organisation)
    return tallies.visible_to(user, as_list=True)


def record_count(*, user: User, organisation: Organisation, record: str) -> int:
    """How many live orders ("order"), deliveries ("shipment") or invoices ("invoice") the
    organisation has: the lists' page count without counting their rows (the SQL built
    once per process, config/prepared.py)."""
    counted = prepared.rows(_record_count, record, user=user, organisation=organisation.pk)
    # The driver's SUM is a Decimal (no ORM converter on prepared rows); no row: none yet.
    return int(counted[0]["n"]) if counted else 0


def _record_count(record: str, *, user: User, organisation: int) -> QuerySet:
    return _tallies(user, organisation, record).values("record").annotate(n=Sum("count"))


def order_statuses(*, user: User, organisation: Organisation | None = None) -> list[str]:
    """The values the status filter takes: every status the order entry uses for these
    orders, and "delivered" (status_shown's own word)."""
    return sorted({*_tally_keys(user, organisation, "order"), DELIVERED})


def _tally_keys(user: User, organisation: Organisation | None, record: str) -> list[str]:
    """The keys of the tallies: one organisation's by a prepared query, all the user's
    (the API: their organisations' ids read first) by the queryset."""
    if organisation is None:
        keys = _tallies(user, None, record).values_list("key", flat=True).distinct()
        return list(keys)
    found = prepared.rows(_keys, record, user=user, organisation=organisation.pk)
    return [row["key"] for row in found]


def _keys(record: str, *, user: User, organisation: int) -> QuerySet:
    return _tallies(user, organisation, record).values("key").distinct()


def order_get(*, user: User, pk: int) -> Order:
    """An order with its `status_shown`, its `organisation_name` and, as lists, its live
    `live_lines`, and the `shown_shipments` and `shown_invoices` its screens show; 404
    unless visible. Four queries, their SQL built once per process (config/prepared.py)."""
    found = prepared.objects(_order, user=user, pk=pk)
    if not found:
        raise Http404
    order = found[0]
    order.live_lines = prepared.objects(_order_lines, order=pk)
    order.shown_shipments = prepared.objects(_order_shipments, order=pk)
    order.shown_invoices = prepared.objects(_order_invoices, order=pk, today=timezone.localdate())
    return order


def _order(*, user: User, pk: int) -> QuerySet[Order]:
    return (
        Order.objects.visible_to(user)
        .filter(pk=pk)
        .annotate(status_shown=status_shown(), organisation_name=F("organisation__name"))
    )


def _order_lines(*, order: int) -> QuerySet[OrderLine]:
    return OrderLine.objects.filter(order=order, deleted_at__isnull=True).order_by("pk")


def _order_shipments(*, order: int) -> QuerySet[Shipment]:
    # The model's own order: by when they shipped.
    return with_tracking_template(Shipment.objects.filter(order=order, **SHOWN_WITH_ORDER))


def _order_invoices(*, order: int, today: date) -> QuerySet[Invoice]:
    return with_invoice_state(Invoice.objects.filter(order=order, **SHOWN_WITH_ORDER), today)


def order_for_reorder(*, user: User, pk: int) -> Order:
    """An order with its source (whose department takes a reorder) and its live lines
    prefetched; 404 unless visible."""
    lines = OrderLine.objects.filter(deleted_at__isnull=True).order_by("pk")
    return get_object_or_404(
        Order.objects.visible_to(user)
        .select_related("organisation", "source")
        .prefetch_related(Prefetch("lines", queryset=lines)),
        pk=pk,
    )


def order_heading(*, user: User, pk: int) -> Order:
    """As order_get, only what a page needs before its kept content: number, organisation."""
    orders = Order.objects.visible_to(user).only("pk", "organisation_id", "number")
    return get_object_or_404(orders, pk=pk)


def with_tracking_template(shipments: QuerySet[Shipment]) -> QuerySet[Shipment]:
    """Each shipment with its carrier's tracking page (`tracking_template`), in the same query."""
    carrier = Carrier.objects.filter(name__iexact=OuterRef("carrier")).values("tracking_url")
    return shipments.annotate(tracking_template=Subquery(carrier[:1]))


def shipment_list(
    *, user: User, organisation: Organisation | int | None = None, status: str = ""
) -> QuerySet[Shipment]:
    """Shipments, newest first, each with its carrier's tracking page and its order's
    `order_number` (the screens show that; the API, the order)."""
    shipments = (
        with_tracking_template(_of_organisation(Shipment.objects, user, organisation))
        .select_related("order")
        .annotate(order_number=F("order__number"))
        .order_by(F("shipped_at").desc(nulls_last=True), "-pk")
    )
    return shipments.filter(status=status) if status else shipments


def shipment_page(*, user: User, organisation: Organisation, count: int) -> prepared.Page:
    """Every live shipment of the organisation, for the Paginator of the Deliveries list:
    the page's SQL built once per process (config/prepared.py)."""
    return prepared.Page(_shipment_page, count=count, user=user, organisation=organisation.pk)


def _shipment_page(*, user: User, organisation: int):
    return shipment_list(user=user, organisation=organisation).select_related(None)


def shipment_statuses(*, user: User, organisation: Organisation | None = None) -> list[str]:
    """The carriers' statuses of these shipments: the values the status filter takes."""
    return sorted(_tally_keys(user, organisation, "shipment"))


INVOICE_STATES = dict(InvoiceStatus.choices)
INVOICE_SORTS = {
    "newest": ("-issued_on", "-pk"),
    "oldest": ("issued_on", "pk"),
    "due": (F("due_on").asc(nulls_last=True), "-pk"),
    "amount": ("-amount", "-pk"),
    "number": ("number", "pk"),
}


def with_invoice_state(invoices: QuerySet[Invoice], today: date | None = None) -> QuerySet[Invoice]:
    """The one rule for an invoice's state, as SQL, wherever invoices are shown: cancelled
    or paid as its billing system says (a payment date, or its status), overdue once its
    due day (before `today`, by default the local day) has passed unpaid, open before."""
    today = today or timezone.localdate()
    return invoices.annotate(
        state=Case(
            When(status=InvoiceStatus.CANCELLED, then=Value(InvoiceStatus.CANCELLED)),
            When(~UNPAID, then=Value(InvoiceStatus.PAID)),
            When(due_on__lt=today, then=Value(InvoiceStatus.OVERDUE)),
            default=Value(InvoiceStatus.OPEN),
            output_field=CharField(),
        )
    )


def invoice_list(
    *,
    user: User,
    organisation: Organisation | int | None = None,
    state: str = "",
    search: str = "",
    sort: str = "",
    today: date | None = None,
) -> QuerySet[Invoice]:
    invoices = _of_organisation(Invoice.objects, user, organisation)
    if search.strip():
        text = search.strip()
        invoices = invoices.filter(Q(number__icontains=text) | Q(order__number__icontains=text))
    invoices = (
        with_invoice_state(invoices, today)
        .select_related("order")
        .annotate(order_number=F("order__number"))  # what the screens show of the order
        .order_by(*INVOICE_SORTS.get(sort, INVOICE_SORTS["newest"]))
    )
    if state == "unpaid":  # what the home page lists: overdue first, then by due date
        return invoices.filter(UNPAID).order_by(*INVOICE_SORTS["due"])
    return invoices.filter(state=state) if state in INVOICE_STATES else invoices


def invoice_page(*, user: User, organisation: Organisation, sort: str, count: int) -> prepared.Page:
    """Every invoice of the organisation, sorted, for the Paginator of the unfiltered
    Invoices list: the page's SQL built once per process (config/prepared.py)."""
    return prepared.Page(
        _invoice_page,
        sort if sort in INVOICE_SORTS else "newest",
        count=count,
        user=user,
        organisation=organisation.pk,
        today=timezone.localdate(),
    )


def _invoice_page(sort: str, *, user: User, organisation: int, today: date):
    invoices = invoice_list(user=user, organisation=organisation, sort=sort, today=today)
    return invoices.select_related(None)


def invoice_totals(*, user: User, organisation: Organisation) -> list[dict]:
    """What is open and what is overdue, per currency (never added across currencies),
    from the stored tallies of unpaid invoices per currency and due day; the SQL built
    once per process (config/prepared.py)."""
    rows = prepared.rows(
        _invoice_totals, user=user, organisation=organisation.pk, today=timezone.localdate()
    )
    # As the ORM would give them: the driver's SUMs are Decimals on PostgreSQL, floats on
    # SQLite, and a count's SUM is a Decimal.
    return [
        {
            **row,
            "open": _decimal(row["open"]),
            "overdue": _decimal(row["overdue"]),
            "overdue_count": int(row["overdue_count"]),
        }
        for row in rows
    ]


def _decimal(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _invoice_totals(*, user: User, organisation: int, today: date) -> QuerySet:
    overdue = Q(due_on__lt=today)
    return (
        _tallies(user, organisation, "unpaid")
        .order_by("key")
        .values(currency=F("key"))
        .annotate(
            open=Coalesce(Sum("amount"), Value(Decimal(0))),
            overdue=Coalesce(Sum("amount", filter=overdue), Value(Decimal(0))),
            overdue_count=Coalesce(Sum("count", filter=overdue), 0),
        )
    )


def order_page(*, user: User, organisation: Organisation, sort: str, count: int) -> prepared.Page:
    """Every live order of the organisation as order_rows shows them, sorted, for the
    Paginator of the unfiltered list: the page's SQL built once per process."""
    sort = sort if sort in ORDER_SORTS else "newest"
    return prepared.Page(_order_page, sort, count=count, user=user, organisation=organisation.pk)


def _order_page(sort: str, *, user: User, organisation: int):
    return order_rows(order_list(user=user, organisation=organisation, sort=sort))


# The home's short lists, their SQL built once per process (config/prepared.py): building
# their querysets cost more CPU than the rest of the page.


# What the home shows of an order's source: the label "From Order entry · synced 5 minutes
# ago" under the list, read with the orders instead of every source by a query of its own.
RECENT_ORDER_SOURCE = {"source": ("name", "last_success_at")}


def recent_orders(*, user: User, organisation: Organisation, limit: int = 5) -> list[Order]:
    """The newest orders, each with its latest shipment's status and its `source` (name and
    last sync)."""
    orders = prepared.objects(_recent_orders, limit, user=user, organisation=organisation.pk)
    return [prepared.with_related(order, RECENT_ORDER_SOURCE) for order in orders]


def _recent_orders(limit: int, *, user: User, organisation: int) -> QuerySet[Order]:
    # Not order_list nor order_rows: the home shows neither the status shown nor a line
    # count, each a subquery a row; and only the columns it shows.
    orders = _of_organisation(Order.objects, user, organisation)
    return (
        orders.order_by(*ORDER_SORTS["newest"])
        .only("number", "ordered_at", "source_id")
        .annotate(
            shipment_status=latest_shipment_status(),
            **prepared.related_columns(RECENT_ORDER_SOURCE),
        )[:limit]
    )


def invoices_due(*, user: User, organisation: Organisation, limit: int = 5) -> list[Invoice]:
    """The unpaid invoices, overdue first, then by due day (invoice_list's "unpaid")."""
    return prepared.objects(
        _invoices_due, limit, user=user, organisation=organisation.pk, today=timezone.localdate()
    )


def _invoices_due(limit: int, *, user: User, organisation: int, today: date) -> QuerySet:
    # invoice_list's "unpaid" without the order's number (a join) the home does not show,
    # and only the columns it shows.
    invoices = with_invoice_state(_of_organisation(Invoice.objects, user, organisation), today)
    invoices = invoices.filter(UNPAID).order_by(*INVOICE_SORTS["due"])
    return invoices.only("number", "amount", "currency", "due_on")[:limit]


def invoice_get(*, user: User, pk: int) -> Invoice:
    invoices = Invoice.objects.visible_to(user).select_related("organisation", "order", "source")
    return get_object_or_404(with_invoice_state(invoices), pk=pk)
