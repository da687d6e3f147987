"""Reads for tiers: an organisation's tier, its SLA targets and hours, its tier history."""

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Subquery
from django.utils import timezone

from accounts.models import Organisation
from config import prepared
from tiers.choices import Clock
from tiers.models import Holiday, ServiceTier, SlaTarget, SupportCalendar, TierAssignment


def current_tier(*, organisation: Organisation) -> ServiceTier | None:
    """The organisation's tier now, with its whole support calendar. One query, its SQL
    built once per process (config/prepared.py)."""
    found = prepared.objects(_current_tier, organisation=organisation.pk)
    return prepared.with_related(found[0], _TIER_CALENDAR) if found else None


_TIER_CALENDAR = {"support_calendar": prepared.every_field(SupportCalendar)}


def _current_tier(*, organisation: int):
    current = TierAssignment.objects.current().filter(organisation=organisation)
    tiers = ServiceTier.objects.filter(
        pk=Subquery(current.order_by("-started_at", "pk").values("tier")[:1])
    )
    return tiers.annotate(**prepared.related_columns(_TIER_CALENDAR))


def sla_targets(*, tier: ServiceTier) -> list[SlaTarget]:
    return list(tier.sla_targets.all())


def tier_history(*, organisation: Organisation):
    return TierAssignment.objects.filter(organisation=organisation).select_related(
        "tier", "changed_by"
    )


@dataclass(frozen=True)
class ClosedDays:
    """Consecutive holidays of one name (Christmas: 25-26 Dec), or one holiday."""

    first: date
    last: date
    name: str


@dataclass(frozen=True)
class SupportHours:
    label: str
    time_zone: str
    holidays: list[ClosedDays]


def support_hours(
    *, tier: ServiceTier, organisation: Organisation, limit: int = 5, today: date | None = None
) -> SupportHours:
    """When the tier's clock runs for this organisation, and its next `limit` holidays
    within a year (dates in the clock's time zone)."""
    zone = tier.clock_time_zone(organisation.time_zone)
    holidays: list[ClosedDays] = []
    if tier.clock == Clock.BUSINESS_HOURS and tier.support_calendar_id:
        today = today or timezone.now().astimezone(ZoneInfo(zone)).date()
        rows = Holiday.objects.filter(
            calendar_id=tier.support_calendar_id,
            date__gte=today,
            date__lt=today + timedelta(days=366),
        ).values_list("date", "name")
        for day, name in rows.order_by("date"):
            previous = holidays[-1] if holidays else None
            if previous and previous.name == name and day == previous.last + timedelta(days=1):
                holidays[-1] = ClosedDays(previous.first, day, name)
            elif len(holidays) == limit:
                break
            else:
                holidays.append(ClosedDays(day, day, name))
    return SupportHours(label=tier.hours_label, time_zone=zone, holidays=holidays)
