from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.choices import Department


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    WAITING_ON_CUSTOMER = "waiting", _("Waiting on customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = [Status.NEW, Status.OPEN, Status.WAITING_ON_CUSTOMER]
DONE_STATUSES = [Status.RESOLVED, Status.CLOSED]


class Category(models.TextChoices):
    BILLING = "billing", _("Invoices and payments")
    DELIVERY = "delivery", _("Deliveries and shipments")
    PRODUCT = "product", _("A product or sample")
    ACCESS = "access", _("Portal access and onboarding")
    PRICING = "pricing", _("Prices, contracts and quotes")
    OTHER = "other", _("Something else")
    REORDER = "reorder", _("A reorder request")


# Each category is routed to the department that can fix its cause.
CATEGORY_DEPARTMENT = {
    Category.BILLING: Department.BILLING,
    Category.DELIVERY: Department.LOGISTICS,
    Category.PRODUCT: Department.PRODUCT,
    Category.ACCESS: Department.ONBOARDING,
    Category.PRICING: Department.SALES,
    Category.OTHER: Department.CUSTOMER_SUCCESS,
    Category.REORDER: Department.SALES,  # a reorder from an order: its system's department
}


class Source(models.TextChoices):
    PORTAL = "portal", _("Portal")
    EMAIL = "email", _("Email")
    LEGACY = "legacy", _("Legacy help desk")


class SlaState(models.TextChoices):
    NONE = "none", _("No SLA")
    ON_TRACK = "on_track", _("On track")
    AT_RISK = "at_risk", _("At risk")
    BREACHED = "breached", _("Breached")
    PAUSED = "paused", _("Paused: waiting on customer")
    MET = "met", _("Met")
    # Resolved or closed before any staff reply (the customer fixed it themselves):
    # we met no promise, so it is neither met nor breached, and attainment leaves it out.
    # Merged into another ticket: the survivor's clocks count, the duplicate's do not.
    NOT_JUDGED = "not_judged", _("Not judged")


FEEDBACK_DEPARTMENTS = [
    Department.PRODUCT,
    Department.SALES,
    Department.ONBOARDING,
    Department.BILLING,
    Department.LOGISTICS,
]


class ImprovementStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")


class InboundOutcome(models.TextChoices):
    OPENED = "opened", _("Opened a ticket")
    REPLIED = "replied", _("Added to a ticket")
    HELD = "held", _("Held for staff")
    IGNORED = "ignored", _("Ignored: sent automatically")
    LIMITED = "limited", _("Ignored: too many from this sender")
    REFUSED = "refused", _("Refused: too large")
