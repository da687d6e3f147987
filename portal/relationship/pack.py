"""The business-review pack's figures: the period since the last review, read from live data.

One selector, `pack_figures`, gathers every figure the PDF and the slides show, in a
bounded number of queries whatever the account's size (tests pin it). Where a screen
shows the same figure it is computed by the same function: the health breakdown and
reasons (health.py), SLA attainment, CSAT and effort by month
(tickets.selectors.ticket_months, the insights page), commitments (selectors.commitment_list),
revenue in the reporting currency at the admin's rates (portal.value.selectors.conversion).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import User
from portal.records.models import Invoice, Order
from portal.relationship import health, selectors
from portal.relationship.choices import CommitmentStatus
from portal.relationship.models import Commitment, Engagement, HealthScore, ReviewPack
from portal.value.selectors import conversion, months_before
from tickets.choices import Category
from tickets.models import Improvement, Ticket
from tickets.selectors import ticket_months


def pack_get(*, user: User, engagement_pk: int) -> ReviewPack:
    """A pack to download: staff of the account also get drafts; customers shared ones only.

    404 for anyone else, and for a draft asked for by a customer, so a draft's existence
    does not show.
    """
    packs = ReviewPack.objects.visible_to(user).select_related("organisation", "engagement")
    if not user.is_employee:
        packs = packs.filter(shared_at__isnull=False)
    return get_object_or_404(packs, pk=engagement_pk)


def pack_for_staff(*, user: User, engagement_pk: int) -> tuple[Engagement, ReviewPack | None]:
    """The engagement and its pack (None before the first draft) for staff to edit."""
    if not user.is_employee:
        raise Http404
    engagement = selectors.engagement_get(user=user, pk=engagement_pk)
    return engagement, ReviewPack.objects.filter(pk=engagement.pk).first()


@dataclass
class MonthRow:
    """One month of the period: tickets and service, orders and revenue."""

    month: date
    tickets: int = 0
    attainment: int | None = None
    csat: float | None = None
    effort: float | None = None
    ratings: int = 0
    orders: int = 0
    revenue: Decimal = Decimal(0)

    @property
    def label(self) -> str:
        return f"{self.month:%b %Y}"


@dataclass
class PackFigures:
    """Everything the pack shows, read at one moment."""

    pack: ReviewPack
    start: date
    end: date
    currency: str
    health: HealthScore | None
    health_first: HealthScore | None
    history: list[HealthScore]
    breakdown: list[dict]
    reasons: str
    months: list[MonthRow]
    categories: list[tuple[str, int]]
    improvements: list[Improvement]
    revenue_left_out: dict[str, Decimal]
    kept: list[Commitment]
    open: list[Commitment]
    dropped: list[Commitment]
    previous: Engagement | None
    previous_commitments: list[Commitment] = field(default_factory=list)

    @property
    def organisation(self):
        return self.pack.organisation

    @property
    def engagement(self):
        return self.pack.engagement

    @property
    def tickets(self) -> int:
        return sum(m.tickets for m in self.months)

    @property
    def orders(self) -> int:
        return sum(m.orders for m in self.months)

    @property
    def revenue(self) -> Decimal:
        return sum((m.revenue for m in self.months), Decimal(0))


def month_starts(start: date, end: date) -> list[date]:
    """The first day of every month from `start`'s to `end`'s."""
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = months_before(month, -1)
    return months


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The period as aware datetimes: from the start day's midnight to the end day's end."""
    first = timezone.make_aware(datetime.combine(start, time.min))
    after = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))
    return first, after


def _as_day(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def pack_figures(*, user: User, pack: ReviewPack, now: datetime | None = None) -> PackFigures:
    """Every figure of the pack for the pack's period, as `user` may see them."""
    now = now or timezone.now()
    organisation = pack.organisation
    start, end = pack.period_start, pack.period_end
    first, after = _bounds(start, end)
    months = {m: MonthRow(month=m) for m in month_starts(start, end)}

    history = list(
        HealthScore.objects.filter(
            organisation=organisation, computed_on__gte=start, computed_on__lte=end
        ).order_by("computed_on")
    )
    latest = history[-1] if history else None

    tickets = Ticket.objects.visible_to(user).filter(
        organisation=organisation, created_at__gte=first, created_at__lt=after
    )
    categories: dict[str, int] = {}
    for row in ticket_months(tickets, now=now):
        month = months.get(_as_day(row["month"]))
        if month is None:
            continue
        month.tickets, month.attainment, month.ratings = (
            row["total"],
            row["attainment"],
            row["ratings"],
        )
        month.csat = None if row["csat"] is None else float(row["csat"])
        month.effort = None if row["effort"] is None else float(row["effort"])
        for category, n in row["categories"].items():
            categories[category] = categories.get(category, 0) + n

    improvements = list(
        Improvement.objects.filter(tickets__in=tickets)
        .annotate(ticket_count=Count("tickets", filter=Q(tickets__in=tickets)))
        .order_by("-created_at", "pk")
    )

    orders = (
        Order.objects.visible_to(user)
        .filter(organisation=organisation, ordered_at__gte=first, ordered_at__lt=after)
        .annotate(month=TruncMonth("ordered_at"))
        .values("month")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in orders:
        if (month := months.get(_as_day(row["month"]))) is not None:
            month.orders = row["n"]

    currency, left_out = _revenue_by_month(user, organisation, start, end, months)
    commitments = list(selectors.commitment_list(user=user, organisation=organisation))
    previous = selectors.previous_review(pack.engagement)
    return PackFigures(
        pack=pack,
        start=start,
        end=end,
        currency=currency,
        health=latest,
        health_first=history[0] if history else None,
        history=history,
        breakdown=health.health_breakdown(latest) if latest else [],
        reasons=health.health_reasons(latest) if latest else "",
        months=list(months.values()),
        categories=sorted(
            ((Category(c).label if c in Category.values else c, n) for c, n in categories.items()),
            key=lambda item: (-item[1], item[0]),
        ),
        improvements=improvements,
        revenue_left_out=left_out,
        kept=[
            c
            for c in commitments
            if c.status == CommitmentStatus.DONE and c.closed_at and first <= c.closed_at < after
        ],
        open=[c for c in commitments if c.status == CommitmentStatus.OPEN],
        dropped=[
            c
            for c in commitments
            if c.status == CommitmentStatus.DROPPED and c.closed_at and first <= c.closed_at < after
        ],
        previous=previous,
        previous_commitments=[
            c for c in commitments if previous and c.engagement_id == previous.pk
        ],
    )


def _revenue_by_month(
    user, organisation, start: date, end: date, months: dict
) -> tuple[str, dict[str, Decimal]]:
    """Revenue per month in the reporting currency, by the value analysis' rules: live
    invoices (visible_to leaves out deleted ones) issued in the period, credit notes
    netted, other currencies at the admin's rates. Returns the reporting currency and
    what could not be converted ({currency: amount}): reported, never added.
    """
    rates = conversion()
    sums = (
        Invoice.objects.visible_to(user)
        .filter(organisation=organisation, issued_on__gte=start, issued_on__lte=end)
        .annotate(month=TruncMonth("issued_on"))
        .values("month", "currency")
        .annotate(amount=Sum("amount"))
        .order_by()
    )
    left_out: dict[str, Decimal] = {}
    for row in sums:
        month = months.get(_as_day(row["month"]))
        amount = Decimal(str(row["amount"] or 0))
        if row["currency"] == rates.currency:
            rate = Decimal(1)
        elif row["currency"] in rates.rates:
            rate = Decimal(str(rates.rates[row["currency"]]))
        else:
            left_out[row["currency"]] = left_out.get(row["currency"], Decimal(0)) + amount
            continue
        if month is not None:
            month.revenue += amount * rate
    return rates.currency, left_out
