"""The access policy: the one answer to "may this user see this organisation".

Everything that belongs to an organisation reaches the database through
`.visible_to(user)` (see querysets.py), which is built on
`visible_organisation_ids`. The policy is read from the database on every
request, so removing an AM from an account or deactivating a person or a
membership takes effect on their very next request.

Who sees which organisations:
- admins (kind admin, or superuser): all of them;
- customers: the organisations where they hold an active membership;
- account managers and executive sponsors: the organisations where they
  hold a current account-team assignment;
- support agents: none as such; they see tickets routed to their
  department (the tickets app adds that clause).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import Q, QuerySet

from accounts.choices import MembershipRole

if TYPE_CHECKING:
    from accounts.models import Organisation, User


def _is_active_user(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def sees_everything(user) -> bool:
    return _is_active_user(user) and user.is_portal_admin


def visible_organisation_ids(user) -> QuerySet | None:
    """A subquery of visible organisation ids, or None meaning "all"."""
    from accounts.models import AccountAssignment, Membership, Organisation

    if not _is_active_user(user):
        return Organisation.objects.none().values("pk")
    if user.is_portal_admin:
        return None
    members = Membership.objects.filter(user=user, is_active=True)
    team = AccountAssignment.objects.filter(user=user, ended_at__isnull=True)
    members, team = (rows.order_by().values("organisation_id") for rows in (members, team))
    # A union, not "pk IN members OR pk IN team": PostgreSQL answers an OR of two subqueries
    # by reading every organisation; a union it joins through the indexes.
    return members.union(team)


def visible_organisation_id_list(user) -> list[int] | None:
    """The visible organisation ids as values (one query), or None meaning "all".

    For lists across all of a user's organisations: given literal ids the planner
    uses the (organisation, date) indexes, where the subquery alone is estimated
    as "most organisations" and the whole table is read. The same rule as
    `visible_organisation_ids`, as SQL: it runs on every API list request, and the
    ORM took five times longer to build this union than PostgreSQL took to answer it.
    """
    if not _is_active_user(user):
        return []
    if user.is_portal_admin:
        return None
    with connection.cursor() as cursor:
        cursor.execute(VISIBLE_IDS_SQL, {"user": user.pk})
        return [organisation_id for (organisation_id,) in cursor.fetchall()]


# The rule of visible_organisation_ids for one user, with no organisation table to read.
VISIBLE_IDS_SQL = """
    SELECT organisation_id FROM accounts_membership
    WHERE user_id = %(user)s AND is_active
    UNION
    SELECT organisation_id FROM accounts_accountassignment
    WHERE user_id = %(user)s AND ended_at IS NULL
"""


def organisation_q(user, field: str = "organisation", *, as_list: bool = False) -> Q:
    """A filter keeping rows whose `field` points at a visible organisation.

    as_list: the ids as literal values (visible_organisation_id_list), for lists
    across all of a user's organisations; otherwise a subquery.
    """
    ids = visible_organisation_id_list(user) if as_list else visible_organisation_ids(user)
    return Q() if ids is None else Q(**{f"{field}__in": ids})


def is_account_team(user: User, organisation: Organisation) -> bool:
    """Is `user` currently on the organisation's account team (AM, backup, sponsor)?"""
    if not _is_active_user(user):
        return False
    return organisation.assignments.filter(user=user, ended_at__isnull=True).exists()


def can_view_as(user: User, organisation: Organisation) -> bool:
    """Staff who may open the customer's own screens for this organisation."""
    return sees_everything(user) or is_account_team(user, organisation)


def can_manage_members(user: User, organisation: Organisation, *, viewing_as: bool) -> bool:
    """Customer admins manage their colleagues; so does staff viewing as the customer."""
    if not _is_active_user(user):
        return False
    if viewing_as:
        return can_view_as(user, organisation)
    return organisation.memberships.filter(
        user=user, is_active=True, role=MembershipRole.ADMIN
    ).exists()
