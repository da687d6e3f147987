"""Choices of the sync engine's models."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SourceKind(models.TextChoices):
    SQL = "sql", _("SQL database")
    CSV = "csv", _("CSV drop folder")
    HTTP = "http", _("HTTP JSON API")


class Entity(models.TextChoices):
    ORDERS = "orders", _("Orders")
    ORDER_LINES = "order_lines", _("Order lines")
    SHIPMENTS = "shipments", _("Shipments")
    INVOICES = "invoices", _("Invoices")
    TICKETS = "tickets", _("Old help-desk tickets")
    ACCOUNTS = "accounts", _("CRM accounts")
    PRICES = "prices", _("Contract prices")
    SAMPLES = "samples", _("Sample receipts")


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    # Finished, but most of what it read was quarantined: the mapping needs a look.
    ATTENTION = "attention", _("Needs attention")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped: already running")


class IdentityStatus(models.TextChoices):
    # Waiting for a person: with ranked candidates (between the thresholds) or none.
    WAITING = "waiting", _("Waiting")
    MATCHED = "matched", _("Matched")
    # Somebody said this customer of a legacy system is not one of ours: its records
    # stay hidden and the engine stops proposing it.
    NOT_OURS = "not_ours", _("Not our customer")


class MatchMethod(models.TextChoices):
    NUMBER = "number", _("Our customer number")
    REGISTRY = "registry", _("Registry or VAT number")
    OTHER_SYSTEM = "other_system", _("Matched in another system")
    NAME = "name", _("Name and evidence")
    HAND = "hand", _("By hand")
