"""Customer organisations: one login, one set of screens, one account team each."""

from django.db import models

from accounts.choices import LifecycleStage
from accounts.querysets import OrganisationQuerySet


class Organisation(models.Model):
    """A customer company: one login, one set of screens, one account team."""

    name = models.CharField(max_length=200)
    customer_number = models.CharField(max_length=32, unique=True)
    # What legacy systems may know the customer by, besides its name: the evidence
    # identity resolution weighs (portal/sync/matching.py).
    registry_id = models.CharField(
        max_length=40, blank=True, db_index=True, help_text="Company registry or VAT number."
    )
    city = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    email_domain = models.CharField(
        max_length=100, blank=True, help_text="The domain of the customer's email addresses."
    )
    phone = models.CharField(max_length=40, blank=True)
    street = models.CharField(max_length=200, blank=True, help_text="Street and number.")
    lifecycle_stage = models.CharField(
        max_length=20, choices=LifecycleStage, default=LifecycleStage.ONBOARDING
    )
    renewal_date = models.DateField(null=True, blank=True)
    time_zone = models.CharField(
        max_length=64, default="UTC", help_text="Business hours and dates are shown in this zone."
    )
    requires_two_factor = models.BooleanField(
        default=False,
        help_text="Every member must sign in with a code from an authenticator app "
        "(set by the organisation's customer admins on the colleagues page).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.customer_number})"
