"""Reads for the single view, always through the access policy."""

from __future__ import annotations

from datetime import date

from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    F,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.choices import UserKind
from accounts.models import Organisation, User
from portal.models import (
    CustomerIdentity,
    Invoice,
    LegacyTicket,
    Order,
    OrderLine,
    Shipment,
    SourceSystem,
    TimelineEvent,
)
from tickets.choices import OPEN_STATUSES, SlaState
from tickets.models import Message, Ticket
from tickets.selectors import ticket_list
from tiers.models import TierAssignment

ORDER_SORTS = {
    "newest": ("-ordered_at", "-pk"),
    "oldest": ("ordered_at", "pk"),
    "number": ("number", "pk"),
    "total": ("-total", "-pk"),
}


def source_freshness() -> dict[int, SourceSystem]:
    """Every source by id, to label records with where they came from and how fresh."""
    return {s.pk: s for s in SourceSystem.objects.only("pk", "name", "last_success_at")}


def order_list(
    *,
    user: User,
    organisation: Organisation,
    search: str = "",
    status: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    sort: str = "newest",
) -> QuerySet[Order]:
    orders = Order.objects.visible_to(user).filter(organisation=organisation)
    if search:
        lines = OrderLine.objects.filter(order=OuterRef("pk")).filter(
            Q(product_code__icontains=search) | Q(product_name__icontains=search)
        )
        orders = orders.filter(Q(number__icontains=search) | Exists(lines))
    if status:
        orders = orders.filter(status=status)
    if date_from:
        orders = orders.filter(ordered_at__date__gte=date_from)
    if date_to:
        orders = orders.filter(ordered_at__date__lte=date_to)
    latest_shipment = Shipment.objects.filter(order=OuterRef("pk"), deleted_at__isnull=True)
    live_lines = OrderLine.objects.filter(order=OuterRef("pk"), deleted_at__isnull=True)
    # Subqueries, not a join with GROUP BY: only the rows of the page are counted.
    return orders.annotate(
        line_count=Coalesce(
            Subquery(live_lines.order_by().values("order").annotate(n=Count("pk")).values("n")[:1]),
            0,
        ),
        shipment_status=Subquery(latest_shipment.order_by("-shipped_at").values("status")[:1]),
    ).order_by(*ORDER_SORTS.get(sort, ORDER_SORTS["newest"]))


def order_statuses(*, organisation: Organisation) -> list[str]:
    return list(
        Order.objects.filter(organisation=organisation, deleted_at__isnull=True)
        .order_by("status")
        .values_list("status", flat=True)
        .distinct()
    )


def order_get(*, user: User, pk: int) -> Order:
    """An order with its lines, shipments and invoices; 404 unless visible."""
    live = {"deleted_at__isnull": True}
    return get_object_or_404(
        Order.objects.visible_to(user)
        .select_related("organisation")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.filter(**live).order_by("pk")),
            Prefetch("shipments", queryset=Shipment.objects.filter(**live)),
            Prefetch("invoices", queryset=Invoice.objects.filter(**live)),
        ),
        pk=pk,
    )


def shipment_list(*, user: User, organisation: Organisation, status: str = "") -> QuerySet:
    shipments = (
        Shipment.objects.visible_to(user)
        .filter(organisation=organisation)
        .select_related("order")
        .order_by(F("shipped_at").desc(nulls_last=True), "-pk")
    )
    return shipments.filter(status=status) if status else shipments


INVOICE_STATES = {"open": "Open", "overdue": "Overdue", "paid": "Paid"}


def invoice_list(*, user: User, organisation: Organisation, state: str = "") -> QuerySet:
    today = timezone.localdate()
    invoices = (
        Invoice.objects.visible_to(user)
        .filter(organisation=organisation)
        .annotate(
            state=Case(
                When(paid_on__isnull=False, then=Value("paid")),
                When(due_on__lt=today, then=Value("overdue")),
                default=Value("open"),
                output_field=CharField(),
            )
        )
        .select_related("order")
        .order_by("-issued_on", "-pk")
    )
    if state == "unpaid":  # what the home page lists: overdue first, then by due date
        return invoices.filter(paid_on__isnull=True).order_by(
            F("due_on").asc(nulls_last=True), "-pk"
        )
    return invoices.filter(state=state) if state in INVOICE_STATES else invoices


def invoice_get(*, user: User, pk: int) -> Invoice:
    invoices = Invoice.objects.visible_to(user).select_related("organisation", "order")
    return get_object_or_404(invoices, pk=pk)


# --- The timeline: every touchpoint across departments, newest first --------------------------

TIMELINE_KINDS = {
    "order": "Orders placed",
    "delivery": "Deliveries",
    "invoice": "Invoices issued",
    "payment": "Payments",
    "ticket": "Tickets",
    "legacy_ticket": "Old help-desk tickets",
    "note": "News from us",
}


def _touchpoints(queryset, kind: str, at: str, title, target, limit: int) -> QuerySet:
    """One kind of touchpoint as (kind, at, title, target) rows: the newest `limit` only.

    Each part is cut to its own newest rows first (through an index on the
    organisation and the date) so the UNION never reads a big customer's whole history.
    """
    newest = queryset.order_by(f"-{at}").values("pk")[:limit]
    # Prefixed names: TimelineEvent has fields called kind, at and title. No ordering
    # inside the arms: SQLite refuses ORDER BY in the arms of a UNION.
    return (
        queryset.model.objects.filter(pk__in=newest)
        .order_by()
        .annotate(
            tl_kind=Value(kind, output_field=CharField()),
            tl_at=Cast(F(at), DateTimeField()),
            tl_title=Cast(title, CharField()),
            tl_target=Cast(target, CharField()),
        )
        .values_list("tl_kind", "tl_at", "tl_title", "tl_target")
    )


def timeline(*, organisation: Organisation, kind: str = "", limit: int = 20) -> list[dict]:
    """Touchpoints from every system in one query (a UNION), newest first."""
    live = {"organisation": organisation, "deleted_at__isnull": True}
    parts = {
        "order": _touchpoints(
            Order.objects.filter(**live),
            "order",
            "ordered_at",
            Concat(Value("Order "), F("number"), Value(" placed")),
            F("pk"),
            limit,
        ),
        "delivery": _touchpoints(
            Shipment.objects.filter(**live, delivered_at__isnull=False),
            "delivery",
            "delivered_at",
            Concat(Value("Delivered by "), F("carrier"), Value(" "), F("tracking_number")),
            F("order_id"),
            limit,
        ),
        "invoice": _touchpoints(
            Invoice.objects.filter(**live),
            "invoice",
            "issued_on",
            Concat(Value("Invoice "), F("number"), Value(" issued")),
            F("pk"),
            limit,
        ),
        "payment": _touchpoints(
            Invoice.objects.filter(**live, paid_on__isnull=False),
            "payment",
            "paid_on",
            Concat(Value("Invoice "), F("number"), Value(" paid")),
            F("pk"),
            limit,
        ),
        "ticket": _touchpoints(
            Ticket.objects.filter(organisation=organisation),
            "ticket",
            "created_at",
            Concat(Value("Ticket opened: "), F("subject")),
            F("pk"),
            limit,
        ).union(
            _touchpoints(
                Ticket.objects.filter(organisation=organisation, resolved_at__isnull=False),
                "ticket",
                "resolved_at",
                Concat(Value("Ticket resolved: "), F("subject")),
                F("pk"),
                limit,
            ),
            all=True,
        ),
        "legacy_ticket": _touchpoints(
            LegacyTicket.objects.filter(**live),
            "legacy_ticket",
            "opened_at",
            Concat(Value("Help-desk ticket: "), F("subject")),
            F("pk"),
            limit,
        ),
        "note": _touchpoints(
            TimelineEvent.objects.filter(organisation=organisation),
            "note",
            "at",
            F("title"),
            F("body"),
            limit,
        ),
    }
    chosen = [parts[kind]] if kind in parts else list(parts.values())
    query = chosen[0].union(*chosen[1:], all=True) if len(chosen) > 1 else chosen[0]
    rows = query.order_by("-tl_at")[:limit]
    return [dict(zip(("kind", "at", "title", "target"), row, strict=True)) for row in rows]


# --- The staff workspace ------------------------------------------------------------------------

ACCOUNT_SORTS = {
    "name": ("name",),
    "renewal": (F("renewal_date").asc(nulls_last=True), "name"),
    "stage": ("lifecycle_stage", "name"),
    "open": ("-open_tickets", "name"),
    "risk": ("-tickets_at_risk", "-open_tickets", "name"),
    "contact": (F("last_contact").asc(nulls_first=True), "name"),
}


def workspace_accounts(*, user: User, sort: str = "name") -> QuerySet[Organisation]:
    """The accounts a staff member looks after, with what needs attention."""
    now = timezone.now()
    open_tickets = Ticket.objects.filter(organisation=OuterRef("pk"), status__in=OPEN_STATUSES)
    risky = open_tickets.with_sla_state(now).filter(
        sla_state__in=[SlaState.AT_RISK, SlaState.BREACHED]
    )
    staff_message = Message.objects.filter(
        ticket__organisation=OuterRef("pk"), author__kind__in=STAFF_KINDS, is_internal=False
    )
    current_tier = TierAssignment.objects.filter(organisation=OuterRef("pk"), ended_at__isnull=True)
    return (
        Organisation.objects.visible_to(user)
        .annotate(
            tier_name=Subquery(current_tier.values("tier__name")[:1]),
            open_tickets=_count(open_tickets),
            tickets_at_risk=_count(risky),
            last_contact=Subquery(
                staff_message.order_by()
                .values("ticket__organisation")
                .annotate(latest=Max("created_at"))
                .values("latest")[:1]
            ),
        )
        .order_by(*ACCOUNT_SORTS.get(sort, ACCOUNT_SORTS["name"]))
    )


STAFF_KINDS = [kind for kind in UserKind.values if kind != UserKind.CUSTOMER]


def _count(queryset):
    counted = queryset.order_by().values("organisation").annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted), 0)


def tickets_waiting_for_staff(*, user: User) -> QuerySet[Ticket]:
    """Open tickets whose last public word is the customer's: the ball is in our court."""
    last_public = Message.objects.filter(ticket=OuterRef("pk"), is_internal=False).order_by(
        "-created_at", "-pk"
    )
    return (
        ticket_list(user=user, status="open")
        .order_by("created_at", "pk")
        .annotate(last_author_kind=Subquery(last_public.values("author__kind")[:1]))
        .filter(Q(last_author_kind="customer") | Q(last_author_kind__isnull=True))
        .exclude(status="waiting")
    )


def work_queue_counts(*, user: User) -> dict[str, int]:
    """The numbers on the workspace's queue card: one query each, whatever the data."""
    return {
        "waiting": tickets_waiting_for_staff(user=user).count(),
        "at_risk": ticket_list(user=user, status="open", sla_state="at_risk").count(),
        "breached": ticket_list(user=user, status="open", sla_state="breached").count(),
        "to_match": CustomerIdentity.objects.filter(organisation__isnull=True).count(),
    }
