"""Choices of the relationship's models."""

from django.db import models


class EngagementKind(models.TextChoices):
    QBR = "qbr", "Quarterly business review"
    HEALTH_CHECK = "health_check", "Health check"
    EXECUTIVE = "executive", "Executive touchpoint"


class EngagementStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    HELD = "held", "Held"
    CANCELLED = "cancelled", "Cancelled"


class CommitmentStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    DROPPED = "dropped", "Dropped"


class HealthColour(models.TextChoices):
    GREEN = "green", "Healthy"
    AMBER = "amber", "Needs attention"
    RED = "red", "At risk"


class HealthSignal(models.TextChoices):
    """The signals of the health score; each is scored 0 (bad) to 1 (good)."""

    SLA_BREACHES = "sla_breaches", "SLA breaches (90 days)"
    CSAT = "csat", "Satisfaction (CSAT, 90 days)"
    EFFORT = "effort", "Customer effort (90 days)"
    ORDER_TREND = "order_trend", "Order trend (90 days against the 90 before)"
    OVERDUE_INVOICES = "overdue_invoices", "Overdue invoices"
    OVERDUE_COMMITMENTS = "overdue_commitments", "Overdue commitments"
    LAST_CONTACT = "last_contact", "Days since last contact"
    REVIEWS_OVERDUE = "reviews_overdue", "Reviews overdue"
