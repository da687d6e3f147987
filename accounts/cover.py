"""An account manager's own account team changes, without an admin: hand over their role
on one of their accounts, or name someone to cover for them until a day.

Both are audited (the AuditEvent of the team change, and every AccountAssignment row
through accounts/platform/audit.py) and tell the customer's people and the new holder by email
(through the outbox, after commit). A change that would leave the account without a
backup account manager is refused until the form names one or says "not now"; in that
case the task rule "no backup" gives the account manager a task the moment it commits.

Cover is a term of its own (TeamRole.COVER_AM) with a last day (`until`): while it runs
the cover sees the account as its team does and hears of its new tickets; the
`cover-expire` beat entry ends it after its last day (within COVER_EXPIRE_SECONDS).
"""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import signals
from accounts.choices import AuditAction, TeamRole
from accounts.models import AccountAssignment, AuditEvent, Organisation, User
from accounts.platform import outbox
from accounts.selectors import HANDOFF_KINDS
from accounts.services import HandoffMove, account_team_assign, team_handoff

# The roles whose holder may hand them over or name cover themselves.
OWN_ROLES = (TeamRole.PRIMARY_AM, TeamRole.BACKUP_AM)
COVER_MAX_DAYS = 92  # a quarter: longer than that is a handoff, not cover


def own_term(*, user: User, organisation_id: int) -> AccountAssignment:
    """The person's current account-manager term on the account; PermissionDenied when
    they hold none (admins hand over others' accounts on the handoff page)."""
    term = (
        AccountAssignment.objects.select_related("organisation")
        .filter(
            user=user, organisation_id=organisation_id, ended_at__isnull=True, role__in=OWN_ROLES
        )
        .first()
    )
    if term is None or not user.is_active:
        raise PermissionDenied(_("Only the account's own account managers do this here."))
    return term


def leaves_without_backup(*, term: AccountAssignment, to_user: User) -> bool:
    """Would handing `term` to `to_user` leave its account with no backup AM?"""
    backup = (
        AccountAssignment.objects.filter(
            organisation_id=term.organisation_id, role=TeamRole.BACKUP_AM, ended_at__isnull=True
        )
        .values_list("user_id", flat=True)
        .first()
    )
    if term.role == TeamRole.BACKUP_AM:
        return False  # the backup's role goes to someone: there is still one
    return backup is None or backup == to_user.pk  # the backup becomes the account manager


def _staff_check(user: User | None, field: str, *, not_: list[User]) -> None:
    if user is None:
        return
    if not (user.is_active and user.kind in HANDOFF_KINDS):
        raise ValidationError({field: _("%(user)s cannot look after accounts.") % {"user": user}})
    if any(user.pk == other.pk for other in not_):
        raise ValidationError({field: _("Choose someone other than %(user)s.") % {"user": user}})


@transaction.atomic
def own_handover(
    *,
    by: User,
    organisation_id: int,
    to_user: User,
    note: str,
    new_backup: User | None = None,
    without_backup: bool = False,
) -> list[AccountAssignment]:
    """Hand `by`'s role on the account to `to_user`, with the note they read.

    When that leaves no backup AM, `new_backup` is named in the same step, or
    `without_backup` says so knowingly (then the "no backup" task follows).
    """
    from accounts.tasks import team_handoff_notify

    term = own_term(user=by, organisation_id=organisation_id)
    _staff_check(to_user, "to_user", not_=[by])
    if leaves_without_backup(term=term, to_user=to_user):
        if new_backup is None and not without_backup:
            raise ValidationError(
                {
                    "new_backup": _(
                        "After this %(organisation)s has no backup account manager: name one, "
                        "or tick “No backup for now”."
                    )
                    % {"organisation": term.organisation.name}
                }
            )
        _staff_check(new_backup, "new_backup", not_=[to_user])  # by may stay as backup
    else:
        new_backup = None
    started = team_handoff(
        from_user=by,
        moves=[HandoffMove(assignment_id=term.pk, to_user=to_user, note=note)],
        by=by,
        notify=False,
    )
    if new_backup is not None:
        started.append(
            account_team_assign(
                organisation=term.organisation, role=TeamRole.BACKUP_AM, user=new_backup, by=by
            )
        )
    # One letter to the customer and one to each new holder for the whole change.
    outbox.enqueue_on_commit(team_handoff_notify, [a.pk for a in started])
    return started


@transaction.atomic
def cover_name(
    *, by: User, organisation_id: int, cover: User, until: date, note: str = ""
) -> AccountAssignment:
    """`cover` stands in for `by` on the account until `until` (its last day)."""
    from accounts.tasks import cover_notify

    term = own_term(user=by, organisation_id=organisation_id)
    _staff_check(cover, "cover", not_=[by])
    today = timezone.localdate()
    if not today <= until <= today + timedelta(days=COVER_MAX_DAYS):
        raise ValidationError(
            {
                "until": _("Choose a last day from today to %(days)d days ahead.")
                % {"days": COVER_MAX_DAYS}
            }
        )
    if not note.strip():
        raise ValidationError(
            {"note": _("Write what %(person)s needs to know.") % {"person": cover.get_short_name()}}
        )
    assignment = account_team_assign(
        organisation=term.organisation, role=TeamRole.COVER_AM, user=cover, by=by
    )
    assignment.until, assignment.handoff_note = until, note.strip()
    assignment.save(update_fields=["until", "handoff_note"])
    outbox.enqueue_on_commit(cover_notify, assignment.pk)
    return assignment


@transaction.atomic
def cover_end(*, by: User, organisation_id: int) -> None:
    """End the account's cover now (the person is back early)."""
    own_term(user=by, organisation_id=organisation_id)
    organisation = Organisation.objects.get(pk=organisation_id)
    account_team_assign(organisation=organisation, role=TeamRole.COVER_AM, user=None, by=by)


def cover_expire(*, today: date | None = None) -> dict[str, int]:
    """End every cover whose last day is past: set-based, audited, pages renewed."""
    today = today or timezone.localdate()
    now = timezone.now()
    with transaction.atomic():
        due = list(
            AccountAssignment.objects.select_for_update(skip_locked=True)
            .filter(role=TeamRole.COVER_AM, ended_at__isnull=True, until__lt=today)
            .select_related("user")
        )
        AccountAssignment.objects.filter(pk__in=[a.pk for a in due]).update(ended_at=now)
        AuditEvent.objects.bulk_create(
            AuditEvent(
                at=now,
                action=AuditAction.TEAM_ASSIGNED,
                organisation_id=a.organisation_id,
                target=TeamRole.COVER_AM.label,
                detail={"from": a.user.email, "to": None, "reason": f"cover ended {a.until}"},
            )
            for a in due
        )
        if due:
            signals.team_changed.send(
                sender=AccountAssignment, organisation_ids=sorted({a.organisation_id for a in due})
            )
    return {"ended": len(due)}


@transaction.atomic
def backup_name(*, by: User, organisation_id: int, backup: User) -> AccountAssignment:
    """The account manager names (or replaces) the account's backup account manager."""
    term = own_term(user=by, organisation_id=organisation_id)
    if term.role != TeamRole.PRIMARY_AM:
        raise PermissionDenied(_("The account manager names the backup."))
    _staff_check(backup, "backup", not_=[by])
    return account_team_assign(
        organisation=term.organisation, role=TeamRole.BACKUP_AM, user=backup, by=by
    )


def without_backup(*, organisation_ids) -> list[str]:
    """The names of these accounts that have no backup account manager now (one query)."""
    backed = AccountAssignment.objects.filter(
        role=TeamRole.BACKUP_AM, ended_at__isnull=True
    ).values("organisation_id")
    return list(
        Organisation.objects.filter(pk__in=list(organisation_ids))
        .exclude(pk__in=backed)
        .order_by("name")
        .values_list("name", flat=True)
    )
