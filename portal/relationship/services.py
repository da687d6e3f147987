"""Writes of the relationship: engagements, commitments, last contact, the sponsor promise."""

from __future__ import annotations

from datetime import date, datetime, time

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import (
    Max,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import policy
from accounts.choices import AuditAction, LifecycleStage
from accounts.models import Membership, Organisation, User, staff_q
from accounts.platform import outbox
from accounts.services import audit_record
from portal.relationship import selectors, tasks
from portal.relationship.choices import (
    CommitmentStatus,
    EngagementStatus,
)
from portal.relationship.models import (
    Commitment,
    Engagement,
    LastContact,
    ReviewPack,
    SponsorLapse,
)
from tickets.models import Message

# --- Who may write ------------------------------------------------------------------------------


def _check_account_staff(user: User, organisation: Organisation) -> None:
    """Engagements and commitments are written by the account team and admins only."""
    if not (user.is_employee and policy.can_view_as(user, organisation)):
        raise PermissionDenied


def _check_attendees(organisation: Organisation, attendees) -> None:
    """Attendees are staff or active members of the organisation: nobody from elsewhere."""
    members = set(
        Membership.objects.active()
        .filter(organisation=organisation, user__in=attendees)
        .values_list("user_id", flat=True)
    )
    strangers = [u for u in attendees if not u.is_employee and u.pk not in members]
    if strangers:
        raise ValidationError({"attendees": _("Choose staff or people of this organisation.")})


# --- Last contact -------------------------------------------------------------------------------


def _midday(day: date) -> datetime:
    # Engagements have a day, not a time; midday keeps the day in any nearby time zone.
    return timezone.make_aware(datetime.combine(day, time(12)))


def last_contact_record(*, organisation: Organisation | int, at: datetime) -> None:
    """We were in touch at `at` (a staff reply, an engagement held): keep the latest."""
    organisation_id = getattr(organisation, "pk", organisation)
    updated = LastContact.objects.filter(organisation_id=organisation_id, at__lt=at).update(at=at)
    if not updated:
        LastContact.objects.bulk_create(
            [LastContact(organisation_id=organisation_id, at=at)], ignore_conflicts=True
        )


def last_contact_refresh(*, organisation_ids=None) -> int:
    """Rebuild the stored last contact from staff replies and held engagements (their
    meeting day), for every organisation or those of `organisation_ids`.

    The nightly safety net behind last_contact_record: it backfills history and
    catches anything written around the services; for one account it also takes back
    a contact whose engagement was moved to an earlier day or is no longer held.
    Returns the rows written.
    """
    messages = Message.objects.filter(staff_q("author__"), is_internal=False)
    engagements = Engagement.objects.filter(status=EngagementStatus.HELD)
    if organisation_ids is not None:
        messages = messages.filter(ticket__organisation_id__in=organisation_ids)
        engagements = engagements.filter(organisation_id__in=organisation_ids)
    replies = (
        messages.values("ticket__organisation_id")
        .annotate(latest=Max("created_at"))
        .values_list("ticket__organisation_id", "latest")
    )
    latest: dict[int, datetime] = dict(replies)
    held = (
        engagements.values("organisation_id")
        .annotate(latest=Max("on"))
        .values_list("organisation_id", "latest")
    )
    for organisation_id, day in held:
        at = _midday(day)
        if organisation_id not in latest or latest[organisation_id] < at:
            latest[organisation_id] = at
    rows = [LastContact(organisation_id=pk, at=at) for pk, at in latest.items()]
    if organisation_ids is not None:  # no contact left on record: none stored either
        LastContact.objects.filter(organisation_id__in=organisation_ids).exclude(
            organisation_id__in=latest
        ).delete()
    LastContact.objects.bulk_create(
        rows,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["organisation"],
        update_fields=["at"],
    )
    return len(rows)


# --- Engagements --------------------------------------------------------------------------------


def _validate_engagement(engagement: Engagement, today: date) -> None:
    if engagement.status == EngagementStatus.HELD and engagement.on > today:
        raise ValidationError(
            {"on": _("A held engagement cannot be in the future; plan it instead.")}
        )
    if engagement.status == EngagementStatus.PLANNED and engagement.on < today:
        raise ValidationError(
            {"on": _("A planned engagement is in the future; record it as held.")}
        )
    engagement.full_clean(exclude=["organisation", "recorded_by"])


def health_refresh_on_commit(organisation_id: int) -> None:
    """Its engagements, commitments or tickets changed: score the account again once the
    change is committed, so its health and reasons are not a night behind."""
    outbox.enqueue_on_commit(tasks.health_compute, [organisation_id])


def _after_engagement(engagement: Engagement) -> None:
    """A held engagement is contact (on its meeting day), and ends a lapsed sponsor promise
    the sponsor attended; either way the account is scored again."""
    health_refresh_on_commit(engagement.organisation_id)
    # Exact for this account, also when an edit moved the meeting earlier or un-held it.
    last_contact_refresh(organisation_ids=[engagement.organisation_id])
    if engagement.status != EngagementStatus.HELD:
        return
    SponsorLapse.objects.filter(
        organisation=engagement.organisation,
        ended_at__isnull=True,
        sponsor__in=engagement.attendees.all(),
    ).update(ended_at=timezone.now())


@transaction.atomic
def engagement_record(
    *,
    by: User,
    organisation: Organisation,
    kind: str,
    on: date,
    status: str = EngagementStatus.HELD,
    attendees=(),
    other_attendees: str = "",
    summary: str = "",
    next_steps: str = "",
    internal_notes: str = "",
    via_view_as: bool = False,
) -> Engagement:
    """Record a review, health check or executive touchpoint (held, or planned ahead)."""
    _check_account_staff(by, organisation)
    engagement = Engagement(
        organisation=organisation,
        kind=kind,
        on=on,
        status=status,
        other_attendees=other_attendees,
        summary=summary,
        next_steps=next_steps,
        internal_notes=internal_notes,
        recorded_by=by,
    )
    _validate_engagement(engagement, timezone.localdate())
    _check_attendees(organisation, attendees)
    engagement.save()
    engagement.attendees.set(attendees)
    _after_engagement(engagement)
    audit_record(
        actor=by,
        action=AuditAction.RECORD_CREATED,
        organisation=organisation,
        target=f"engagement {engagement.pk}: {engagement}",
        via_view_as=via_view_as,
    )
    return engagement


ENGAGEMENT_FIELDS = ["kind", "on", "status", "other_attendees", "summary", "next_steps"]


@transaction.atomic
def engagement_update(
    *, by: User, engagement: Engagement, attendees=None, via_view_as: bool = False, **fields
) -> Engagement:
    """Change an engagement: mark a planned one held, add the notes, cancel it."""
    _check_account_staff(by, engagement.organisation)
    allowed = {*ENGAGEMENT_FIELDS, "internal_notes"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"Engagements have no fields {sorted(unknown)}")
    engagement = Engagement.objects.select_for_update().get(pk=engagement.pk)
    changed = sorted(k for k, v in fields.items() if getattr(engagement, k) != v)
    for name, value in fields.items():
        setattr(engagement, name, value)
    _validate_engagement(engagement, timezone.localdate())
    if attendees is not None:
        _check_attendees(engagement.organisation, attendees)
    engagement.save()
    if attendees is not None:
        engagement.attendees.set(attendees)
        changed.append("attendees")
    _after_engagement(engagement)
    audit_record(
        actor=by,
        action=AuditAction.RECORD_CHANGED,
        organisation=engagement.organisation,
        target=f"engagement {engagement.pk}: {engagement}",
        detail={"fields": changed},
        via_view_as=via_view_as,
    )
    return engagement


# --- Commitments --------------------------------------------------------------------------------


def _validate_commitment(commitment: Commitment) -> None:
    errors = {}
    if commitment.owner is not None and not commitment.owner.is_employee:
        errors["owner"] = _("The owner of a promise to a customer is one of our staff.")
    engagement = commitment.engagement
    if engagement and engagement.organisation_id != commitment.organisation_id:
        errors["engagement"] = _("Choose an engagement of this organisation.")
    if errors:
        raise ValidationError(errors)
    commitment.full_clean(exclude=["organisation", "created_by"])


@transaction.atomic
def commitment_create(
    *,
    by: User,
    organisation: Organisation,
    title: str,
    due_on: date,
    owner: User | None = None,
    details: str = "",
    engagement: Engagement | None = None,
    via_view_as: bool = False,
) -> Commitment:
    """Write down a promise made to the customer; they see it on their portal at once."""
    _check_account_staff(by, organisation)
    commitment = Commitment(
        organisation=organisation,
        title=title,
        details=details,
        owner=owner,
        due_on=due_on,
        engagement=engagement,
        created_by=by,
    )
    _validate_commitment(commitment)
    commitment.save()
    health_refresh_on_commit(organisation.pk)
    audit_record(
        actor=by,
        action=AuditAction.RECORD_CREATED,
        organisation=organisation,
        target=f"commitment {commitment.pk}: {commitment.title}",
        via_view_as=via_view_as,
    )
    return commitment


COMMITMENT_FIELDS = ["title", "details", "owner", "due_on", "status", "engagement"]


@transaction.atomic
def commitment_update(
    *, by: User, commitment: Commitment, via_view_as: bool = False, **fields
) -> Commitment:
    """Change a commitment: move its date, hand it over, mark it done or dropped."""
    _check_account_staff(by, commitment.organisation)
    unknown = set(fields) - set(COMMITMENT_FIELDS)
    if unknown:
        raise ValueError(f"Commitments have no fields {sorted(unknown)}")
    commitment = Commitment.objects.select_for_update().get(pk=commitment.pk)
    changed = sorted(k for k, v in fields.items() if getattr(commitment, k) != v)
    was_open = commitment.status == CommitmentStatus.OPEN
    for name, value in fields.items():
        setattr(commitment, name, value)
    is_open = commitment.status == CommitmentStatus.OPEN
    if was_open and not is_open:
        commitment.closed_at = timezone.now()
    elif is_open:
        commitment.closed_at = None
    _validate_commitment(commitment)
    commitment.save()
    health_refresh_on_commit(commitment.organisation_id)
    audit_record(
        actor=by,
        action=AuditAction.RECORD_CHANGED,
        organisation=commitment.organisation,
        target=f"commitment {commitment.pk}: {commitment.title}",
        detail={"fields": changed, "status": commitment.status},
        via_view_as=via_view_as,
    )
    return commitment


# --- The business-review pack -------------------------------------------------------------------


@transaction.atomic
def review_pack_save(
    *,
    by: User,
    engagement: Engagement,
    summary: str,
    next_steps: str,
    share: bool = False,
    via_view_as: bool = False,
) -> ReviewPack:
    """Write the AM's summary and next steps on an engagement's pack, and share it if asked.

    A draft's period follows the engagement (since the last review, to its day); once
    shared it stays as the customer got it. Sharing needs both texts: the customer
    reads them first.
    """
    _check_account_staff(by, engagement.organisation)
    if engagement.status == EngagementStatus.CANCELLED:
        raise ValidationError(_("A cancelled engagement has no pack."))
    pack = ReviewPack.objects.select_for_update().filter(pk=engagement.pk).first()
    created = pack is None
    if created:
        pack = ReviewPack(engagement=engagement, organisation=engagement.organisation)
    if not pack.is_shared:
        pack.period_start, pack.period_end = selectors.pack_period(engagement)
    pack.summary, pack.next_steps, pack.prepared_by = summary.strip(), next_steps.strip(), by
    newly_shared = share and not pack.is_shared
    if newly_shared:
        missing = {
            name: _("Write this before sharing: the customer reads it first.")
            for name in ("summary", "next_steps")
            if not getattr(pack, name)
        }
        if missing:
            raise ValidationError(missing)
        pack.shared_at, pack.shared_by = timezone.now(), by
    pack.full_clean(exclude=["engagement", "organisation", "prepared_by", "shared_by"])
    pack.save()
    audit_record(
        actor=by,
        action=AuditAction.RECORD_CREATED if created else AuditAction.RECORD_CHANGED,
        organisation=engagement.organisation,
        target=f"review pack {pack.pk}: {engagement}",
        detail={"shared": pack.is_shared, "newly_shared": newly_shared},
        via_view_as=via_view_as,
    )
    return pack


# --- The executive-sponsor promise ---------------------------------------------------------------


@transaction.atomic
def sponsor_promise_scan(*, now: datetime | None = None) -> dict[str, int]:
    """Record lapsed sponsor promises, end the mended ones, warn once per lapse.

    A lapse is an organisation whose tier promises executive involvement and whose
    sponsor contact was due before today (portal.selectors.with_schedule). It is keyed
    by its due day, so rescanning finds the same lapse and never warns twice; a new
    touchpoint moves the due day on and ends it.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    # Only organisations whose current tier makes the promise: usually the top few.
    promised = Organisation.objects.exclude(lifecycle_stage=LifecycleStage.CHURNED).filter(
        tier_assignments__ended_at__isnull=True,
        tier_assignments__tier__executive_sponsor_promised=True,
    )
    lapsed = {
        (pk, selectors.as_date(due)): sponsor_id
        for pk, sponsor_id, due in selectors.with_schedule(promised)
        .filter(sponsor_due__lt=today)
        .values_list("pk", "sponsor_id", "sponsor_due")
    }
    with transaction.atomic():
        SponsorLapse.objects.bulk_create(
            [
                SponsorLapse(organisation_id=pk, due_on=due, sponsor_id=sponsor, detected_at=now)
                for (pk, due), sponsor in lapsed.items()
            ],
            ignore_conflicts=True,
        )
        still_open = SponsorLapse.objects.filter(ended_at__isnull=True)
        open_rows = still_open.values_list("pk", "organisation_id", "due_on")
        mended = [pk for pk, org, due in open_rows if (org, due) not in lapsed]
        ended = SponsorLapse.objects.filter(pk__in=mended).update(ended_at=now)
        # Claimed under a row lock: two scans at once never warn about the same lapse.
        to_warn = list(
            still_open.filter(warned_at__isnull=True)
            .exclude(pk__in=mended)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        SponsorLapse.objects.filter(pk__in=to_warn).update(warned_at=now)
        if to_warn:
            outbox.enqueue_on_commit(tasks.notify_sponsor_lapses, to_warn)
    return {"lapsed": len(lapsed), "warned": len(to_warn), "ended": ended}
