"""The relationship: engagements, commitments, last contact, the sponsor promise, health."""

from django.db import models

from accounts.models import Organisation, User
from accounts.querysets import OrganisationOwnedQuerySet
from portal.relationship.choices import (
    CommitmentStatus,
    EngagementKind,
    EngagementStatus,
    HealthColour,
    HealthSignal,
)


class Engagement(models.Model):
    """A quarterly business review, health check or executive touchpoint with a customer.

    The summary and next steps are the customer's to read; the internal notes are
    for staff only. Held ones set the schedule: the next one of a kind is due one
    tier cadence after the last held (portal.selectors.review_schedule).
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="engagements"
    )
    kind = models.CharField(max_length=20, choices=EngagementKind)
    status = models.CharField(
        max_length=10, choices=EngagementStatus, default=EngagementStatus.HELD
    )
    on = models.DateField("date")
    attendees = models.ManyToManyField(
        User, blank=True, related_name="engagements", help_text="Staff and customer people."
    )
    other_attendees = models.CharField(
        max_length=300, blank=True, help_text="People without a portal login, comma-separated."
    )
    summary = models.TextField(blank=True, help_text="What the customer reads.")
    next_steps = models.TextField(blank=True, help_text="Shown to the customer too.")
    internal_notes = models.TextField(blank=True, help_text="Staff only; customers never see it.")
    recorded_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganisationOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-on", "-pk"]
        indexes = [models.Index(fields=["organisation", "kind", "status", "-on"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.on:%Y-%m-%d}"


class Commitment(models.Model):
    """A promise made to a customer: what, who owns it, by when. Both sides see it."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="commitments"
    )
    title = models.CharField("what", max_length=200)
    details = models.TextField(blank=True)
    owner = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="commitments"
    )
    due_on = models.DateField()
    status = models.CharField(
        max_length=10, choices=CommitmentStatus, default=CommitmentStatus.OPEN
    )
    engagement = models.ForeignKey(
        Engagement,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="commitments",
        help_text="The review where it was promised, if any.",
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganisationOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "pk"]
        indexes = [
            models.Index(
                fields=["organisation", "due_on"],
                name="commitment_open_idx",
                condition=models.Q(status=CommitmentStatus.OPEN),
            )
        ]

    def __str__(self) -> str:
        return self.title


class LastContact(models.Model):
    """When we were last in touch with an organisation: a staff reply or an engagement.

    Stored, so the workspace reads one row per account instead of scanning messages.
    """

    organisation = models.OneToOneField(
        Organisation, primary_key=True, on_delete=models.CASCADE, related_name="stored_last_contact"
    )
    at = models.DateTimeField()

    objects = OrganisationOwnedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.organisation_id}: {self.at:%Y-%m-%d %H:%M}"


class SponsorLapse(models.Model):
    """A broken executive-sponsor promise: no touchpoint by the day one was due.

    One row per lapse (organisation and due day), so the warning goes out once;
    it ends when the sponsor is in touch again.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="sponsor_lapses"
    )
    sponsor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_on = models.DateField(help_text="The day by which the sponsor should have been in touch.")
    detected_at = models.DateTimeField()
    warned_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = OrganisationOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["due_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "due_on"],
                name="sponsor_lapse_once_per_due_day",
                violation_error_message="This lapse is already recorded.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id}: sponsor contact due {self.due_on:%Y-%m-%d}"


class HealthWeight(models.Model):
    """How much one signal counts in the health score, and where it turns bad.

    A signal's value scores 1 at `good_at`, 0 at `bad_at`, linearly in between
    (either direction); the score is the weighted mean of the signals that apply.
    """

    signal = models.CharField(max_length=30, choices=HealthSignal, unique=True)
    weight = models.PositiveSmallIntegerField(help_text="Relative weight; 0 leaves it out.")
    good_at = models.DecimalField(max_digits=8, decimal_places=2)
    bad_at = models.DecimalField(max_digits=8, decimal_places=2)

    class Meta:
        ordering = ["signal"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(good_at=models.F("bad_at")),
                name="health_weight_good_differs_from_bad",
                violation_error_message="“Good at” and “bad at” must differ.",
            )
        ]

    def __str__(self) -> str:
        return self.get_signal_display()


class HealthScore(models.Model):
    """One organisation's health on one day (0-100), with the inputs that explain it.

    One row per organisation per day: a later computation the same day replaces it,
    so the history is the trend.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="health_scores"
    )
    computed_on = models.DateField()
    computed_at = models.DateTimeField()
    score = models.PositiveSmallIntegerField()
    colour = models.CharField(max_length=10, choices=HealthColour)
    sla_breaches = models.PositiveIntegerField()
    csat = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    effort = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    orders_recent = models.PositiveIntegerField()
    orders_previous = models.PositiveIntegerField()
    overdue_invoices = models.PositiveIntegerField()
    overdue_commitments = models.PositiveIntegerField()
    days_since_contact = models.PositiveIntegerField(null=True, blank=True)
    reviews_overdue = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Empty: the tier schedules no reviews."
    )
    weights = models.JSONField(default=dict, help_text="The weights it was computed with.")

    objects = OrganisationOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["organisation", "-computed_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "computed_on"],
                name="health_score_one_per_day",
                violation_error_message="There is already a score for this day.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.computed_on:%Y-%m-%d}: {self.score}"


class ReviewPack(models.Model):
    """The business-review pack of one engagement: the figures of the period since the
    last review, as a PDF and slides drawn from live data, with the AM's summary and
    next steps. A draft until shared; only then does the customer see it.
    """

    engagement = models.OneToOneField(
        Engagement, on_delete=models.CASCADE, related_name="pack", primary_key=True
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="review_packs"
    )
    period_start = models.DateField(help_text="The day after the last review (first day counted).")
    period_end = models.DateField(help_text="The review's day (last day counted).")
    summary = models.TextField(
        blank=True, help_text="The account manager's summary; the customer reads it."
    )
    next_steps = models.TextField(
        blank=True, help_text="What happens next; the customer reads these too."
    )
    prepared_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shared_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty: a draft only staff can open."
    )
    shared_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganisationOwnedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_start__lte=models.F("period_end")),
                name="review_pack_period_in_order",
                violation_error_message="The period must start before it ends.",
            )
        ]

    def __str__(self) -> str:
        return f"Pack of {self.engagement}"

    @property
    def is_shared(self) -> bool:
        return self.shared_at is not None
