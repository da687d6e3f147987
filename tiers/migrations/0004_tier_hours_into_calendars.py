"""Move each tier's business hours (days, opening, closing) into a support calendar.

Tiers with the same hours share one calendar, named after its hours ("Mon–Fri
09:00–17:00"), so a holiday added there counts for all of them. A 24/7 tier gets one
only if its (unused) hours differ from the default, so switching it back to business
hours later keeps what was typed. Nothing changes for any tier's clock.
"""

from datetime import time

from django.db import migrations

NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
DEFAULT = ("01234", time(9, 0), time(17, 0))


def _label(days: str, opens: time, closes: time) -> str:
    # Written out here, not imported: a migration must not change when the code does.
    numbers = sorted(int(d) for d in days)
    if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        day_text = f"{NAMES[numbers[0]]}–{NAMES[numbers[-1]]}"
    else:
        day_text = ", ".join(NAMES[d] for d in numbers)
    return f"{day_text} {opens:%H:%M}–{closes:%H:%M}"


def hours_into_calendars(apps, schema_editor):
    ServiceTier = apps.get_model("tiers", "ServiceTier")
    SupportCalendar = apps.get_model("tiers", "SupportCalendar")
    BusinessHoursWindow = apps.get_model("tiers", "BusinessHoursWindow")
    calendars = {}
    for tier in ServiceTier.objects.order_by("rank"):
        hours = ("".join(sorted(set(tier.business_days))), tier.business_opens, tier.business_closes)
        if tier.clock == "24x7" and (hours == DEFAULT or not hours[0] or hours[1] >= hours[2]):
            continue  # the default, or hours that could never run (allowed on 24/7 only)
        if hours not in calendars:
            calendar, created = SupportCalendar.objects.get_or_create(name=_label(*hours))
            if created:
                BusinessHoursWindow.objects.bulk_create(
                    BusinessHoursWindow(
                        calendar=calendar, weekday=int(day), opens=hours[1], closes=hours[2]
                    )
                    for day in hours[0]
                )
            calendars[hours] = calendar
        tier.support_calendar = calendars[hours]
        tier.save(update_fields=["support_calendar"])


def calendars_into_hours(apps, schema_editor):
    """Back to one window per day: the days that have hours, the earliest opening and
    the latest closing (a lunch break is lost; holidays stay in their table)."""
    ServiceTier = apps.get_model("tiers", "ServiceTier")
    BusinessHoursWindow = apps.get_model("tiers", "BusinessHoursWindow")
    for tier in ServiceTier.objects.filter(support_calendar__isnull=False):
        windows = list(BusinessHoursWindow.objects.filter(calendar=tier.support_calendar_id))
        if windows:
            tier.business_days = "".join(sorted({str(w.weekday) for w in windows}))
            tier.business_opens = min(w.opens for w in windows)
            tier.business_closes = max(w.closes for w in windows)
            tier.save(update_fields=["business_days", "business_opens", "business_closes"])


class Migration(migrations.Migration):
    dependencies = [
        ("tiers", "0003_support_calendars"),
    ]

    operations = [
        migrations.RunPython(hours_into_calendars, calendars_into_hours),
    ]
