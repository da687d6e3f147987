"""Who belongs to an organisation and who looks after it.

Memberships, invitations, account-team terms and followers.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.choices import MembershipRole, TeamRole
from accounts.models.organisations import Organisation
from accounts.models.people import User
from accounts.querysets import (
    AccountAssignmentQuerySet,
    MembershipQuerySet,
    OrganisationOwnedQuerySet,
)


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
