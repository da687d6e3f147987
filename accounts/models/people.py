"""People who log in: customers and staff, and their personal API tokens."""

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from accounts.choices import Department, UserKind
from accounts.locale import validate_language, validate_time_zone


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
        indexes = [
            # The staff in name order (a ticket's assignee list): 51 people, not a scan of
            # every customer.
            models.Index(
                fields=["full_name"],
                condition=staff_q() & Q(is_active=True),
                name="user_active_staff_idx",
            ),
        ]
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
