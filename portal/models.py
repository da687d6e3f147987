"""The single view: touchpoints across all departments."""

from django.db import models

from accounts.choices import Department
from accounts.models import Organisation
from accounts.querysets import OrganisationOwnedQuerySet
from portal.choices import Entity, RunStatus, SourceKind


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


class SeenKey(models.Model):
    """External ids seen by a full read, to find what the source no longer has."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=100)

    class Meta:
        indexes = [models.Index(fields=["run", "external_id"])]

    def __str__(self) -> str:
        return self.external_id


# --- Synced records ---------------------------------------------------------------------------


class SyncedRecordQuerySet(OrganisationOwnedQuerySet):
    def visible_to(self, user):
        """Live records of visible organisations: deleted and unmatched ones stay hidden."""
        return super().visible_to(user).filter(deleted_at__isnull=True, organisation__isnull=False)


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
