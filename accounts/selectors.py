"""Reads for organisations and people, always through the access policy."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.choices import TeamRole
from accounts.models import AccountAssignment, Membership, Organisation, User


def organisation_get(*, user: User, pk: int) -> Organisation:
    """The organisation if `user` may see it; 404 otherwise, whether or not it exists."""
    return get_object_or_404(Organisation.objects.visible_to(user), pk=pk)


def organisation_list(*, user: User) -> QuerySet[Organisation]:
    return Organisation.objects.visible_to(user).order_by("name")


def customer_organisations(*, user: User) -> QuerySet[Organisation]:
    """The organisations a customer belongs to, for the organisation switcher."""
    return Organisation.objects.filter(
        memberships__user=user, memberships__is_active=True
    ).order_by("name")


def account_team(*, organisation: Organisation) -> dict[str, AccountAssignment]:
    """Current holders by role: {"primary_am": ..., "backup_am": ..., ...}."""
    current = AccountAssignment.objects.filter(
        organisation=organisation, ended_at__isnull=True
    ).select_related("user")
    return {a.role: a for a in current}


def member_list(*, organisation: Organisation) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organisation=organisation)
        .select_related("user")
        .order_by("-is_active", "user__full_name")
    )


def member_get(*, organisation: Organisation, pk: int) -> Membership:
    return get_object_or_404(Membership.objects.filter(organisation=organisation), pk=pk)


def team_roles_of(*, user: User) -> dict[int, list[str]]:
    """{organisation_id: [role labels]} for a staff member's current assignments."""
    roles: dict[int, list[str]] = {}
    for org_id, role in AccountAssignment.objects.filter(
        user=user, ended_at__isnull=True
    ).values_list("organisation_id", "role"):
        roles.setdefault(org_id, []).append(TeamRole(role).label)
    return roles


def user_exists(*, email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists()
