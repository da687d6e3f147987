"""Choices of the relationship's models."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EngagementKind(models.TextChoices):
    QBR = "qbr", _("Quarterly business review")
    HEALTH_CHECK = "health_check", _("Health check")
    EXECUTIVE = "executive", _("Executive touchpoint")


class EngagementStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    HELD = "held", _("Held")
    CANCELLED = "cancelled", _("Cancelled")


class CommitmentStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    DROPPED = "dropped", _("Dropped")


class HealthColour(models.TextChoices):
    GREEN = "green", _("Healthy")
    AMBER = "amber", _("Needs attention")
    RED = "red", _("At risk")


class HealthSignal(models.TextChoices):
    """The signals of the health score; each is scored 0 (bad) to 1 (good)."""

    SLA_BREACHES = "sla_breaches", _("SLA breaches (90 days)")
    CSAT = "csat", _("Satisfaction (CSAT, 90 days)")
    EFFORT = "effort", _("Customer effort (90 days)")
    ORDER_TREND = "order_trend", _("Order trend (90 days against the 90 before)")
    OVERDUE_INVOICES = "overdue_invoices", _("Overdue invoices")
    OVERDUE_COMMITMENTS = "overdue_commitments", _("Overdue commitments")
    LAST_CONTACT = "last_contact", _("Days since last contact")
    REVIEWS_OVERDUE = "reviews_overdue", _("Reviews overdue")
