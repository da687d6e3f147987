"""Organisations, the people in them and the staff who look after them."""

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device

from accounts.choices import (
    AuditAction,
    Delivery,
    Department,
    LifecycleStage,
    MembershipRole,
    NotificationKind,
    TeamRole,
    UserKind,
)
from accounts.locale import validate_language, validate_time_zone
from accounts.querysets import (
    AccountAssignmentQuerySet,
    MembershipQuerySet,
    OrganisationOwnedQuerySet,
    OrganisationQuerySet,
)


def staff_q(prefix: str = "") -> Q:
    """Who is staff, as a query: the one rule, also behind User.is_employee.

    `prefix` reaches the user through a relation, e.g. staff_q("author__").
    """
    return Q(**{f"{prefix}is_superuser": True}) | (
        Q(**{f"{prefix}kind__isnull": False}) & ~Q(**{f"{prefix}kind": UserKind.CUSTOMER})
    )


class UserManager(BaseUserManager):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email: str | None) -> str:
        # One address, one account: foo@X.com and FOO@x.com are the same person.
        return (email or "").strip().lower()

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)

    def create_user(self, email: str, password: str | None = None, **fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def staff(self):
        return self.filter(staff_q())

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields.update(is_staff=True, is_superuser=True, kind=UserKind.ADMIN)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in: a customer, or staff (AM, executive, agent, admin).

    `is_staff` keeps Django's meaning (may use Django admin); `kind` says what
    the person does in the portal.
    """

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200)
    phone = models.CharField(max_length=40, blank=True)
    kind = models.CharField(max_length=20, choices=UserKind, default=UserKind.CUSTOMER)
    department = models.CharField(
        max_length=20,
        choices=Department,
        blank=True,
        help_text="The queue a support agent works in.",
    )
    away_until = models.DateField(
        null=True,
        blank=True,
        help_text="Staff on leave until this day: customers are pointed to the backup.",
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May log in to Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)
    # Blank: not chosen, the defaults of accounts/locale.py apply.
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        validators=[validate_language],
        help_text=_("Pages and emails in this language; blank follows the browser."),
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text=_("Times are shown in this zone; blank follows the organisation's."),
    )
    session_epoch = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Raised to end every session of this person at once (e.g. at logout).",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="user_email_ci_unique",
                violation_error_message="A user with this email address already exists.",
            ),
            models.CheckConstraint(
                condition=Q(kind=UserKind.SUPPORT_AGENT, department__gt="")
                | (~Q(kind=UserKind.SUPPORT_AGENT) & Q(department="")),
                name="user_department_iff_agent",
                violation_error_message="Support agents need a department; nobody else has one.",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def clean(self):
        super().clean()
        self.email = User.objects.normalize_email(self.email)

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    # Sessions carry this hash and die when it changes: Django's covers the
    # password (a password change ends other sessions); ours adds the epoch, so
    # a logout can end them too without scanning the session table.
    def _session_hash(self, secret=None) -> str:
        return salted_hmac(
            "accounts.User.session_hash",
            f"{self.password}:{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def get_session_auth_hash(self) -> str:
        return self._session_hash()

    def get_session_auth_fallback_hash(self):
        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(secret=fallback_secret)

    @property
    def is_employee(self) -> bool:
        """Staff (see staff_q, the same rule for queries)."""
        return self.kind != UserKind.CUSTOMER or self.is_superuser

    @property
    def is_portal_admin(self) -> bool:
        return self.is_superuser or self.kind == UserKind.ADMIN

    @property
    def is_away(self) -> bool:
        return self.away_until is not None and self.away_until >= timezone.localdate()

    @property
    def initials(self) -> str:
        parts = [p for p in self.full_name.split() if p]
        letters = "".join(p[0] for p in parts[:1] + parts[-1:] if parts) if parts else self.email[0]
        return letters.upper()


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


class Membership(models.Model):
    """A user's place in an organisation, with the role they hold there."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=MembershipRole, default=MembershipRole.MEMBER)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivated_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["organisation__name", "user__full_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation"],
                name="membership_unique_user_organisation",
                violation_error_message="This person is already a member of the organisation.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organisation} ({self.get_role_display()})"


class AccountAssignment(models.Model):
    """One staff member's term in one role on an organisation's account team.

    A reassignment ends the current term and starts a new one, so the history
    (who, from, until, the handoff note) is never overwritten.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="assignments"
    )
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="assignments")
    role = models.CharField(max_length=20, choices=TeamRole)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    handoff_note = models.TextField(
        blank=True, help_text="What the next person needs to know about this account."
    )
    assigned_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    until = models.DateField(
        null=True,
        blank=True,
        help_text="Cover only: the last day of the cover; the term ends after it "
        "(accounts.cover.cover_expire).",
    )

    objects = AccountAssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["organisation__name", "role", "-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "role"],
                condition=Q(ended_at__isnull=True),
                name="assignment_one_current_per_role",
                violation_error_message="This role already has a current holder on the account.",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="assignment_ends_after_start",
                violation_error_message="An assignment cannot end before it starts.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} of {self.organisation}: {self.user}"


class Invitation(models.Model):
    """An emailed, single-use, expiring invitation to join an organisation.

    Only a hash of the token is stored: a database leak does not leak
    working links.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=MembershipRole, default=MembershipRole.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = OrganisationOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.organisation}"

    @property
    def is_usable(self) -> bool:
        return self.accepted_at is None and self.expires_at > timezone.now()


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 hash is stored; the token itself
    is shown once, when it is created."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for.")
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters, so a person can tell their tokens apart.
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditEvent(models.Model):
    """Who did what, when, and on whose behalf. Append-only."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=40, choices=AuditAction)
    via_view_as = models.BooleanField(
        default=False, help_text="Done by staff while viewing as the customer."
    )
    target = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = OrganisationOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["organisation", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor}: {self.get_action_display()}"


class PendingTask(models.Model):
    """A background task the broker could not take when it was sent (Redis was down).

    The web request that made the work goes on; the outbox relay sends the
    task once the broker answers again and deletes the row, so the work is
    late but never lost. Arguments are kept only until then.
    """

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.task} (since {self.created_at:%Y-%m-%d %H:%M})"


class SentNotification(models.Model):
    """One notification email the portal sent: what it was about (`key`), to whom, when.

    The mail helper (accounts.platform.mail) writes a row right after the SMTP server accepts
    each message and skips every (key, recipient) already here, so a retried or
    repeated task mails only the people who have not had that notification yet.
    """

    key = models.CharField(
        max_length=200, help_text='What the notification is about, e.g. "tickets.staff_reply:42".'
    )
    recipient = models.EmailField()
    sent_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "recipient"],
                name="sent_notification_once_per_recipient",
                violation_error_message="This notification was already sent to this address.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} to {self.recipient}"


class WebhookSubscription(models.Model):
    """A URL that receives the portal's events as signed HTTP POSTs (Standard Webhooks).

    A customer admin's subscription receives its organisation's events only; an admin's
    may leave `organisation` empty and receive every organisation's. The owner must still
    see the organisation when an event happens (accounts.platform.webhooks), or nothing is sent.
    """

    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Whose events; empty for every organisation's (admins only).",
    )
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text="Event types it receives.")
    secret = models.CharField(max_length=100, help_text="whsec_…: signs each delivery.")
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_until = models.DateTimeField(
        null=True, blank=True, help_text="Until then deliveries are signed with both secrets."
    )
    is_active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = OrganisationOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one subscription, and how sending it went: the delivery log.

    Its `message_id` is the webhook-id header, the same on every attempt and on a
    replay, so a receiver can tell a repeat from a new event.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Failed")

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    message_id = models.CharField(max_length=40, unique=True)
    event = models.CharField(max_length=40)
    payload = models.TextField(help_text="The JSON body, exactly as signed and sent.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = OrganisationOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due_idx",
                condition=Q(status__in=["pending", "sending"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.subscription}"


class NotificationPreference(models.Model):
    """How one person wants one kind of notification: at once, in the daily digest, or not.

    No row means at once (the default every kind starts with).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notification_prefs")
    kind = models.CharField(max_length=30, choices=NotificationKind)
    delivery = models.CharField(max_length=10, choices=Delivery, default=Delivery.AT_ONCE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind"],
                name="notification_preference_once_per_kind",
                violation_error_message="This person already has a setting for this kind.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.kind} {self.delivery}"


class DigestItem(models.Model):
    """A notification kept for a person's daily digest instead of being mailed at once.

    `digest_on` is the day of the digest that carried it (empty while it waits): the digest
    of a day carries what arrived before that day began, so running it twice sends nothing
    twice (accounts/digest.py).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="digest_items")
    kind = models.CharField(max_length=30, choices=NotificationKind)
    key = models.CharField(
        max_length=200, help_text="The notification's key (accounts.platform.mail)."
    )
    subject = models.CharField(max_length=300)
    link = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    digest_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"],
                name="digest_item_once_per_notification",
                violation_error_message="This notification is already in the person's digest.",
            )
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(digest_on__isnull=True),
                name="digest_item_waiting",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} for {self.user}"


class AccountFollow(models.Model):
    """A staff member who asked to hear about an account's new tickets without being its AM."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="account_follows")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="followers"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation"],
                name="account_follow_once",
                violation_error_message="You already follow this account.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} follows {self.organisation}"


# --- Single sign-on (accounts/sso.py) ------------------------------------------------------------


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
