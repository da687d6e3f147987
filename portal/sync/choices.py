"""Choices of the sync engine's models."""

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
    # Finished, but most of what it read was quarantined: the mapping needs a look.
    ATTENTION = "attention", "Needs attention"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped: already running"
