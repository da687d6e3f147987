"""Service tiers: what a customer pays, gets and is promised."""

from datetime import time
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from accounts.models import Organisation, User
from accounts.querysets import OrganisationOwnedQuerySet
from tiers.calendar import BusinessCalendar
from tiers.choices import Clock, Priority

WEEKDAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


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
    business_days = models.CharField(
        max_length=7,
        default="01234",
        help_text="Days the clock runs, as digits: 0 Monday … 6 Sunday.",
    )
    business_opens = models.TimeField(default=time(9, 0))
    business_closes = models.TimeField(default=time(17, 0))
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
                condition=Q(clock=Clock.ALWAYS) | Q(business_opens__lt=models.F("business_closes")),
                name="tier_opens_before_closes",
                violation_error_message="Business hours must open before they close.",
            ),
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

    def clean(self):
        super().clean()
        days = self.business_days or ""
        if not days or any(c not in "0123456" for c in days) or len(set(days)) != len(days):
            raise ValidationError(
                {"business_days": "Use distinct digits 0 (Monday) to 6 (Sunday)."}
            )

    @property
    def perk_list(self) -> list[str]:
        return [line.strip() for line in self.perks.splitlines() if line.strip()]

    @property
    def hours_label(self) -> str:
        if self.clock == Clock.ALWAYS:
            return "24 hours a day, 7 days a week"
        days = sorted(int(d) for d in self.business_days)
        if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
            day_text = f"{WEEKDAY_NAMES[days[0]]}–{WEEKDAY_NAMES[days[-1]]}"
        else:
            day_text = ", ".join(WEEKDAY_NAMES[d] for d in days)
        return f"{day_text} {self.business_opens:%H:%M}–{self.business_closes:%H:%M}"

    def calendar(self, time_zone: str) -> BusinessCalendar:
        """The SLA clock of this tier in an organisation's time zone."""
        return BusinessCalendar(
            tz=ZoneInfo(time_zone),
            always_open=self.clock == Clock.ALWAYS,
            weekdays=frozenset(int(d) for d in self.business_days),
            opens=self.business_opens,
            closes=self.business_closes,
        )


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
