"""Writes for organisations, memberships, the account team and the audit trail."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import outbox, policy
from accounts.choices import AuditAction, MembershipRole, TeamRole
from accounts.models import (
    AccountAssignment,
    AuditEvent,
    Invitation,
    Membership,
    Organisation,
    User,
)
from accounts.tokens import new_token, token_hash


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


def membership_add(
    *, organisation: Organisation, user: User, role: str = MembershipRole.MEMBER
) -> Membership:
    """Add (or re-activate) a person's membership of an organisation."""
    if user.is_employee:
        raise ValidationError("Staff join accounts through the account team, not as members.")
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
        raise ValidationError("You cannot deactivate yourself.")
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
    if Membership.objects.filter(
        organisation=organisation, user__email__iexact=email, is_active=True
    ).exists():
        raise ValidationError({"email": "This person is already a member of your organisation."})
    if User.objects.filter(email__iexact=email).exclude(kind="customer").exists():
        raise ValidationError({"email": "This address belongs to a staff account."})
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
        raise ValidationError("This invitation link has expired or has already been used.")
    if user is None:
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise PermissionDenied("Log in as the invited address to accept.")
        user = user_create(email=invitation.email, full_name=full_name, password=password)
    elif user.email.lower() != invitation.email:
        raise PermissionDenied("This invitation was sent to another address.")
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
        raise ValidationError({"user": "Only staff can be on an account team."})
    current = (
        AccountAssignment.objects.select_for_update()
        .filter(organisation=organisation, role=role, ended_at__isnull=True)
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
