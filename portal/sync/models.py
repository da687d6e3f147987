"""What the sync engine keeps: sources, runs, customer identities, quarantine, files taken."""

from django.core.exceptions import ValidationError
from django.db import models

from accounts.choices import Department
from accounts.models import Organisation
from accounts.querysets import OrganisationOwnedQuerySet
from portal.sync.choices import Entity, IdentityStatus, MatchMethod, RunStatus, SourceKind


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

    def clean(self) -> None:
        """A configuration with a typo is refused when saved, not first when it runs."""
        from portal.sync.config import config_problems

        problems = config_problems(kind=self.kind, entity=self.entity, config=self.config)
        if problems:
            raise ValidationError({"config": problems})


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
    duplicates = models.PositiveIntegerField(
        default=0, help_text="Records whose key came again in the same batch (the last one landed)."
    )
    deleted = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0, help_text="Pages of an API read.")
    progress = models.CharField(max_length=200, blank=True)
    timings = models.JSONField(
        default=dict,
        blank=True,
        help_text="Seconds per step of the run (read, map, rows+hash, write, quarantine, "
        "commit), measured by the engine.",
    )
    cursor_from = models.CharField(max_length=100, blank=True)
    cursor_to = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    task_id = models.CharField(
        max_length=255,
        blank=True,
        help_text="The Celery task running it: a delivery of the same task again takes it over.",
    )

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

    The engine (portal/sync/matching.py) matches what it is sure of and ranks
    candidates for the rest; those wait here, their records kept (and hidden),
    until a person decides. Matching links every record at once; unmatching
    hides them again.
    """

    system = models.SlugField(max_length=50)
    external_id = models.CharField(max_length=100)
    external_name = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=10, choices=IdentityStatus, default=IdentityStatus.WAITING, db_index=True
    )
    # What the source told us besides the name: the engine's evidence.
    number = models.CharField(
        max_length=100, blank=True, help_text="Our customer number, where the source quotes it."
    )
    registry_id = models.CharField(max_length=40, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    email_domain = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    street = models.CharField(max_length=200, blank=True)
    # The engine's verdict: how it matched, how sure it was, and otherwise the
    # ranked candidates [{"organisation": pk, "score": 0-100, "why": [...]}].
    method = models.CharField(max_length=15, choices=MatchMethod, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    evidence = models.JSONField(default=list, blank=True)
    candidates = models.JSONField(default=list, blank=True)
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
