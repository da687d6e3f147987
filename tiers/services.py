"""Writes for tiers: giving an organisation its tier, keeping the history; holidays."""

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.choices import AuditAction
from accounts.models import Organisation, User
from accounts.services import audit_record
from tiers import ical
from tiers.models import Holiday, ServiceTier, SupportCalendar, TierAssignment
from tiers.signals import tier_changed


@transaction.atomic
def tier_assign(
    *, organisation: Organisation, tier: ServiceTier, by: User | None, reason: str = ""
) -> TierAssignment:
    """Make `tier` the organisation's current tier; the previous one ends now."""
    current = (
        TierAssignment.objects.select_for_update()
        .current()
        .filter(organisation=organisation)
        .select_related("tier")
        .first()
    )
    if current and current.tier_id == tier.pk:
        return current
    now = timezone.now()
    if current:
        current.ended_at = now
        current.save(update_fields=["ended_at"])
    assignment = TierAssignment.objects.create(
        organisation=organisation, tier=tier, started_at=now, changed_by=by, reason=reason
    )
    tier_changed.send(sender=TierAssignment, organisation=organisation, tier=tier, at=now)
    audit_record(
        actor=by,
        action=AuditAction.TIER_CHANGED,
        organisation=organisation,
        target=tier.name,
        detail={"from": current.tier.name if current else None, "reason": reason},
    )
    return assignment


@dataclass(frozen=True)
class HolidayImport:
    """What an iCal import did: holidays added, dates already there, events skipped."""

    added: int
    already_there: int
    skipped: list[str]


@transaction.atomic
def holidays_import_ical(
    *, calendar: SupportCalendar, content: bytes, today: date | None = None
) -> HolidayImport:
    """Add the all-day events of an .ics file to the calendar's holidays (tiers/ical.py).

    Dates that are holidays already are left as they are, so importing a file again adds
    nothing. A file that cannot be read raises ValidationError and writes nothing.
    """
    try:
        found = ical.read_holidays(content, today=today or timezone.localdate())
    except ical.IcalError as error:
        raise ValidationError(str(error)) from None
    # Two imports into one calendar at once run one after the other, so neither trips
    # over the other's dates.
    calendar = SupportCalendar.objects.select_for_update().get(pk=calendar.pk)
    existing = set(
        Holiday.objects.filter(calendar=calendar, date__in=list(found.days)).values_list(
            "date", flat=True
        )
    )
    new = [
        Holiday(calendar=calendar, date=day, name=name)
        for day, name in sorted(found.days.items())
        if day not in existing
    ]
    for holiday in new:
        # The calendar is locked above and the dates are new to it: no query per row.
        holiday.full_clean(exclude=["calendar"], validate_constraints=False)
    Holiday.objects.bulk_create(new)
    return HolidayImport(added=len(new), already_there=len(existing), skipped=found.skipped)
