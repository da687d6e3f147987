"""Writes for tickets: opening, replying, status changes, SLA clocks, ratings, feedback."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation, User
from accounts.platform import outbox, webhooks
from accounts.platform.mail import one_line
from tickets import signals, sla, subjects, tasks
from tickets.attachments import CheckedUpload, uploads_check
from tickets.choices import (
    CATEGORY_DEPARTMENT,
    DONE_STATUSES,
    FEEDBACK_DEPARTMENTS,
    OPEN_STATUSES,
    ImprovementStatus,
    Source,
    Status,
)
from tickets.models import Attachment, Improvement, Message, Rating, Ticket
from tiers.models import SlaTarget
from tiers.selectors import current_tier

# --- SLA clocks -------------------------------------------------------------------------


def sla_schedule(ticket: Ticket) -> None:
    """Set the ticket's due and warning times from its tier, priority and pauses.

    Everything is measured on the tier's calendar from the moment the ticket
    opened; time spent paused pushes the resolution clock back by as much.
    """
    target = (
        SlaTarget.objects.filter(tier=ticket.tier, priority=ticket.priority).first()
        if ticket.tier_id
        else None
    )
    if target is None:
        ticket.first_response_due_at = ticket.first_response_warn_at = None
        ticket.resolution_due_at = ticket.resolution_warn_at = None
        return
    calendar = ticket.tier.calendar(ticket.organisation.time_zone)
    fraction = settings.SLA_WARNING_FRACTION
    first = timedelta(minutes=target.first_response_minutes)
    resolution = timedelta(minutes=target.resolution_minutes)
    paused = timedelta(seconds=ticket.sla_paused_seconds)
    start = ticket.created_at
    ticket.first_response_due_at = calendar.add(start, first)
    ticket.first_response_warn_at = calendar.add(start, first * fraction)
    ticket.resolution_due_at = calendar.add(start, resolution + paused)
    ticket.resolution_warn_at = calendar.add(start, resolution * fraction + paused)


def _pause(ticket: Ticket, now: datetime) -> None:
    if ticket.sla_paused_at is None:
        ticket.sla_paused_at = now


def _resume(ticket: Ticket, now: datetime) -> None:
    if ticket.sla_paused_at is None:
        return
    if ticket.tier_id:
        calendar = ticket.tier.calendar(ticket.organisation.time_zone)
        paused = calendar.between(ticket.sla_paused_at, now)
        ticket.sla_paused_seconds += int(paused.total_seconds())
    ticket.sla_paused_at = None
    sla_schedule(ticket)


def _mark_breach_if_late(ticket: Ticket, now: datetime) -> None:
    """After a reply or resolution is saved: if it came late, the breach is marked now
    (the rule is tickets/sla.py's; the minute scan only finds clocks that ran out)."""
    late = Ticket.objects.filter(pk=ticket.pk, sla_breached_at__isnull=True).filter(
        sla.answered_late()
    )
    if late.update(sla_breached_at=now):
        ticket.sla_breached_at = now


# --- Opening and the thread ---------------------------------------------------------------


def _attach(message: Message, checked: list[CheckedUpload]) -> None:
    for file in checked:
        Attachment.objects.create(
            message=message,
            file=file.upload,
            filename=file.filename,
            content_type=file.content_type,
            size=file.upload.size,
        )


def _validate_uploads(uploads) -> list[CheckedUpload]:
    """Check every file before anything is written, so a bad one loses nothing."""
    accepted, refused = uploads_check(uploads)
    if refused:
        raise ValidationError({"attachments": refused})
    return accepted


@transaction.atomic
def subject_normalise(subject: str) -> str:
    """A ticket subject on one line, whatever way it came in (form, API, email): line
    breaks, tabs and other control characters become single spaces. Every email about the
    ticket carries it in a header, where a line break is refused."""
    return one_line(subject)[:200]


def ticket_create(
    *,
    organisation: Organisation,
    requester: User,
    subject: str,
    category: str,
    priority: str,
    body: str,
    attachments=(),
    via_view_as: bool = False,
    about: tuple[str, int] | None = None,
    source: str = Source.PORTAL,
    department: str = "",
    now: datetime | None = None,
) -> Ticket:
    """Open a ticket for an organisation the requester may act for, about one of its
    records if `about` (kind, id) names one (tickets/subjects.py). It goes to the
    category's department unless `department` names another (a reorder: the department
    whose system the order came from)."""
    if not Organisation.objects.visible_to(requester).filter(pk=organisation.pk).exists():
        raise PermissionDenied
    about_kind, about_id, about_name = _about(requester, organisation, about)
    attachments = _validate_uploads(attachments)
    now = now or timezone.now()
    ticket = Ticket(
        organisation=organisation,
        subject=subject_normalise(subject),
        category=category,
        priority=priority,
        requester=requester,
        department=department or CATEGORY_DEPARTMENT[category],
        created_at=now,
        tier=current_tier(organisation=organisation),
        about_kind=about_kind,
        about_id=about_id,
        about_name=about_name,
        source=source,
    )
    sla_schedule(ticket)
    ticket.full_clean()
    ticket.save()
    message = Message.objects.create(
        ticket=ticket, author=requester, body=body, via_view_as=via_view_as, created_at=now
    )
    _attach(message, attachments)
    outbox.enqueue_on_commit(tasks.notify_new_ticket, ticket.pk)
    _changed(ticket)
    _emit(ticket, webhooks.WebhookEvent.TICKET_CREATED)
    return ticket


def _emit(ticket: Ticket, event: str, **extra) -> None:
    """Tell the organisation's webhook receivers (accounts.platform.webhooks); never
    internal notes."""
    data = {
        "ticket": {
            "id": ticket.pk,
            "reference": ticket.reference,
            "subject": ticket.subject,
            "status": ticket.status,
            "category": ticket.category,
            "priority": ticket.priority,
            "department": ticket.department,
            "url": f"/api/v1/tickets/{ticket.pk}/",
        },
        **extra,
    }
    webhooks.event_emit(event=event, organisation_id=ticket.organisation_id, data=data)


def _about(requester: User, organisation: Organisation, about) -> tuple[str, int | None, str]:
    """The record a new ticket is about: one the requester may see, of this organisation."""
    if about is None:
        return "", None, ""
    kind, pk = about
    found = subjects.find(user=requester, kind=kind, pk=pk)
    if found is None or found[1].organisation_id != organisation.pk:
        raise ValidationError(
            _("The record this ticket is about is not one of this organisation's.")
        )
    subject, record = found
    return kind, pk, subject.name(record)[:200]


@transaction.atomic
def ticket_reply(
    *,
    ticket: Ticket,
    author: User,
    body: str,
    internal: bool = False,
    attachments=(),
    via_view_as: bool = False,
    now: datetime | None = None,
) -> Message:
    """Add to the thread.

    A staff reply is the first response; a customer reply resumes a paused clock.
    """
    ticket = _lock_visible(ticket, author)
    status_before = ticket.status
    if ticket.merged_into_id:
        raise ValidationError(
            _("This ticket was merged into %(ticket)s: write there.")
            % {"ticket": ticket.merged_into.reference}
        )
    if ticket.status == Status.CLOSED:
        raise ValidationError(_("This ticket is closed. Open a new one and mention its reference."))
    if internal and not author.is_employee:
        raise PermissionDenied(_("Only staff write internal notes."))
    attachments = _validate_uploads(attachments)
    now = now or timezone.now()
    message = Message.objects.create(
        ticket=ticket,
        author=author,
        body=body,
        is_internal=internal,
        via_view_as=via_view_as,
        created_at=now,
    )
    _attach(message, attachments)
    if author.is_employee and not internal:
        signals.staff_replied.send(sender=Message, organisation_id=ticket.organisation_id, at=now)
    if not internal:
        if author.is_employee:
            if ticket.first_responded_at is None:
                ticket.first_responded_at = now
            if ticket.status == Status.NEW:
                ticket.status = Status.OPEN
            outbox.enqueue_on_commit(tasks.notify_staff_reply, message.pk)
        elif ticket.status in (Status.WAITING_ON_CUSTOMER, Status.RESOLVED):
            _reopen(ticket, now)
    ticket.save()
    _mark_breach_if_late(ticket, now)
    if not internal:
        reply = {"id": message.pk, "body": body, "by_staff": author.is_employee}
        _emit(ticket, webhooks.WebhookEvent.TICKET_REPLIED, message=reply)
        if ticket.status != status_before:
            _emit(ticket, webhooks.WebhookEvent.TICKET_STATUS_CHANGED, previous=status_before)
    return message


def _changed(ticket: Ticket) -> None:
    """Tell the apps above (the account's health) that one of its tickets changed."""
    signals.ticket_changed.send(sender=Ticket, organisation_id=ticket.organisation_id)


def _lock_visible(ticket: Ticket, user: User) -> Ticket:
    """Re-read the ticket under a row lock, through the policy."""
    locked = (
        Ticket.objects.visible_to(user)
        .select_for_update(of=("self",))
        .select_related("organisation", "tier")
        .filter(pk=ticket.pk)
        .first()
    )
    if locked is None:
        raise PermissionDenied
    return locked


def _reopen(ticket: Ticket, now: datetime) -> None:
    ticket.status = Status.OPEN
    ticket.resolved_at = None
    ticket.closed_at = None
    _resume(ticket, now)


# Who may move a ticket from which status to which.
CUSTOMER_TRANSITIONS = {
    Status.RESOLVED: set(OPEN_STATUSES),
    Status.OPEN: {Status.RESOLVED},  # reopen
}
STAFF_TRANSITIONS = {
    Status.WAITING_ON_CUSTOMER: {Status.NEW, Status.OPEN},
    Status.OPEN: {Status.NEW, Status.WAITING_ON_CUSTOMER, Status.RESOLVED, Status.CLOSED},
    Status.RESOLVED: set(OPEN_STATUSES),
    Status.CLOSED: set(OPEN_STATUSES) | {Status.RESOLVED},
}


def allowed_transitions(ticket: Ticket, user: User) -> list[str]:
    table = STAFF_TRANSITIONS if user.is_employee else CUSTOMER_TRANSITIONS
    return [target for target, sources in table.items() if ticket.status in sources]


@transaction.atomic
def ticket_set_status(
    *, ticket: Ticket, by: User, status: str, now: datetime | None = None
) -> Ticket:
    ticket = _lock_visible(ticket, by)
    status_before = ticket.status
    if status not in allowed_transitions(ticket, by):
        raise ValidationError(
            _("A ticket that is %(status)s cannot be set to %(new_status)s by you.")
            % {
                "status": ticket.get_status_display().lower(),
                "new_status": Status(status).label.lower(),
            }
        )
    now = now or timezone.now()
    if status == Status.WAITING_ON_CUSTOMER:
        ticket.status = status
        _pause(ticket, now)
    elif status == Status.OPEN:
        _reopen(ticket, now)
    elif status == Status.RESOLVED:
        ticket.status = status
        ticket.resolved_at = ticket.resolved_at or now
        _pause(ticket, now)  # the clock stops; a reopen resumes it
        if by.is_employee:  # the customer did not do it themselves: tell them, ask for a rating
            outbox.enqueue_on_commit(tasks.notify_resolved, ticket.pk)
    elif status == Status.CLOSED:
        ticket.status = status
        ticket.resolved_at = ticket.resolved_at or now
        ticket.closed_at = now
        _pause(ticket, now)
    ticket.save()
    _mark_breach_if_late(ticket, now)
    _changed(ticket)
    _emit(ticket, webhooks.WebhookEvent.TICKET_STATUS_CHANGED, previous=status_before)
    if ticket.status == Status.RESOLVED:
        _emit(ticket, webhooks.WebhookEvent.TICKET_RESOLVED, previous=status_before)
    return ticket


@transaction.atomic
def ticket_triage(
    *,
    ticket: Ticket,
    by: User,
    assignee: User | None,
    department: str,
    priority: str,
    feedback_department: str = "",
    feedback_note: str = "",
) -> Ticket:
    """Staff route, assign, re-prioritise and flag a ticket as feedback."""
    if not by.is_employee:
        raise PermissionDenied(_("Only staff triage tickets."))
    ticket = _lock_visible(ticket, by)
    if assignee is not None and not assignee.is_employee:
        raise ValidationError({"assignee": _("Tickets are assigned to staff.")})
    if feedback_department and feedback_department not in FEEDBACK_DEPARTMENTS:
        raise ValidationError(
            {"feedback_department": _("Choose a department that takes feedback.")}
        )
    ticket.assignee = assignee
    ticket.department = department
    ticket.feedback_department = feedback_department
    ticket.feedback_note = feedback_note if feedback_department else ""
    if priority != ticket.priority:
        ticket.priority = priority
        sla_schedule(ticket)
    ticket.full_clean()
    ticket.save()
    return ticket


@transaction.atomic
def ticket_merge(
    *, duplicate: Ticket, into: Ticket, by: User, now: datetime | None = None
) -> Ticket:
    """Close `duplicate` and continue in `into`, the ticket that survives with its own SLA.

    Both threads are kept, each on its ticket, linked both ways; the duplicate's
    requester is told where the conversation goes on. The duplicate is not judged
    against the SLA (tickets/sla.py): it is the same request counted once.
    """
    if not by.is_employee:
        raise PermissionDenied
    first, second = sorted((duplicate, into), key=lambda ticket: ticket.pk)  # lock in one order
    locked = {ticket.pk: _lock_visible(ticket, by) for ticket in (first, second)}
    duplicate, into = locked[duplicate.pk], locked[into.pk]
    if duplicate.pk == into.pk:
        raise ValidationError({"into": _("A ticket cannot be merged into itself.")})
    if duplicate.organisation_id != into.organisation_id:
        raise ValidationError({"into": _("Only tickets of the same organisation can be merged.")})
    if duplicate.merged_into_id or into.merged_into_id:
        raise ValidationError({"into": _("One of these tickets was already merged.")})
    now = now or timezone.now()
    duplicate.merged_into = into
    duplicate.status = Status.CLOSED
    duplicate.resolved_at = duplicate.resolved_at or now
    duplicate.closed_at = now
    _pause(duplicate, now)
    duplicate.save()
    told = Message.objects.create(
        ticket=duplicate,
        author=by,
        body=f"We merged this request into {into.reference} ({into.subject}), where we "
        "continue: please reply there. This conversation stays here to read.",
        created_at=now,
    )
    Message.objects.create(
        ticket=into,
        author=by,
        body=f"{duplicate.reference} ({duplicate.subject}) was merged into this ticket.",
        is_internal=True,
        created_at=now,
    )
    outbox.enqueue_on_commit(tasks.notify_staff_reply, told.pk)  # the duplicate's requester
    _changed(duplicate)
    return duplicate


@transaction.atomic
def ticket_rate(
    *,
    ticket: Ticket,
    by: User,
    csat: int,
    effort: int,
    comment: str = "",
    only_first: bool = False,
) -> Rating:
    """The customer's CSAT and effort score on a resolved ticket (once; later edits replace it).

    `only_first` (the rating links in the email, single use): only a ticket not rated yet;
    the database's one-rating-per-ticket constraint decides between two at the same moment.
    """
    if by.is_employee:
        raise PermissionDenied(_("Ratings are the customer's own voice."))
    ticket = _lock_visible(ticket, by)
    if ticket.status not in DONE_STATUSES:
        raise ValidationError(_("A ticket can be rated once it is resolved."))
    values = {"csat": csat, "effort": effort, "comment": comment, "rated_by": by}
    if only_first:
        rating = Rating(ticket=ticket, **values)
        rating.full_clean(validate_unique=False)
        try:
            with transaction.atomic():
                rating.save(force_insert=True)
        except IntegrityError:
            raise ValidationError(_("Already rated: this link has been used.")) from None
    else:
        rating, _created = Rating.objects.update_or_create(ticket=ticket, defaults=values)
        rating.full_clean()
    _changed(ticket)
    return rating


# --- The periodic SLA scan ---------------------------------------------------------------


def sla_scan(*, now: datetime | None = None) -> dict[str, int]:
    """Mark breaches and send the 80 % warnings, set-based: one statement each.

    Run every minute by beat. Rows are claimed by the UPDATE itself, so two
    scans at once cannot warn twice.
    """
    now = now or timezone.now()
    # Late replies and resolutions are marked when they happen (_mark_breach_if_late), so
    # the scan only looks for clocks that ran out: each branch has a partial index.
    breached = (
        Ticket.objects.filter(status__in=OPEN_STATUSES, sla_breached_at__isnull=True)
        .filter(sla.ran_out(now))
        .update(sla_breached_at=now)
    )
    to_warn = list(
        Ticket.objects.filter(status__in=OPEN_STATUSES, sla_warned_at__isnull=True)
        .filter(sla.at_risk(now))
        .order_by()  # no ordering and no LIMIT: the partial indexes answer in a bitmap scan
        .values_list("pk", flat=True)
    )
    warned = Ticket.objects.filter(pk__in=to_warn, sla_warned_at__isnull=True).update(
        sla_warned_at=now
    )
    if to_warn:
        outbox.enqueue_on_commit(tasks.notify_sla_warnings, to_warn)
    return {"breached": breached, "warned": warned}


# --- Closing the loop -----------------------------------------------------------------------


@transaction.atomic
def improvement_create(
    *,
    by: User,
    department: str,
    title: str,
    description: str = "",
    owner: User | None = None,
    ticket_ids: list[int] = (),
) -> Improvement:
    """Turn flagged tickets into an improvement a department owns."""
    if not by.is_employee:
        raise PermissionDenied
    tickets = Ticket.objects.visible_to(by).filter(
        pk__in=ticket_ids, feedback_department=department
    )
    if len(ticket_ids) != tickets.count():
        raise ValidationError(
            {"tickets": _("Link only tickets you can see that are flagged for this department.")}
        )
    improvement = Improvement(
        department=department,
        title=title,
        description=description,
        owner=owner or by,
        created_by=by,
    )
    improvement.full_clean()
    improvement.save()
    tickets.update(improvement=improvement)
    return improvement


@transaction.atomic
def improvement_set_status(
    *, improvement: Improvement, by: User, status: str, what_changed: str = ""
) -> Improvement:
    """Move an improvement along; when done, tell every affected customer what changed."""
    if not by.is_employee:
        raise PermissionDenied
    improvement = Improvement.objects.select_for_update().get(pk=improvement.pk)
    if status == ImprovementStatus.DONE:
        if not what_changed.strip():
            raise ValidationError(
                {"what_changed": _("Say what changed: the customers will read it.")}
            )
        if improvement.status == ImprovementStatus.DONE:
            return improvement
        now = timezone.now()
        improvement.done_at = now
        improvement.what_changed = what_changed
        organisation_ids = set(improvement.tickets.values_list("organisation_id", flat=True))
        signals.improvement_done.send(
            sender=Improvement,
            improvement=improvement,
            organisation_ids=organisation_ids,
            at=now,
        )
        outbox.enqueue_on_commit(tasks.notify_improvement_done, improvement.pk)
    improvement.status = status
    improvement.save()
    return improvement
