"""Service tiers: what a customer pays, gets and is promised."""

from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from accounts.models import Organisation, User
from accounts.querysets import OrganisationOwnedQuerySet
from tiers.calendar import ALWAYS_OPEN_LABEL, OFFICE_WEEK, BusinessCalendar, Window, hours_label
from tiers.choices import Clock, Priority, Weekday


def validate_time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            "Unknown time zone %(zone)s: use a name such as Europe/London.",
            params={"zone": value},
        ) from None


class SupportCalendar(models.Model):
    """When the business-hours SLA clock runs: weekly opening windows, and holidays.

    A named calendar ("UK office hours") that several tiers share, since holidays
    belong to an office or a country rather than to a tier. The windows are local time
    in the calendar's own time zone if it has one, otherwise in each customer
    organisation's; holidays are dates in that same zone.
    """

    name = models.CharField(max_length=80, unique=True)
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="The office's zone, e.g. Europe/London. Empty: each customer's own time zone.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def window_list(self) -> list[Window]:
        rows = self.windows.order_by().values_list("weekday", "opens", "closes")
        return [Window(weekday, opens, closes) for weekday, opens, closes in rows]

    @property
    def hours_label(self) -> str:
        return hours_label(self.window_list())

    def clock_time_zone(self, organisation_time_zone: str) -> str:
        return self.time_zone or organisation_time_zone

    def clock(self, organisation_time_zone: str) -> BusinessCalendar:
        """This calendar as SLA clock arithmetic, for a customer in that time zone."""
        return BusinessCalendar(
            tz=ZoneInfo(self.clock_time_zone(organisation_time_zone)),
            windows=tuple(self.window_list()),
            holidays=frozenset(self.holidays.values_list("date", flat=True)),
        )


class BusinessHoursWindow(models.Model):
    """A stretch of a weekday when a calendar's clock runs; a break is a gap between two."""

    calendar = models.ForeignKey(SupportCalendar, on_delete=models.CASCADE, related_name="windows")
    weekday = models.PositiveSmallIntegerField(choices=Weekday)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["calendar", "weekday", "opens"]
        verbose_name = "opening window"
        constraints = [
            models.CheckConstraint(
                condition=Q(opens__lt=models.F("closes")),
                name="hours_window_opens_before_closes",
                violation_error_message="A window must open before it closes.",
            ),
            models.CheckConstraint(
                condition=Q(weekday__lte=6),
                name="hours_window_weekday_range",
                violation_error_message="The weekday is 0 (Monday) to 6 (Sunday).",
            ),
            models.UniqueConstraint(
                fields=["calendar", "weekday", "opens"],
                name="hours_window_unique_opening",
                violation_error_message="This calendar already opens at that time on that day.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class Holiday(models.Model):
    """A date on which a calendar's clock does not run at all (in the calendar's zone)."""

    calendar = models.ForeignKey(SupportCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["calendar", "date"]
        constraints = [
            models.UniqueConstraint(
                fields=["calendar", "date"],
                name="holiday_unique_calendar_date",
                violation_error_message="This calendar already has a holiday on that date.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.date:%d %b %Y} {self.name}".strip()


class ServiceTier(models.Model):
    """A clearly branded level of service with its price, perks and promises."""

    name = models.CharField(max_length=60, unique=True)
    rank = models.PositiveSmallIntegerField(
        unique=True, help_text="Higher rank, more service: 1 is the entry tier."
    )
    tagline = models.CharField(max_length=200, blank=True)
    annual_fee = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="GBP")
    list_price_discount_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=0, help_text="Discount on list prices."
    )
    perks = models.TextField(blank=True, help_text="One perk per line, shown to the customer.")
    clock = models.CharField(max_length=20, choices=Clock, default=Clock.BUSINESS_HOURS)
    support_calendar = models.ForeignKey(
        SupportCalendar,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tiers",
        verbose_name="business hours",
        help_text="When the business-hours clock runs, and its holidays. "
        "Empty: Mon–Fri 09:00–17:00 in the customer's time zone, no holidays.",
    )
    review_every_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Quarterly business review cadence; empty: none."
    )
    health_check_every_days = models.PositiveIntegerField(null=True, blank=True)
    executive_sponsor_promised = models.BooleanField(default=False)
    sponsor_contact_every_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="How often the executive sponsor must be in touch."
    )
    value_top_percent = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        verbose_name="fits the top % of customers",
        help_text="Tier fit: this tier suits the customers in the top so many per cent by "
        "revenue. Empty: the tier suits anyone (the entry tier).",
    )

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(
                condition=Q(executive_sponsor_promised=False)
                | Q(sponsor_contact_every_days__isnull=False),
                name="tier_sponsor_promise_has_cadence",
                violation_error_message="Say how often the promised sponsor must be in touch.",
            ),
            models.CheckConstraint(
                condition=Q(value_top_percent__isnull=True)
                | Q(value_top_percent__gte=1, value_top_percent__lte=100),
                name="tier_value_top_percent_range",
                violation_error_message="The top share of customers is between 1 and 100 %.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def perk_list(self) -> list[str]:
        return [line.strip() for line in self.perks.splitlines() if line.strip()]

    @property
    def hours_label(self) -> str:
        """The clock's opening hours for people: "Mon–Fri 09:00–17:00"."""
        if self.clock == Clock.ALWAYS:
            return ALWAYS_OPEN_LABEL
        if self.support_calendar_id is None:
            return hours_label(OFFICE_WEEK)
        return self.support_calendar.hours_label

    def clock_time_zone(self, organisation_time_zone: str) -> str:
        """The zone the hours are in: the calendar's own, or else the customer's."""
        if self.clock == Clock.ALWAYS or self.support_calendar_id is None:
            return organisation_time_zone
        return self.support_calendar.clock_time_zone(organisation_time_zone)

    def calendar(self, time_zone: str) -> BusinessCalendar:
        """The SLA clock of this tier for an organisation in ``time_zone``."""
        if self.clock == Clock.ALWAYS:
            return BusinessCalendar(tz=ZoneInfo(time_zone), always_open=True)
        if self.support_calendar_id is None:
            return BusinessCalendar(tz=ZoneInfo(time_zone), windows=OFFICE_WEEK)
        return self.support_calendar.clock(time_zone)


class SlaTarget(models.Model):
    """How fast a tier promises to answer and resolve a ticket of one priority."""

    tier = models.ForeignKey(ServiceTier, on_delete=models.CASCADE, related_name="sla_targets")
    priority = models.CharField(max_length=10, choices=Priority)
    first_response_minutes = models.PositiveIntegerField()
    resolution_minutes = models.PositiveIntegerField()

    class Meta:
        ordering = ["tier__rank", "-first_response_minutes"]
        constraints = [
            models.UniqueConstraint(
                fields=["tier", "priority"],
                name="sla_target_unique_tier_priority",
                violation_error_message="This tier already has a target for that priority.",
            ),
            models.CheckConstraint(
                condition=Q(first_response_minutes__gt=0)
                & Q(resolution_minutes__gte=models.F("first_response_minutes")),
                name="sla_target_sensible",
                violation_error_message="Resolution cannot come sooner than a first response.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tier} / {self.get_priority_display()}"


class TierAssignmentQuerySet(OrganisationOwnedQuerySet):
    def current(self):
        return self.filter(ended_at__isnull=True)


class TierAssignment(models.Model):
    """An organisation's tier over a period: the history of tier changes."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="tier_assignments"
    )
    tier = models.ForeignKey(ServiceTier, on_delete=models.PROTECT, related_name="assignments")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    changed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True)

    objects = TierAssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["organisation", "-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(ended_at__isnull=True),
                name="tier_one_current_per_organisation",
                violation_error_message="The organisation already has a current tier.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation}: {self.tier}"


class ExchangeRate(models.Model):
    """What one unit of a currency is worth in the reporting currency, for value analysis.

    Revenue in other currencies is converted at these planning rates (a
    constant-currency view: rankings do not move with daily exchange rates).
    Invoices in a currency without a rate are left out of the figures, and the
    value pages say how much was left out.
    """

    currency = models.CharField(
        max_length=3,
        unique=True,
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO code, e.g. EUR.")],
    )
    rate = models.DecimalField(
        max_digits=14,
        decimal_places=6,
        validators=[MinValueValidator(Decimal("0.000001"))],
        help_text="Value of 1 unit of this currency in the reporting currency.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["currency"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rate__gt=0),
                name="exchange_rate_positive",
                violation_error_message="A rate must be more than zero.",
            )
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate}"
