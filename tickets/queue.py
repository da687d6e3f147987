"""The staff ticket queue's saved views and bulk actions.

A saved view is the queue's filters kept under a name (the query string the filters
form makes, reduced to the filters the queue knows). A bulk action applies one
single-ticket service (tickets/services.py: `ticket_triage` to assign or route,
`ticket_set_status`) to each ticket chosen, so each change is checked, audited and
announced exactly as on the ticket's own page. The tickets come through the access
policy: one the person may not see is refused by name, never changed, and the others
still go ahead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _

from accounts.choices import Department
from accounts.models import User
from tickets import services
from tickets.choices import SlaState
from tickets.models import SavedView, Ticket

# The queue's filters, each with the values it takes (None: free text) and its default.
ASSIGNED_CHOICES = ("mine", "unassigned")
QUEUE_STATUSES = ("open", "done", "all")
MAX_BULK = 100  # tickets in one bulk action: four pages of the queue


def queue_filters(params: QueryDict | dict) -> dict[str, str]:
    """The queue's filters read from a query string; an unknown value is no filter."""

    def pick(name: str, allowed, default: str = "") -> str:
        value = params.get(name, default) or default
        return value if value in allowed else default

    return {
        "q": (params.get("q", "") or "").strip()[:100],
        "assigned": pick("assigned", ASSIGNED_CHOICES),
        "status": pick("status", QUEUE_STATUSES, "open"),
        "sla": pick("sla", SlaState.values),
        "department": pick("department", Department.values),
    }


def filters_query(filters: dict[str, str]) -> str:
    """The query string of a set of filters, without the empty ones, in a fixed order: two
    views with the same filters have the same query."""
    return urlencode({name: value for name, value in sorted(filters.items()) if value})


# --- Saved views ---------------------------------------------------------------------------


def saved_views(*, user: User) -> QuerySet[SavedView]:
    """The views a person may open: their own, and those shared with their department."""
    shared = Q(department=user.department) if user.department else Q(pk__in=[])
    return (
        SavedView.objects.filter(Q(owner=user) | shared)
        .select_related("owner")
        .only("pk", "name", "query", "department", "is_default", "owner__full_name")
    )


def default_view(*, user: User) -> SavedView | None:
    return SavedView.objects.filter(owner=user, is_default=True).first()


@transaction.atomic
def saved_view_save(
    *, owner: User, name: str, filters: dict[str, str], shared: bool = False, default: bool = False
) -> SavedView:
    """Keep the filters under a name (saving a name again replaces its filters).

    `shared`: for the owner's department too (only agents have one); `default`: the view
    the queue opens for its owner, in place of their previous default."""
    if not owner.is_employee:
        raise PermissionDenied(_("Saved views are for the staff queue."))
    name = " ".join(name.split())[:80]
    if not name:
        raise ValidationError({"name": _("Give the view a name.")})
    if shared and not owner.department:
        raise ValidationError({"shared": _("Only a department's agents share views with it.")})
    if default:
        SavedView.objects.filter(owner=owner, is_default=True).exclude(name=name).update(
            is_default=False
        )
    view, _created = SavedView.objects.update_or_create(
        owner=owner,
        name=name,
        defaults={
            "query": filters_query(queue_filters(filters)),
            "department": owner.department if shared else "",
            "is_default": default,
        },
    )
    return view


def saved_view_delete(*, owner: User, pk: int) -> None:
    """Delete one of the owner's own views (another's, shared or not, is not found)."""
    deleted, _by_model = SavedView.objects.filter(owner=owner, pk=pk).delete()
    if not deleted:
        raise SavedView.DoesNotExist


# --- Bulk actions --------------------------------------------------------------------------

ASSIGN, ROUTE, STATUS = "assign", "route", "status"


@dataclass
class BulkOutcome:
    """What a bulk action did: the references changed, and each refused one with why."""

    done: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def _reference(pk: int) -> str:
    return Ticket(pk=pk).reference


def _one(ticket: Ticket, by: User, action: str, value) -> None:
    """One ticket, through the single-ticket service that does this on its own page."""
    if action == STATUS:
        services.ticket_set_status(ticket=ticket, by=by, status=value)
        return
    services.ticket_triage(
        ticket=ticket,
        by=by,
        assignee=value if action == ASSIGN else ticket.assignee,
        department=value if action == ROUTE else ticket.department,
        priority=ticket.priority,
        feedback_department=ticket.feedback_department,
        feedback_note=ticket.feedback_note,
    )


def tickets_bulk_act(*, by: User, ticket_ids: list[int], action: str, value) -> BulkOutcome:
    """Assign (`value`: a staff member, or None to unassign), route (a department) or set
    the status of many tickets. Each ticket is changed in its own transaction by its own
    service; a refusal of one (not visible to `by`, a status it cannot move to) leaves the
    others to go ahead and is reported with its reason."""
    if not by.is_employee:
        raise PermissionDenied(_("Bulk actions are for staff."))
    if action not in (ASSIGN, ROUTE, STATUS):
        raise ValidationError(_("Unknown bulk action."))
    ids = list(dict.fromkeys(ticket_ids))  # in the order chosen, once each
    if not ids:
        raise ValidationError(_("Choose at least one ticket."))
    if len(ids) > MAX_BULK:
        raise ValidationError(
            _("Choose at most %(count)d tickets at a time.") % {"count": MAX_BULK}
        )
    found = {
        ticket.pk: ticket
        for ticket in Ticket.objects.visible_to(by)
        .filter(pk__in=ids)
        .select_related("organisation", "assignee")
    }
    outcome = BulkOutcome()
    for pk in ids:
        ticket = found.get(pk)
        if ticket is None:  # missing, or not the person's to see: the same answer
            outcome.refused.append((_reference(pk), _("not among the tickets you may act on")))
            continue
        try:
            _one(ticket, by, action, value)
        except (ValidationError, PermissionDenied, IntegrityError) as error:
            reason = " ".join(getattr(error, "messages", [])) or _("not yours to change")
            outcome.refused.append((ticket.reference, reason))
        else:
            outcome.done.append(ticket.reference)
    return outcome
