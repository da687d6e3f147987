"""News without a record of its own, kept for the customer's timeline."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from accounts.querysets import OrganisationOwnedQuerySet


class TimelineKind(models.TextChoices):
    IMPROVEMENT = "improvement", _("Improvement made")
    TIER_CHANGED = "tier_changed", _("Tier changed")


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
