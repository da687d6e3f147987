"""The single view: touchpoints across all departments."""

from django.db import models

from accounts.choices import Department
from accounts.models import Organisation, User
from accounts.querysets import OrganisationOwnedQuerySet
from portal.choices import (
    CommitmentStatus,
    EngagementKind,
    EngagementStatus,
    Entity,
    HealthColour,
    HealthSignal,
    RunStatus,
    SourceKind,
)


class TimelineKind(models.TextChoices):
    IMPROVEMENT = "improvement", "Improvement made"
    TIER_CHANGED = "tier_changed", "Tier changed"


class TimelineEvent(models.Model):
    """News we give a customer on their timeline (an improvement made, a tier change).

    Orders, deliveries, invoices and tickets are on the timeline straight from
    their own tables (portal.selectors.timeline); only news without a record of
    its own is kept here.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="timeline"
    )
    at = models.DateTimeField()
    kind = models.CharField(max_length=30, choices=TimelineKind)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=200, blank=True, help_text="A portal path to the subject.")

    objects = OrganisationOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["organisation", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d} {self.title}"


# --- Sync: sources, runs, identities, quarantine ------------------------------------------


class SourceSystem(models.Model):
    """One feed from a legacy departmental system into the portal.

    `config` says how to reach it (never secrets: it names the environment
    variables that hold them) and how its fields map; see docs/sync.md.
    """

    name = models.CharField(max_length=100, unique=True)
    system = models.SlugField(
        max_length=50,
        help_text="The legacy system this feed belongs to; its customer ids are its own.",
    )
    department = models.CharField(max_length=20, choices=Department)
    kind = models.CharField(max_length=10, choices=SourceKind)
    entity = models.CharField(max_length=20, choices=Entity)
    config = models.JSONField(default=dict)
    schedule_minutes = models.PositiveIntegerField(
        default=15, help_text="Run every so many minutes (beat dispatches due sources)."
    )
    full_every_hours = models.PositiveIntegerField(
        default=24, help_text="Full reconciliation (finds deleted records) every so many hours."
    )
    enabled = models.BooleanField(default=True)
    paused_reason = models.TextField(
        blank=True, help_text="Set when the source's shape changed; clear it to resume."
    )
    cursor = models.CharField(max_length=100, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_full_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SyncRun(models.Model):
    """One run of one source: what it read and wrote, and how it ended.

    At most one run per source is running at a time: the database refuses a
    second (see the constraint), which is how ten triggers at once run once.
    """

    source = models.ForeignKey(SourceSystem, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=10, choices=RunStatus, default=RunStatus.RUNNING)
    full = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    read = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    quarantined = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    progress = models.CharField(max_length=200, blank=True)
    cursor_from = models.CharField(max_length=100, blank=True)
    cursor_to = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["source"],
                condition=models.Q(status=RunStatus.RUNNING),
                name="sync_one_running_run_per_source",
                violation_error_message="This source is already running.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.started_at:%Y-%m-%d %H:%M} {self.status}"


class CustomerIdentity(models.Model):
    """How one legacy system names one customer, and which organisation that is.

    Unknown ids wait here, unmatched, with their records kept; matching one
    links every record it has, at once.
    """

    system = models.SlugField(max_length=50)
    external_id = models.CharField(max_length=100)
    external_name = models.CharField(max_length=200, blank=True)
    organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="identities",
    )
    first_seen_at = models.DateTimeField(auto_now_add=True)
    matched_at = models.DateTimeField(null=True, blank=True)
    matched_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = OrganisationOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["system", "external_name"]
        verbose_name_plural = "customer identities"
        constraints = [
            models.UniqueConstraint(
                fields=["system", "external_id"], name="identity_unique_system_external_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.system}:{self.external_id} {self.external_name}"


class QuarantinedRecord(models.Model):
    """A record that could not be taken in, with the reason and the raw content."""

    source = models.ForeignKey(SourceSystem, on_delete=models.CASCADE, related_name="quarantine")
    run = models.ForeignKey(SyncRun, null=True, on_delete=models.SET_NULL, related_name="+")
    external_id = models.CharField(max_length=100, blank=True)
    reason = models.TextField()
    raw = models.JSONField()
    label = models.CharField(max_length=300, blank=True, help_text="File or page it came from.")
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.source}: {self.reason[:60]}"


class ProcessedFile(models.Model):
    """A file of a CSV drop that has landed, known by its checksum so it is taken once."""

    source = models.ForeignKey(SourceSystem, on_delete=models.CASCADE, related_name="files")
    checksum = models.CharField(max_length=64)
    name = models.CharField(max_length=300)
    processed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "checksum"], name="processed_file_once")
        ]

    def __str__(self) -> str:
        return self.name


# --- Synced records ---------------------------------------------------------------------------


class SyncedRecordQuerySet(OrganisationOwnedQuerySet):
    def visible_to(self, user, *, as_list: bool = False):
        """Live records of visible organisations: deleted and unmatched ones stay hidden."""
        visible = super().visible_to(user, as_list=as_list)
        return visible.filter(deleted_at__isnull=True, organisation__isnull=False)


class SyncedRecord(models.Model):
    """What every record from a legacy system keeps about where it came from."""

    source = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="+")
    external_id = models.CharField(max_length=100)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    content_hash = models.CharField(max_length=32)
    synced_at = models.DateTimeField(help_text="When its content last changed in the portal.")
    deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="Gone from the source: kept, hidden from customers."
    )

    objects = SyncedRecordQuerySet.as_manager()

    class Meta:
        abstract = True


def _unique_per_source(name: str):
    return models.UniqueConstraint(
        fields=["source", "external_id"], name=f"{name}_unique_source_key"
    )


class Order(SyncedRecord):
    """An order placed through a legacy order-entry system."""

    customer_id = models.CharField(max_length=100)
    customer_name = models.CharField(max_length=200, blank=True)
    number = models.CharField(max_length=50)
    status = models.CharField(max_length=30)
    ordered_at = models.DateTimeField()
    currency = models.CharField(max_length=3, blank=True)
    total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["-ordered_at"]
        constraints = [_unique_per_source("order")]
        indexes = [models.Index(fields=["organisation", "-ordered_at"])]

    def __str__(self) -> str:
        return self.number


class OrderLine(SyncedRecord):
    """One product on an order."""

    order_id_external = models.CharField(max_length=100)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="lines"
    )
    product_code = models.CharField(max_length=50)
    product_name = models.CharField(max_length=200, blank=True)
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(max_digits=14, decimal_places=4)
    currency = models.CharField(max_length=3, blank=True)
    lot = models.CharField(max_length=50, blank=True)

    class Meta:
        constraints = [_unique_per_source("order_line")]
        indexes = [models.Index(fields=["order_id_external"])]

    def __str__(self) -> str:
        return f"{self.product_code} × {self.quantity}"


class Shipment(SyncedRecord):
    """A delivery of (part of) an order, from the fulfilment system."""

    order_id_external = models.CharField(max_length=100)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="shipments"
    )
    carrier = models.CharField(max_length=100)
    tracking_number = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=30)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-shipped_at"]
        constraints = [_unique_per_source("shipment")]
        indexes = [
            models.Index(fields=["order_id_external"]),
            models.Index(  # deliveries on the timeline
                fields=["organisation", "-delivered_at"],
                name="shipment_delivered_idx",
                condition=models.Q(delivered_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class Invoice(SyncedRecord):
    """A bill from the billing system."""

    customer_id = models.CharField(max_length=100)
    customer_name = models.CharField(max_length=200, blank=True)
    number = models.CharField(max_length=50)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    issued_on = models.DateField()
    due_on = models.DateField(null=True, blank=True)
    paid_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, blank=True)
    product_line = models.CharField(max_length=100, blank=True)
    order_id_external = models.CharField(max_length=100, blank=True)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices"
    )

    class Meta:
        ordering = ["-issued_on"]
        constraints = [_unique_per_source("invoice")]
        indexes = [
            models.Index(fields=["organisation", "-issued_on"]),
            # "Invoices to pay" on the home page, and payments on the timeline.
            models.Index(
                fields=["organisation", "due_on"],
                name="invoice_unpaid_idx",
                condition=models.Q(paid_on__isnull=True, deleted_at__isnull=True),
            ),
            models.Index(
                fields=["organisation", "-paid_on"],
                name="invoice_paid_idx",
                condition=models.Q(paid_on__isnull=False),
            ),
            # Customer value (tiers/selectors.py) sums a period of live invoices: an
            # index-only scan of these columns instead of reading the whole table.
            models.Index(
                fields=["issued_on"],
                include=["organisation", "product_line", "currency", "amount", "id"],
                name="invoice_value_idx",
                condition=models.Q(deleted_at__isnull=True, organisation__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.number


class LegacyTicket(SyncedRecord):
    """A ticket from the old help desk, kept read-only so the history is in one place."""

    customer_id = models.CharField(max_length=100)
    customer_name = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=300)
    status = models.CharField(max_length=30)
    category = models.CharField(max_length=100, blank=True)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    body = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [_unique_per_source("legacy_ticket")]
        indexes = [models.Index(fields=["organisation", "-opened_at"])]

    def __str__(self) -> str:
        return self.subject


class CrmAccount(SyncedRecord):
    """A customer account as the CRM knows it; its customer number links it to ours."""

    name = models.CharField(max_length=200)
    customer_number = models.CharField(max_length=32, blank=True)
    city = models.CharField(max_length=100, blank=True)
    segment = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [_unique_per_source("crm_account")]

    def __str__(self) -> str:
        return self.name


class PriceAgreement(SyncedRecord):
    """A contracted price for one product, from the contracts and pricing system."""

    customer_id = models.CharField(max_length=100)
    customer_name = models.CharField(max_length=200, blank=True)
    product_code = models.CharField(max_length=50)
    unit_price = models.DecimalField(max_digits=14, decimal_places=4)
    currency = models.CharField(max_length=3)
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["product_code", "-valid_from"]
        constraints = [_unique_per_source("price_agreement")]

    def __str__(self) -> str:
        return f"{self.product_code} {self.unit_price} {self.currency}"


class SampleReceipt(SyncedRecord):
    """Samples of a lot signed for by a named clinician (sample accountability)."""

    customer_id = models.CharField(max_length=100)
    customer_name = models.CharField(max_length=200, blank=True)
    lot = models.CharField(max_length=50)
    product_code = models.CharField(max_length=50)
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    recipient = models.CharField(max_length=200)
    signed_at = models.DateTimeField()

    class Meta:
        ordering = ["-signed_at"]
        constraints = [_unique_per_source("sample_receipt")]

    def __str__(self) -> str:
        return f"{self.lot} × {self.quantity}"


# --- The relationship: engagements, commitments, contact, health --------------------------------


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
