"""Notifications and the outbox.

What was mailed, what waits for the digest, tasks the broker could not take yet.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.choices import Delivery, NotificationKind
from accounts.models.people import User


class PendingTask(models.Model):
    """A background task the broker could not take when it was sent (Redis was down).

    The web request that made the work goes on; the outbox relay sends the
    task once the broker answers again and deletes the row, so the work is
    late but never lost. Arguments are kept only until then.
    """

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.task} (since {self.created_at:%Y-%m-%d %H:%M})"


class SentNotification(models.Model):
    """One notification email the portal sent: what it was about (`key`), to whom, when.

    The mail helper (accounts.platform.mail) writes a row right after the SMTP server accepts
    each message and skips every (key, recipient) already here, so a retried or
    repeated task mails only the people who have not had that notification yet.
    """

    key = models.CharField(
        max_length=200, help_text='What the notification is about, e.g. "tickets.staff_reply:42".'
    )
    recipient = models.EmailField()
    sent_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "recipient"],
                name="sent_notification_once_per_recipient",
                violation_error_message="This notification was already sent to this address.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} to {self.recipient}"


class NotificationPreference(models.Model):
    """How one person wants one kind of notification: at once, in the daily digest, or not.

    No row means at once (the default every kind starts with).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notification_prefs")
    kind = models.CharField(max_length=30, choices=NotificationKind)
    delivery = models.CharField(max_length=10, choices=Delivery, default=Delivery.AT_ONCE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind"],
                name="notification_preference_once_per_kind",
                violation_error_message="This person already has a setting for this kind.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.kind} {self.delivery}"


class DigestItem(models.Model):
    """A notification kept for a person's daily digest instead of being mailed at once.

    `digest_on` is the day of the digest that carried it (empty while it waits): the digest
    of a day carries what arrived before that day began, so running it twice sends nothing
    twice (accounts/digest.py).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="digest_items")
    kind = models.CharField(max_length=30, choices=NotificationKind)
    key = models.CharField(
        max_length=200, help_text="The notification's key (accounts.platform.mail)."
    )
    subject = models.CharField(max_length=300)
    link = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    digest_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"],
                name="digest_item_once_per_notification",
                violation_error_message="This notification is already in the person's digest.",
            )
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(digest_on__isnull=True),
                name="digest_item_waiting",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} for {self.user}"
