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


class IdentityStatus(models.TextChoices):
    # Waiting for a person: with ranked candidates (between the thresholds) or none.
    WAITING = "waiting", "Waiting"
    MATCHED = "matched", "Matched"
    # Somebody said this customer of a legacy system is not one of ours: its records
    # stay hidden and the engine stops proposing it.
    NOT_OURS = "not_ours", "Not our customer"


class MatchMethod(models.TextChoices):
    NUMBER = "number", "Our customer number"
    REGISTRY = "registry", "Registry or VAT number"
    OTHER_SYSTEM = "other_system", "Matched in another system"
    NAME = "name", "Name and evidence"
    HAND = "hand", "By hand"
