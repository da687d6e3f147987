"""Single sign-on (accounts/sso.py).

Customers' identity providers, the domains they claim, the second factor a provider vouched for.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_otp.models import Device

from accounts.models.organisations import Organisation
from accounts.models.people import User
from accounts.querysets import OrganisationOwnedQuerySet


class IdentityProvider(models.Model):
    """A customer organisation's own OpenID Connect provider, set up by its customer admin.

    Whoever signs in through it with an email at one of the organisation's proved domains
    (DomainClaim) is that organisation's member; when `required`, its members cannot use a
    password on the portal. The staff's provider is not a row: it comes from settings.
    """

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, related_name="identity_provider"
    )
    name = models.CharField(max_length=100, help_text="On the sign-in button, e.g. “Acme SSO”.")
    server_url = models.URLField(
        help_text="The issuer: its /.well-known/openid-configuration is read from there."
    )
    client_id = models.CharField(max_length=200)
    # A customer admin types it in: it cannot be an environment variable of ours.
    client_secret = models.CharField(max_length=500)
    required = models.BooleanField(
        default=False, help_text="Members sign in through this provider only, never a password."
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganisationOwnedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation})"

    @property
    def provider_id(self) -> str:
        """allauth's id of this provider (in the callback URL)."""
        return f"org-{self.organisation_id}"


class DomainClaim(models.Model):
    """An email domain a customer organisation says is theirs, and whether it proved it.

    Proof is a link mailed to an address at the domain (`proof_email`) and followed. Only a
    proved claim lets the organisation's provider sign people in, and a domain is proved for
    one organisation at most.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="domain_claims"
    )
    domain = models.CharField(max_length=253, help_text="Lower case, IDNA (xn--) form.")
    proof_email = models.EmailField()
    token_hash = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    verified_at = models.DateTimeField(null=True, blank=True)

    objects = OrganisationOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["domain"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "domain"],
                name="domain_claim_once_per_organisation",
                violation_error_message="Your organisation has already claimed this domain.",
            ),
            models.UniqueConstraint(
                fields=["domain"],
                condition=Q(verified_at__isnull=False),
                name="domain_claim_one_proved",
                violation_error_message="Another organisation has proved this domain.",
            ),
        ]

    def __str__(self) -> str:
        return self.domain


class SingleSignOnDevice(Device):
    """The second factor the identity provider vouched for (its `amr`/`acr`), as a django-otp
    device: a session verified by it is verified like one verified by a code, and it never
    accepts a code itself."""

    def verify_token(self, token) -> bool:
        return False
