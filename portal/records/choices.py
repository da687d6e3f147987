"""Choices of the synced records."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class InvoiceStatus(models.TextChoices):
    """An invoice's state on the screens. A billing source maps its own status words onto
    "paid" and "cancelled" with an enum field (docs/sync.md): such an invoice is settled
    even when the source sends no payment date."""

    OPEN = "open", _("Open")
    PAID = "paid", _("Paid")
    OVERDUE = "overdue", _("Overdue")
    CANCELLED = "cancelled", _("Cancelled")


SETTLED_STATUSES = (InvoiceStatus.PAID, InvoiceStatus.CANCELLED)
