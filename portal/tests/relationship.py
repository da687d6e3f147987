"""Helpers for the relationship tests: tiers with promises, records at chosen dates."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.choices import TeamRole
from accounts.models import AccountAssignment, Organisation, User
from accounts.tests.factories import StaffFactory
from portal.records.models import Invoice, Order
from portal.tests.records import source
from tiers.models import ServiceTier, TierAssignment


def premium_tier(**overrides) -> ServiceTier:
    fields = {
        "name": "Premium",
        "rank": 3,
        "annual_fee": 12000,
        "review_every_days": 90,
        "health_check_every_days": None,
        "executive_sponsor_promised": True,
        "sponsor_contact_every_days": 30,
    }
    return ServiceTier.objects.create(**{**fields, **overrides})


def put_on_tier(organisation: Organisation, tier: ServiceTier, since: datetime) -> None:
    """Make `tier` the organisation's current tier, held since `since`."""
    TierAssignment.objects.filter(organisation=organisation, ended_at__isnull=True).delete()
    TierAssignment.objects.create(organisation=organisation, tier=tier, started_at=since)


def add_sponsor(organisation: Organisation, since: datetime, email="exec@portal.test") -> User:
    sponsor = StaffFactory(email=email, full_name="Eve Executive", kind="executive")
    AccountAssignment.objects.create(
        organisation=organisation,
        user=sponsor,
        role=TeamRole.EXECUTIVE_SPONSOR,
        started_at=since,
    )
    return sponsor


def add_order(organisation: Organisation, at: datetime, *, deleted: bool = False) -> Order:
    key = f"{organisation.pk}-{at.timestamp()}-{deleted}"
    return Order.objects.create(
        source=source(), external_id=key, organisation=organisation, content_hash="x",
        synced_at=at, customer_id="C", number=f"SO-{key}", status="open", ordered_at=at,
        deleted_at=at if deleted else None,
    )  # fmt: skip


def add_invoice(
    organisation: Organisation,
    due_on: date,
    *,
    paid_on: date | None = None,
    deleted: bool = False,
) -> Invoice:
    key = f"{organisation.pk}-{due_on}-{paid_on}-{deleted}-{Invoice.objects.count()}"
    now = timezone.now()
    return Invoice.objects.create(
        source=source("Billing", "invoices"), external_id=key, organisation=organisation,
        content_hash="x", synced_at=now, customer_id="C", number=f"INV-{key}",
        amount=Decimal("100.00"), currency="GBP", issued_on=due_on - timedelta(days=30),
        due_on=due_on, paid_on=paid_on, deleted_at=now if deleted else None,
    )  # fmt: skip
