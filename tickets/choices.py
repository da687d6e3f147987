from django.db import models

from accounts.choices import Department


class Status(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    WAITING_ON_CUSTOMER = "waiting", "Waiting on customer"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = [Status.NEW, Status.OPEN, Status.WAITING_ON_CUSTOMER]
DONE_STATUSES = [Status.RESOLVED, Status.CLOSED]


class Category(models.TextChoices):
    BILLING = "billing", "Invoices and payments"
    DELIVERY = "delivery", "Deliveries and shipments"
    PRODUCT = "product", "A product or sample"
    ACCESS = "access", "Portal access and onboarding"
    PRICING = "pricing", "Prices, contracts and quotes"
    OTHER = "other", "Something else"
    REORDER = "reorder", "A reorder request"


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
    PORTAL = "portal", "Portal"
    EMAIL = "email", "Email"
    LEGACY = "legacy", "Legacy help desk"


class SlaState(models.TextChoices):
    NONE = "none", "No SLA"
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    BREACHED = "breached", "Breached"
    PAUSED = "paused", "Paused: waiting on customer"
    MET = "met", "Met"
    # Resolved or closed before any staff reply (the customer fixed it themselves):
    # we met no promise, so it is neither met nor breached, and attainment leaves it out.
    # Merged into another ticket: the survivor's clocks count, the duplicate's do not.
    NOT_JUDGED = "not_judged", "Not judged"


FEEDBACK_DEPARTMENTS = [
    Department.PRODUCT,
    Department.SALES,
    Department.ONBOARDING,
    Department.BILLING,
    Department.LOGISTICS,
]


class ImprovementStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"


class InboundOutcome(models.TextChoices):
    OPENED = "opened", "Opened a ticket"
    REPLIED = "replied", "Added to a ticket"
    HELD = "held", "Held for staff"
    IGNORED = "ignored", "Ignored: sent automatically"
    LIMITED = "limited", "Ignored: too many from this sender"
    REFUSED = "refused", "Refused: too large"
