"""Writes for organisations, memberships, the account team and the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import policy, signals
from accounts.choices import AuditAction, MembershipRole, TeamRole
from accounts.models import (
    AccountAssignment,
    ApiToken,
    AuditEvent,
    Invitation,
    Membership,
    Organisation,
    User,
)
from accounts.platform import outbox
from accounts.platform.tokens import new_token, token_hash
from accounts.selectors import HANDOFF_KINDS


def audit_record(
    *,
    actor: User | None,
    action: str,
    organisation: Organisation | None = None,
    target: str = "",
    detail: dict | None = None,
    via_view_as: bool = False,
    ip_address: str | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if actor and actor.is_authenticated else None,
        action=action,
        organisation=organisation,
        target=target[:200],
        detail=detail or {},
        via_view_as=via_view_as,
        ip_address=ip_address,
    )


def user_create(*, email: str, full_name: str, password: str | None = None, **fields) -> User:
    user = User(email=User.objects.normalize_email(email), full_name=full_name, **fields)
    user.set_password(password)
    user.full_clean()
    user.save()
    return user


def person_locale_set(*, person: User, language: str, time_zone: str) -> User:
    """A person's own language and time zone ("" for the defaults of accounts/locale.py)."""
    person.language, person.time_zone = language, time_zone
    person.full_clean(validate_unique=False, validate_constraints=False)
    person.save(update_fields=["language", "time_zone"])
    return person


def membership_add(
    *, organisation: Organisation, user: User, role: str = MembershipRole.MEMBER
) -> Membership:
    """Add (or re-activate) a person's membership of an organisation."""
    if user.is_employee:
        raise ValidationError(_("Staff join accounts through the account team, not as members."))
    membership, created = Membership.objects.get_or_create(
        organisation=organisation, user=user, defaults={"role": role}
    )
    if not created and (not membership.is_active or membership.role != role):
        membership.is_active = True
        membership.role = role
        membership.deactivated_at = None
        membership.deactivated_by = None
        membership.save()
    return membership


@transaction.atomic
def membership_deactivate(
    *, membership: Membership, by: User, via_view_as: bool = False
) -> Membership:
    """End a colleague's access to this organisation (their other memberships stay)."""
    if membership.user_id == by.pk:
        raise ValidationError(_("You cannot deactivate yourself."))
    if not membership.is_active:
        return membership
    membership.is_active = False
    membership.deactivated_at = timezone.now()
    membership.deactivated_by = by
    membership.save(update_fields=["is_active", "deactivated_at", "deactivated_by"])
    audit_record(
        actor=by,
        action=AuditAction.MEMBER_DEACTIVATED,
        organisation=membership.organisation,
        target=membership.user.email,
        via_view_as=via_view_as,
    )
    return membership


@transaction.atomic
def invitation_create(
    *,
    organisation: Organisation,
    email: str,
    role: str,
    invited_by: User,
    via_view_as: bool = False,
) -> Invitation:
    """Invite a colleague by email; the link is sent once the invitation is saved."""
    from accounts.tasks import invitation_send

    email = User.objects.normalize_email(email)
    if (
        Membership.objects.active()
        .filter(organisation=organisation, user__email__iexact=email)
        .exists()
    ):
        raise ValidationError({"email": _("This person is already a member of your organisation.")})
    if User.objects.staff().filter(email__iexact=email).exists():
        raise ValidationError({"email": _("This address belongs to a staff account.")})
    token, hashed = new_token()
    invitation = Invitation(
        organisation=organisation,
        email=email,
        role=role,
        token_hash=hashed,
        invited_by=invited_by,
        expires_at=timezone.now() + timedelta(days=settings.INVITATION_VALID_DAYS),
    )
    invitation.full_clean()
    invitation.save()
    audit_record(
        actor=invited_by,
        action=AuditAction.MEMBER_INVITED,
        organisation=organisation,
        target=email,
        detail={"role": role},
        via_view_as=via_view_as,
    )
    # The broker must not see an invitation the database might still roll back.
    outbox.enqueue_on_commit(invitation_send, invitation.pk, token)
    return invitation


@transaction.atomic
def invitation_resend(*, invitation: Invitation, by: User, via_view_as: bool = False) -> Invitation:
    """Send a waiting invitation again with a new link (the old one stops working) and a
    new expiry."""
    from accounts.tasks import invitation_send

    if invitation.accepted_at is not None:
        raise ValidationError(_("%(email)s has already joined.") % {"email": invitation.email})
    token, invitation.token_hash = new_token()
    invitation.expires_at = timezone.now() + timedelta(days=settings.INVITATION_VALID_DAYS)
    invitation.save(update_fields=["token_hash", "expires_at"])
    audit_record(
        actor=by,
        action=AuditAction.INVITATION_RESENT,
        organisation=invitation.organisation,
        target=invitation.email,
        via_view_as=via_view_as,
    )
    outbox.enqueue_on_commit(invitation_send, invitation.pk, token)
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, by: User, via_view_as: bool = False) -> None:
    """Withdraw a waiting invitation: its link stops working at once."""
    if invitation.accepted_at is not None:
        raise ValidationError(_("%(email)s has already joined.") % {"email": invitation.email})
    audit_record(
        actor=by,
        action=AuditAction.INVITATION_REVOKED,
        organisation=invitation.organisation,
        target=invitation.email,
        via_view_as=via_view_as,
    )
    invitation.delete()


def invitation_get_usable(*, token: str) -> Invitation | None:
    invitation = (
        Invitation.objects.select_related("organisation", "invited_by")
        .filter(token_hash=token_hash(token))
        .first()
    )
    return invitation if invitation and invitation.is_usable else None


@transaction.atomic
def invitation_accept(
    *,
    token: str,
    user: User | None = None,
    full_name: str = "",
    password: str = "",
) -> Membership:
    """Turn an invitation into a membership, creating the account if needed.

    An existing account may only accept while logged in as the invited
    address, so a forwarded link cannot attach someone else's account.
    The invitation row is locked so two clicks cannot both use it.
    """
    invitation = (
        Invitation.objects.select_for_update()
        .filter(token_hash=token_hash(token), accepted_at__isnull=True)
        .first()
    )
    if invitation is None or not invitation.is_usable:
        raise ValidationError(_("This invitation link has expired or has already been used."))
    if user is None:
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise PermissionDenied(_("Log in as the invited address to accept."))
        user = user_create(email=invitation.email, full_name=full_name, password=password)
    elif user.email.lower() != invitation.email:
        raise PermissionDenied(_("This invitation was sent to another address."))
    membership = membership_add(
        organisation=invitation.organisation, user=user, role=invitation.role
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(
        actor=user,
        action=AuditAction.MEMBER_JOINED,
        organisation=invitation.organisation,
        target=user.email,
    )
    return membership


@transaction.atomic
def account_team_assign(
    *,
    organisation: Organisation,
    role: str,
    user: User | None,
    by: User | None,
    handoff_note: str = "",
) -> AccountAssignment | None:
    """Give a team role to a staff member (or leave it empty with user=None).

    The current holder's term ends now and keeps its history; the handoff
    note goes on the term being ended, where the next person reads it.
    """
    if user is not None and not user.is_employee:
        raise ValidationError({"user": _("Only staff can be on an account team.")})
    current = (
        AccountAssignment.objects.select_for_update()
        .current()
        .filter(organisation=organisation, role=role)
        .first()
    )
    if current and user and current.user_id == user.pk:
        return current
    now = timezone.now()
    if current:
        current.ended_at = now
        if handoff_note:
            current.handoff_note = handoff_note
        current.save(update_fields=["ended_at", "handoff_note"])
    assignment = None
    if user is not None:
        assignment = AccountAssignment(
            organisation=organisation, user=user, role=role, started_at=now, assigned_by=by
        )
        assignment.full_clean()
        assignment.save()
    audit_record(
        actor=by,
        action=AuditAction.TEAM_ASSIGNED,
        organisation=organisation,
        target=TeamRole(role).label,
        detail={
            "from": current.user.email if current else None,
            "to": user.email if user else None,
        },
    )
    signals.team_changed.send(sender=AccountAssignment, organisation_ids=[organisation.pk])
    return assignment


def view_as_start(*, user: User, organisation: Organisation, ip_address: str | None) -> None:
    if not policy.can_view_as(user, organisation):
        raise PermissionDenied
    audit_record(
        actor=user,
        action=AuditAction.VIEW_AS_START,
        organisation=organisation,
        via_view_as=True,
        ip_address=ip_address,
    )


def view_as_end(*, user: User, organisation: Organisation, ip_address: str | None) -> None:
    audit_record(
        actor=user,
        action=AuditAction.VIEW_AS_END,
        organisation=organisation,
        via_view_as=True,
        ip_address=ip_address,
    )


# --- API tokens ---------------------------------------------------------------------------------

API_TOKEN_PREFIX = "cp_"  # noqa: S105 (a label, not a secret)


@transaction.atomic
def api_token_create(
    *, user: User, name: str, ip_address: str | None = None
) -> tuple[ApiToken, str]:
    """A new personal API token: (the stored record, the token shown once)."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Say what the token is for, e.g. 'ERP order import'.")})
    # The prefix makes a leaked token recognisable to secret scanners and to people.
    token = API_TOKEN_PREFIX + new_token()[0]
    api_token = ApiToken.objects.create(
        user=user, name=name[:100], token_hash=token_hash(token), prefix=token[:8]
    )
    audit_record(
        actor=user,
        action=AuditAction.API_TOKEN_CREATED,
        target=str(api_token),
        ip_address=ip_address,
    )
    return api_token, token


@transaction.atomic
def api_token_revoke(*, user: User, pk: int, ip_address: str | None = None) -> ApiToken:
    """Revoke one of the user's own tokens; someone else's answers 404 upstream."""
    api_token = ApiToken.objects.select_for_update().get(user=user, pk=pk)
    if api_token.revoked_at is None:
        api_token.revoked_at = timezone.now()
        api_token.save(update_fields=["revoked_at"])
        audit_record(
            actor=user,
            action=AuditAction.API_TOKEN_REVOKED,
            target=str(api_token),
            ip_address=ip_address,
        )
    return api_token


# --- Handoff: a leaving or reassigned staff member's accounts go to others ----------------


@dataclass(frozen=True)
class HandoffMove:
    """One account-team term of the leaving person, its new holder and the note for them."""

    assignment_id: int
    to_user: User
    note: str


@transaction.atomic
def team_handoff(
    *, from_user: User, moves: list[HandoffMove], by: User, notify: bool = True
) -> list[AccountAssignment]:
    """Hand `from_user`'s accounts over: each term ends now with its note, a new one starts.

    Nothing of the history is lost: ended terms keep who, from, until and the note. A
    backup who takes over as account manager stops being the backup. All or nothing:
    any bad move raises ValidationError keyed `to_<id>` / `note_<id>` and writes nothing.
    Set-based (a fixed number of statements however many accounts move). The new
    holders and the customers are told by email once the transaction commits.
    """
    from accounts.tasks import team_handoff_notify

    # Admins hand anyone's accounts over; an account manager their own (accounts/cover.py).
    if not (policy.sees_everything(by) or by.pk == from_user.pk):
        raise PermissionDenied(_("Only admins hand over someone else's accounts."))
    current = {
        a.pk: a
        for a in AccountAssignment.objects.select_for_update()
        .current()
        .filter(user=from_user, pk__in=[m.assignment_id for m in moves])
        .select_related("organisation")
    }
    _handoff_check(from_user, moves, current)
    now = timezone.now()
    promoted = _handoff_promotions(moves, current, now)
    ended = []
    for move in moves:
        term = current[move.assignment_id]
        term.ended_at, term.handoff_note = now, move.note.strip()
        ended.append(term)
    AccountAssignment.objects.bulk_update([*ended, *promoted], ["ended_at", "handoff_note"])
    started = AccountAssignment.objects.bulk_create(
        AccountAssignment(
            organisation=current[m.assignment_id].organisation,
            user=m.to_user,
            role=current[m.assignment_id].role,
            started_at=now,
            assigned_by=by,
        )
        for m in moves
    )
    AuditEvent.objects.bulk_create(
        AuditEvent(
            at=now,
            actor=by,
            action=AuditAction.TEAM_HANDOFF,
            organisation=current[m.assignment_id].organisation,
            target=TeamRole(current[m.assignment_id].role).label,
            detail={"from": from_user.email, "to": m.to_user.email, "note": m.note.strip()},
        )
        for m in moves
    )
    if notify:
        outbox.enqueue_on_commit(team_handoff_notify, [a.pk for a in started])
    signals.team_changed.send(
        sender=AccountAssignment, organisation_ids=sorted({a.organisation_id for a in started})
    )
    return started


def _handoff_check(from_user: User, moves: list[HandoffMove], current: dict) -> None:
    errors: dict[str, str] = {}
    if not moves:
        raise ValidationError(_("Choose who takes over at least one account."))
    taken: dict[tuple[int, int], str] = {}
    for move in moves:
        term, to_field = current.get(move.assignment_id), f"to_{move.assignment_id}"
        if term is None:
            errors[to_field] = _("%(person)s no longer holds this role; reload the page.") % {
                "person": from_user
            }
            continue
        to = move.to_user
        if to.pk == from_user.pk:
            errors[to_field] = _("Choose someone other than the person handing over.")
        elif not (to.is_active and to.kind in HANDOFF_KINDS):
            errors[to_field] = _(
                "%(person)s cannot take over accounts (not active account staff)."
            ) % {"person": to}
        elif taken.get((term.organisation_id, to.pk), term.role) != term.role:
            errors[to_field] = _("%(person)s would hold two roles on %(organisation)s.") % {
                "person": to,
                "organisation": term.organisation.name,
            }
        taken[(term.organisation_id, to.pk)] = term.role
        if not move.note.strip():
            errors[f"note_{move.assignment_id}"] = _(
                "Write what %(person)s needs to know about %(organisation)s."
            ) % {"person": to.get_short_name(), "organisation": term.organisation.name}
    clashes = (
        AccountAssignment.objects.current()
        .filter(
            role=TeamRole.PRIMARY_AM,
            organisation_id__in=[t.organisation_id for t in current.values()],
            user_id__in=[m.to_user.pk for m in moves],
        )
        .values_list("organisation_id", "user_id")
    )
    for organisation_id, user_id in clashes:
        for move in moves:
            term = current.get(move.assignment_id)
            if (term and term.role == TeamRole.BACKUP_AM and term.organisation_id == organisation_id
                    and move.to_user.pk == user_id):  # fmt: skip
                errors[f"to_{move.assignment_id}"] = _(
                    "%(person)s is already the account manager of %(organisation)s."
                ) % {"person": move.to_user, "organisation": term.organisation.name}
    if errors:
        raise ValidationError(errors)


def _handoff_promotions(moves: list[HandoffMove], current: dict, now) -> list[AccountAssignment]:
    """The backup terms of people who take over as account manager: they end now."""
    to_primary = {
        (current[m.assignment_id].organisation_id, m.to_user.pk): m
        for m in moves
        if current[m.assignment_id].role == TeamRole.PRIMARY_AM
    }
    if not to_primary:
        return []
    backups = (
        AccountAssignment.objects.select_for_update()
        .current()
        .filter(
            role=TeamRole.BACKUP_AM,
            organisation_id__in={org for org, _ in to_primary},
            user_id__in={user for _, user in to_primary},
        )
    )
    promoted = []
    for term in backups:
        if (term.organisation_id, term.user_id) in to_primary:
            term.ended_at = now
            term.handoff_note = term.handoff_note or "Became the account manager in a handoff."
            promoted.append(term)
    return promoted
