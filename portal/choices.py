from django.db import models


class SourceKind(models.TextChoices):
    SQL = "sql", "SQL database"
    CSV = "csv", "CSV drop folder"
    HTTP = "http", "HTTP JSON API"


class Entity(models.TextChoices):
    ORDERS = "orders", "Orders"
    ORDER_LINES = "order_lines", "Order lines"
    SHIPMENTS = "shipments", "Shipments"
    INVOICES = "invoices", "Invoices"
    TICKETS = "tickets", "Old help-desk tickets"
    ACCOUNTS = "accounts", "CRM accounts"
    PRICES = "prices", "Contract prices"
    SAMPLES = "samples", "Sample receipts"


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped: already running"


class InvoiceStatus(models.TextChoices):
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    OVERDUE = "overdue", "Overdue"
    CANCELLED = "cancelled", "Cancelled"


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
