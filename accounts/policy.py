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
from django.db.models import Q
from django.db.models.expressions import RawSQL

from accounts.choices import MembershipRole

if TYPE_CHECKING:
    from accounts.models import Organisation, User


def _is_active_user(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def sees_everything(user) -> bool:
    return _is_active_user(user) and user.is_portal_admin


# The rule for one user, stated once: the organisations where they hold an active
# membership or a current account-team term (Membership.objects.active() and
# AccountAssignment.objects.current() in SQL; accounts/tests/test_policy.py holds the two
# equal). A union, not "id IN members OR id IN team":
# PostgreSQL answers an OR of two subqueries by reading every organisation, and a union
# through the indexes. Written as SQL: it is part of nearly every query the portal makes,
# and the ORM took several times longer to build the union than PostgreSQL to answer it.
VISIBLE_IDS_SQL = """
    SELECT organisation_id FROM accounts_membership
    WHERE user_id = %s AND is_active
    UNION
    SELECT organisation_id FROM accounts_accountassignment
    WHERE user_id = %s AND ended_at IS NULL
"""


def visible_organisation_ids(user) -> RawSQL | None:
    """The visible organisation ids as a subquery (for `__in`), or None meaning "all"."""
    if sees_everything(user):
        return None
    user_id = user.pk if _is_active_user(user) else None  # NULL: no row matches
    return RawSQL(VISIBLE_IDS_SQL, (user_id, user_id))  # noqa: S611 (a constant, bound ids)


def visible_organisation_id_list(user) -> list[int] | None:
    """The visible organisation ids as values (one query), or None meaning "all".

    For lists across all of a user's organisations: given literal ids the planner
    uses the (organisation, date) indexes, where from a subquery it cannot know how
    many organisations there are, and reads and sorts every row of them all.
    """
    if sees_everything(user):
        return None
    if not _is_active_user(user):
        return []
    with connection.cursor() as cursor:
        cursor.execute(VISIBLE_IDS_SQL, (user.pk, user.pk))
        return [organisation_id for (organisation_id,) in cursor.fetchall()]


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
    return organisation.assignments.current().filter(user=user).exists()


def can_view_as(user: User, organisation: Organisation) -> bool:
    """Staff who may open the customer's own screens for this organisation."""
    return sees_everything(user) or is_account_team(user, organisation)


def can_manage_members(user: User, organisation: Organisation, *, viewing_as: bool) -> bool:
    """Customer admins manage their colleagues; so does staff viewing as the customer."""
    if not _is_active_user(user):
        return False
    if viewing_as:
        return can_view_as(user, organisation)
    if getattr(organisation, "viewer_id", None) == user.pk:  # read with the organisation
        return organisation.viewer_role == MembershipRole.ADMIN  # (customer_organisations)
    return organisation.memberships.active().filter(user=user, role=MembershipRole.ADMIN).exists()


def may_match_identities(user) -> bool:
    """Who opens the identity review screens at all: admins and account managers. What
    each of them may decide there is `may_decide_identity`."""
    from accounts.choices import UserKind

    return _is_active_user(user) and (user.is_portal_admin or user.kind == UserKind.ACCOUNT_MANAGER)


def managed_organisation_ids(user) -> set[int] | None:
    """The organisations whose legacy customers `user` decides (one query), or None meaning
    "all" (admins). An account manager decides for the accounts where they are the primary
    or backup AM now; a sponsor's or a customer's seat decides nothing."""
    from accounts.choices import TeamRole
    from accounts.models import AccountAssignment

    if sees_everything(user):
        return None
    if not may_match_identities(user):
        return set()
    return set(
        AccountAssignment.objects.current()
        .filter(user=user, role__in=[TeamRole.PRIMARY_AM, TeamRole.BACKUP_AM])
        .values_list("organisation_id", flat=True)
    )


def may_decide_identity(user, *, current: int | None, to: int | None) -> bool:
    """May `user` move a legacy customer from organisation `current` to organisation `to`
    (ids; None is "nobody": waiting, not ours, undone)?

    Authority follows the account: a match is an authorisation decision, so an account
    manager decides only customers that are unmatched or matched to an account they
    manage, and only onto accounts they manage. Moving one away from, or onto, another
    organisation is an admin's decision (issue 23: an AM moved Harbour's identities to
    their own account, and Harbour's records with them)."""
    managed = managed_organisation_ids(user)
    if managed is None:
        return True
    if not may_match_identities(user):
        return False
    return all(pk is None or pk in managed for pk in (current, to))
