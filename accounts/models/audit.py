"""The audit trail: who did what, when, on whose behalf."""

from django.db import models
from django.utils import timezone

from accounts.choices import AuditAction
from accounts.models.organisations import Organisation
from accounts.models.people import User
from accounts.querysets import OrganisationOwnedQuerySet


class AuditEvent(models.Model):
    """Who did what, when, and on whose behalf. Append-only."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=40, choices=AuditAction)
    via_view_as = models.BooleanField(
        default=False, help_text="Done by staff while viewing as the customer."
    )
    target = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = OrganisationOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["organisation", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor}: {self.get_action_display()}"
