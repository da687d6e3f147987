"""The single view: touchpoints across all departments."""

from django.db import models

from accounts.models import Organisation
from accounts.querysets import OrganisationOwnedQuerySet


class TimelineKind(models.TextChoices):
    TICKET_OPENED = "ticket_opened", "Ticket opened"
    TICKET_RESOLVED = "ticket_resolved", "Ticket resolved"
    IMPROVEMENT = "improvement", "Improvement made"
    TIER_CHANGED = "tier_changed", "Tier changed"


class TimelineEvent(models.Model):
    """One touchpoint in an organisation's relationship with us, newest first."""

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
