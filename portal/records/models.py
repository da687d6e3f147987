"""Records synced from the departmental systems: orders, deliveries, invoices and the rest."""

from datetime import date
from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation
from accounts.querysets import OrganisationOwnedQuerySet
from portal.records.choices import SETTLED_STATUSES


class SyncedRecordQuerySet(OrganisationOwnedQuerySet):
    def visible_to(self, user, *, as_list: bool = False):
        """Live records of visible organisations: deleted and unmatched ones stay hidden."""
        visible = super().visible_to(user, as_list=as_list)
        return visible.filter(deleted_at__isnull=True, organisation__isnull=False)


class SyncedRecord(models.Model):
    """What every record from a legacy system keeps about where it came from."""

    # By name: the records are below the sync engine that fills them (pyproject.toml's
    # layers); they know their source as data, not its code.
    source = models.ForeignKey("portal.SourceSystem", on_delete=models.PROTECT, related_name="+")
    external_id = models.CharField(max_length=100)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    content_hash = models.CharField(max_length=32)
    synced_at = models.DateTimeField(help_text="When its content last changed in the portal.")
    deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="Gone from the source: kept, hidden from customers."
    )

    objects = SyncedRecordQuerySet.as_manager()

    class Meta:
        abstract = True


def _unique_per_source(name: str):
    return models.UniqueConstraint(
        fields=["source", "external_id"], name=f"{name}_unique_source_key"
    )


class Order(SyncedRecord):
    """An order placed through a legacy order-entry system."""

    customer_id = models.CharField(max_length=100)
    customer_name = models.CharField(max_length=200, blank=True)
    number = models.CharField(max_length=50)
    status = models.CharField(max_length=30)
    ordered_at = models.DateTimeField()
    currency = models.CharField(max_length=3, blank=True)
    total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["-ordered_at"]
        constraints = [_unique_per_source("order")]
        indexes = [models.Index(fields=["organisation", "-ordered_at"])]

    def __str__(self) -> str:
        return self.number


class OrderLine(SyncedRecord):
    """One product on an order."""

    order_id_external = models.CharField(max_length=100)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="lines"
    )
    product_code = models.CharField(max_length=50)
    product_name = models.CharField(max_length=200, blank=True)
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(max_digits=14, decimal_places=4)
    currency = models.CharField(max_length=3, blank=True)
    lot = models.CharField(max_length=50, blank=True)

    class Meta:
        constraints = [_unique_per_source("order_line")]
        indexes = [models.Index(fields=["order_id_external"])]

    def __str__(self) -> str:
        return f"{self.product_code} × {self.quantity}"


class Carrier(models.Model):
    """A delivery company, and where its tracking page is: tracking numbers become links."""

    name = models.CharField(
        max_length=100,
        unique=True,
        help_text="As the fulfilment system spells it (upper or lower case does not matter).",
    )
    tracking_url = models.CharField(
        max_length=300,
        help_text="The tracking page, with {tracking} where the number goes, e.g. "
        "https://www.dhl.com/en/express/tracking.html?AWB={tracking}",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not self.tracking_url.startswith(("https://", "http://")):
            raise ValidationError({"tracking_url": _("Give a web address (https://...).")})
        if "{tracking}" not in self.tracking_url:
            raise ValidationError({"tracking_url": _("Put {tracking} where the number goes.")})


def tracking_link(template: str | None, number: str) -> str:
    """The carrier's page for this tracking number ("" without a template or a number)."""
    if not template or not number:
        return ""
    return template.replace("{tracking}", quote(number, safe=""))


class Shipment(SyncedRecord):
    """A delivery of (part of) an order, from the fulfilment system."""

    order_id_external = models.CharField(max_length=100)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="shipments"
    )
    carrier = models.CharField(max_length=100)
    tracking_number = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=30)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    customer_id = models.CharField(
        max_length=100, blank=True, help_text="The customer as the fulfilment system knows it."
    )
    held = models.BooleanField(
        db_default=False,  # the sync's set-based inserts leave it out
        help_text="Its own customer and its order's are different organisations: shown to "
        "neither until someone decides (the identity review screen).",
    )

    class Meta:
        ordering = ["-shipped_at"]
        constraints = [_unique_per_source("shipment")]
        indexes = [
            models.Index(fields=["order_id_external"]),
            models.Index(  # deliveries on the timeline
                fields=["organisation", "-delivered_at"],
                name="shipment_delivered_idx",
                condition=models.Q(delivered_at__isnull=False),
            ),
            # And on PostgreSQL shipment_list_idx, for the Deliveries page (migration 0013).
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"

    @property
    def tracking_url(self) -> str:
        """Set where the shipment was read with_tracking_template (records/selectors.py)."""
        return tracking_link(getattr(self, "tracking_template", None), self.tracking_number)


class Invoice(SyncedRecord):
    """A bill from the billing system."""

    customer_id = models.CharField(max_length=100)
    customer_name = models.CharField(max_length=200, blank=True)
    number = models.CharField(max_length=50)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    issued_on = models.DateField()
    due_on = models.DateField(null=True, blank=True)
    paid_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, blank=True)
    payment_url = models.CharField(
        max_length=500, blank=True, help_text="Where the billing system takes payment online."
    )
    product_line = models.CharField(max_length=100, blank=True)
    order_id_external = models.CharField(max_length=100, blank=True)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices"
    )

    held = models.BooleanField(
        db_default=False,  # the sync's set-based inserts leave it out
        help_text="Its own customer and its order's are different organisations: shown to "
        "neither until someone decides (the identity review screen).",
    )

    class Meta:
        ordering = ["-issued_on"]
        constraints = [_unique_per_source("invoice")]
        indexes = [
            models.Index(fields=["organisation", "-issued_on"]),
            # "Invoices to pay" on the home page, and payments on the timeline.
            models.Index(
                fields=["organisation", "due_on"],
                name="invoice_unpaid_idx",
                condition=models.Q(paid_on__isnull=True, deleted_at__isnull=True),
            ),
            models.Index(
                fields=["organisation", "-paid_on"],
                name="invoice_paid_idx",
                condition=models.Q(paid_on__isnull=False),
            ),
            # Customer value (tiers/selectors.py) sums a period of live invoices: an
            # index-only scan of these columns instead of reading the whole table.
            models.Index(
                fields=["issued_on"],
                include=["organisation", "product_line", "currency", "amount", "id"],
                name="invoice_value_idx",
                condition=models.Q(deleted_at__isnull=True, organisation__isnull=False),
            ),
            # ... and an account team's 80/20 the partial months of its own accounts: an
            # index range per organisation, not every organisation's invoices of those days.
            models.Index(
                fields=["organisation", "issued_on"],
                include=["product_line", "currency", "amount", "id"],
                name="invoice_value_account_idx",
                condition=models.Q(deleted_at__isnull=True, organisation__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def payment_link(self) -> str:
        """The billing system's payment page while something is to pay; only a web address
        (a legacy system's value is never trusted as a link of another kind)."""
        if self.is_settled or not self.payment_url.startswith(("https://", "http://")):
            return ""
        return self.payment_url

    @property
    def is_settled(self) -> bool:
        """Paid (a payment date, or the billing system says so) or cancelled."""
        return self.paid_on is not None or self.status in SETTLED_STATUSES

    @property
    def days_overdue(self) -> int:
        """Days past its due day, unpaid (0 when settled, not yet due or without a due day)."""
        if self.is_settled or not self.due_on:
            return 0
        return max((timezone.localdate() - self.due_on).days, 0)


# The one rule for "still to be paid", in queries: no payment date and not settled by status.
UNPAID = models.Q(paid_on__isnull=True) & ~models.Q(status__in=SETTLED_STATUSES)


class LegacyTicket(SyncedRecord):
    """A ticket from the old help desk, kept read-only so the history is in one place."""

    customer_id = models.CharField(max_length=100)
    customer_name = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=300)
    status = models.CharField(max_length=30)
    category = models.CharField(max_length=100, blank=True)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    body = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [_unique_per_source("legacy_ticket")]
        indexes = [models.Index(fields=["organisation", "-opened_at"])]

    def __str__(self) -> str:
        return self.subject


class CrmAccount(SyncedRecord):
    """A customer account as the CRM knows it; its customer number links it to ours."""

    name = models.CharField(max_length=200)
    customer_number = models.CharField(max_length=32, blank=True)
    city = models.CharField(max_length=100, blank=True)
    segment = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [_unique_per_source("crm_account")]

    def __str__(self) -> str:
        return self.name


class PriceAgreement(SyncedRecord):
    """A contracted price for one product, from the contracts and pricing system."""

    customer_id = models.CharField(max_length=100)
    customer_name = models.CharField(max_length=200, blank=True)
    product_code = models.CharField(max_length=50)
    unit_price = models.DecimalField(max_digits=14, decimal_places=4)
    currency = models.CharField(max_length=3)
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["product_code", "-valid_from"]
        constraints = [_unique_per_source("price_agreement")]

    def __str__(self) -> str:
        return f"{self.product_code} {self.unit_price} {self.currency}"


class SampleReceipt(SyncedRecord):
    """Samples of a lot signed for by a named clinician (sample accountability)."""

    customer_id = models.CharField(max_length=100)
    customer_name = models.CharField(max_length=200, blank=True)
    lot = models.CharField(max_length=50)
    product_code = models.CharField(max_length=50)
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    recipient = models.CharField(max_length=200)
    signed_at = models.DateTimeField()

    class Meta:
        ordering = ["-signed_at"]
        constraints = [_unique_per_source("sample_receipt")]

    def __str__(self) -> str:
        return f"{self.lot} × {self.quantity}"


# An unpaid invoice without a due day is tallied under this day: never overdue.
NO_DUE_DAY = date(9999, 12, 31)


class RecordTally(models.Model):
    """How many live records of one kind an organisation has, per status or currency: what
    the lists' page counts, the status filter and the totals to pay read instead of
    counting 100,000 rows per request (docs/benchmarks.md, issue 26).

    Kept by the database itself (portal/records/tallies.py: triggers on the order,
    shipment and invoice tables), so every write path, the sync's set-based upsert, a
    queryset.update() or a raw UPDATE, keeps it exact in the same transaction.
    `record` is "order" and "shipment" (key: status), "invoice" (key: ""), or "unpaid"
    (key: currency; `due_on` the due day, NO_DUE_DAY without one; `amount` their sum).
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    record = models.CharField(max_length=10)
    key = models.CharField(max_length=30, blank=True)
    due_on = models.DateField(default=NO_DUE_DAY)
    count = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=20, decimal_places=2, default=0)

    objects = OrganisationOwnedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "record", "key", "due_on"], name="record_tally_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.record} {self.key}: {self.count}"


class RevenueTally(models.Model):
    """Live invoices of an organisation issued in one month, per currency and product line:
    their number and sum. What customer value (portal/value, the 80/20 and tier fit) reads
    for the whole months of a period instead of summing every invoice of the book.

    Kept by the database (portal/records/revenue_tallies.py: triggers on the invoice
    table), like RecordTally, so every write path keeps it exact in its own transaction.
    `product_line` is the invoice's as written (the value screens normalise it).
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="The first day of the month the invoices were issued.")
    currency = models.CharField(max_length=3)
    product_line = models.CharField(max_length=100, blank=True)
    invoices = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=20, decimal_places=2, default=0)

    objects = OrganisationOwnedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "month", "currency", "product_line"],
                name="revenue_tally_unique",
            )
        ]
        # A period's months read from an index alone: of every organisation (tier fit
        # ranks them all), or of the few an account manager looks after (the 80/20).
        indexes = [
            models.Index(
                fields=["month"],
                include=["organisation", "currency", "product_line", "amount", "invoices"],
                name="revenue_tally_month_idx",
            ),
            models.Index(
                fields=["organisation", "month"],
                include=["currency", "product_line", "amount", "invoices"],
                name="revenue_tally_account_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.month:%Y-%m} {self.currency}: {self.amount}"
