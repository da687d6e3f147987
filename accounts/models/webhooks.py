"""Webhooks: subscriptions and their delivery log."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models.organisations import Organisation
from accounts.models.people import User
from accounts.querysets import OrganisationOwnedQuerySet


class WebhookSubscription(models.Model):
    """A URL that receives the portal's events as signed HTTP POSTs (Standard Webhooks).

    A customer admin's subscription receives its organisation's events only; an admin's
    may leave `organisation` empty and receive every organisation's. The owner must still
    see the organisation when an event happens (accounts.platform.webhooks), or nothing is sent.
    """

    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Whose events; empty for every organisation's (admins only).",
    )
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text="Event types it receives.")
    secret = models.CharField(max_length=100, help_text="whsec_…: signs each delivery.")
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_until = models.DateTimeField(
        null=True, blank=True, help_text="Until then deliveries are signed with both secrets."
    )
    is_active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = OrganisationOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one subscription, and how sending it went: the delivery log.

    Its `message_id` is the webhook-id header, the same on every attempt and on a
    replay, so a receiver can tell a repeat from a new event.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Failed")

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    message_id = models.CharField(max_length=40, unique=True)
    event = models.CharField(max_length=40)
    payload = models.TextField(help_text="The JSON body, exactly as signed and sent.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = OrganisationOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due_idx",
                condition=Q(status__in=["pending", "sending"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.subscription}"
