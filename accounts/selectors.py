"""Reads for organisations and people, always through the access policy."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.choices import AuditAction, TeamRole, UserKind
from accounts.models import (
    AccountAssignment,
    ApiToken,
    AuditEvent,
    Invitation,
    Membership,
    Organisation,
    User,
)
from config import prepared


def organisation_get(*, user: User, pk: int) -> Organisation:
    """The organisation if `user` may see it; 404 otherwise, whether or not it exists."""
    return get_object_or_404(Organisation.objects.visible_to(user), pk=pk)


def organisation_list(*, user: User) -> QuerySet[Organisation]:
    return Organisation.objects.visible_to(user).order_by("name")


def customer_organisations(*, user: User) -> QuerySet[Organisation]:
    """The organisations a customer belongs to, for the organisation switcher; each with
    `user`'s role in it (`viewer_id`, `viewer_role`: accounts.policy.can_manage_members)."""
    return (
        Organisation.objects.filter(memberships__user=user, memberships__is_active=True)
        .annotate(viewer_id=F("memberships__user_id"), viewer_role=F("memberships__role"))
        .order_by("name")
    )


def customer_organisation_list(*, user: User) -> list[Organisation]:
    """`customer_organisations(user=user)`, run by SQL built once per process
    (config/prepared.py): the frame of every customer page reads it
    (CurrentOrganisationMiddleware), and building and compiling the queryset cost more CPU
    than the database took to answer it."""
    return prepared.objects(customer_organisations, user=user)


def account_team(*, organisation: Organisation) -> dict[str, AccountAssignment]:
    """Current holders by role: {"primary_am": ..., "backup_am": ..., ...}, each with its
    whole user. One query, its SQL built once per process (config/prepared.py)."""
    current = prepared.objects(_account_team, organisation=organisation.pk)
    return {a.role: prepared.with_related(a, _TEAM_USER) for a in current}


_TEAM_USER = {"user": prepared.every_field(User)}


def _account_team(*, organisation: int) -> QuerySet[AccountAssignment]:
    current = AccountAssignment.objects.current().filter(organisation=organisation)
    # The model's ordering within one organisation: the same term wins a role held twice.
    current = current.order_by("role", "-started_at")
    return current.annotate(**prepared.related_columns(_TEAM_USER))


# The roles that look after an account day to day: who hears about its tickets.
ACCOUNT_MANAGER_ROLES = (TeamRole.PRIMARY_AM, TeamRole.BACKUP_AM)
# Who stands in for the account manager for a while (accounts.services.cover_name).
COVER_ROLES = (TeamRole.COVER_AM,)


def account_manager_emails(
    *, organisation_ids: Iterable[int], roles: Iterable[str] = ACCOUNT_MANAGER_ROLES
) -> dict[int, list[str]]:
    """Addresses of the current holders of `roles` (active users only), by organisation.

    The one recipient query of every notification that goes to account managers.
    """
    rows = (
        AccountAssignment.objects.current()
        .filter(
            organisation_id__in=organisation_ids,
            role__in=roles,
            user__is_active=True,
        )
        .values_list("organisation_id", "user__email")
    )
    found: dict[int, list[str]] = {}
    for organisation_id, email in rows.order_by("organisation_id", "role"):
        found.setdefault(organisation_id, []).append(email)
    return found


# Who hears about an account's new tickets by default: the account manager and whoever
# covers for them. The backup AM, sponsors and any other staff member follow the account to
# hear too (AccountFollow); everyone can still route the kind to the digest or turn it off.
NEW_TICKET_ROLES = (TeamRole.PRIMARY_AM,)


def new_ticket_watchers(*, organisation_ids: Iterable[int]) -> dict[int, list[str]]:
    """Addresses told about new tickets, by organisation: NEW_TICKET_ROLES, cover, and
    staff following the account who can still see it (two queries)."""
    from accounts.models import AccountFollow

    organisation_ids = list(organisation_ids)
    found = account_manager_emails(
        organisation_ids=organisation_ids, roles=[*NEW_TICKET_ROLES, *COVER_ROLES]
    )
    # A follower who left the account team no longer sees it: no more mail about it.
    on_team = Q(
        user__assignments__organisation_id=F("organisation_id"),
        user__assignments__ended_at__isnull=True,
    )
    follows = (
        AccountFollow.objects.filter(organisation_id__in=organisation_ids, user__is_active=True)
        .filter(on_team | Q(user__is_superuser=True) | Q(user__kind=UserKind.ADMIN))
        .values_list("organisation_id", "user__email")
        .distinct()
    )
    for organisation_id, email in follows:
        if email not in found.setdefault(organisation_id, []):
            found[organisation_id].append(email)
    return found


def invitation_waiting_list(*, organisation: Organisation) -> QuerySet[Invitation]:
    """Invitations nobody accepted yet, expired ones too (they can be sent again)."""
    return Invitation.objects.filter(organisation=organisation, accepted_at__isnull=True)


def invitation_waiting_get(*, organisation: Organisation, pk: int) -> Invitation:
    """One of them; another organisation's is a 404, like a missing one."""
    return get_object_or_404(invitation_waiting_list(organisation=organisation), pk=pk)


def member_list(*, organisation: Organisation) -> QuerySet[Membership]:
    """The organisation's memberships, each with `has_two_factor` (a confirmed authenticator)."""
    authenticator = TOTPDevice.objects.filter(user=OuterRef("user"), confirmed=True)
    return (
        Membership.objects.filter(organisation=organisation)
        .select_related("user")
        .annotate(has_two_factor=Exists(authenticator))
        .order_by("-is_active", "user__full_name")
    )


def member_get(*, organisation: Organisation, pk: int) -> Membership:
    return get_object_or_404(Membership.objects.filter(organisation=organisation), pk=pk)


# A staff member's current roles on an account as one number, a bit a role: My accounts
# reads them as a column of its rows (team_roles_column) instead of a query of its own.
# In the order of the roles' values, as the labels are listed.
TEAM_ROLE_BITS = {role: 1 << n for n, role in enumerate(sorted(TeamRole.values))}


def team_roles_column(*, user: User, organisation: str = "pk") -> Coalesce:
    """`user`'s current roles on the organisation of each row (its key at `organisation`),
    summed as TEAM_ROLE_BITS; 0 for none. At most one current term of a role on an account
    (assignment_one_current_per_role), so the sum is the roles' bits."""
    bit = Case(
        *(When(role=role, then=Value(value)) for role, value in TEAM_ROLE_BITS.items()),
        default=Value(0),
    )
    terms = AccountAssignment.objects.current().filter(
        user=user, organisation=OuterRef(organisation)
    )
    summed = terms.order_by().annotate(bits=Func(bit, function="SUM")).values("bits")
    return Coalesce(Subquery(summed, output_field=IntegerField()), 0)


def team_role_labels(bits: int) -> list[str]:
    """The labels of the roles in `bits` (team_roles_column), in the order of their values."""
    return [TeamRole(role).label for role, value in TEAM_ROLE_BITS.items() if bits & value]


def user_exists(*, email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists()


def api_tokens(*, user: User) -> QuerySet[ApiToken]:
    """The user's own tokens, live first."""
    return ApiToken.objects.filter(user=user).order_by(
        F("revoked_at").desc(nulls_first=True), "-created_at"
    )


# --- Handoff ---------------------------------------------------------------------------------

# Who may take over an account: staff who look after accounts.
HANDOFF_KINDS = (UserKind.ACCOUNT_MANAGER, UserKind.EXECUTIVE)


def handoff_staff() -> QuerySet[User]:
    """Staff on account teams now, with how many terms each holds: who can hand over."""
    current = Q(assignments__ended_at__isnull=True)
    return (
        User.objects.annotate(terms=Count("assignments", filter=current))
        .filter(terms__gt=0)
        .order_by("full_name")
    )


def handoff_terms(*, user: User) -> QuerySet[AccountAssignment]:
    """The account-team terms `user` holds now: what a handoff moves."""
    return (
        AccountAssignment.objects.current()
        .filter(user=user)
        .select_related("organisation")
        .order_by("organisation__name", "role")
    )


def handoff_candidates(*, leaving: User) -> QuerySet[User]:
    return (
        User.objects.filter(is_active=True, kind__in=HANDOFF_KINDS)
        .exclude(pk=leaving.pk)
        .order_by("full_name")
    )


def handoff_recent(*, limit: int = 20) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(action=AuditAction.TEAM_HANDOFF).select_related(
        "actor", "organisation"
    )[:limit]


@dataclass
class HandoffNews:
    """What a handoff tells whom: the new terms, the terms they replaced, the customers.

    `handoff_id` names the handoff (its first new term, whether or not it still stands).
    """

    handoff_id: int
    started: list[AccountAssignment]
    previous: dict[tuple[int, str], AccountAssignment]
    members: list[Membership]

    def by_new_holder(self) -> dict[User, list[tuple[AccountAssignment, AccountAssignment]]]:
        items: dict[User, list] = {}
        for term in self.started:
            before = self.previous.get((term.organisation_id, term.role))
            items.setdefault(term.user, []).append((term, before))
        return items

    def customer_letters(self) -> list[tuple[User, Organisation, list[AccountAssignment]]]:
        terms: dict[int, list[AccountAssignment]] = {}
        for term in self.started:
            terms.setdefault(term.organisation_id, []).append(term)
        return [(m.user, m.organisation, terms[m.organisation_id]) for m in self.members]


def handoff_news(*, assignment_ids: list[int]) -> HandoffNews:
    """The handoff's new terms that still stand (a later change makes its news stale)."""
    started = list(
        AccountAssignment.objects.current()
        .filter(pk__in=assignment_ids)
        .select_related("organisation", "user")
        .order_by("organisation__name", "role")
    )
    ended = AccountAssignment.objects.filter(
        organisation_id__in={t.organisation_id for t in started},
        ended_at__in={t.started_at for t in started},
    ).select_related("user")
    starts = {(t.organisation_id, t.role): t.started_at for t in started}
    previous = {
        (t.organisation_id, t.role): t
        for t in ended
        if starts.get((t.organisation_id, t.role)) == t.ended_at
    }
    members = list(
        Membership.objects.active()
        .filter(
            organisation_id__in={org for org, _ in starts},
            user__is_active=True,
        )
        .select_related("user", "organisation")
    )
    return HandoffNews(
        handoff_id=min(assignment_ids, default=0),
        started=started,
        previous=previous,
        members=members,
    )
