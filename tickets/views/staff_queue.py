"""Staff: the ticket queue, its saved views and its bulk actions."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.choices import Department
from accounts.decorators import staff_only
from accounts.platform.page_cache import page_cache
from config.views import query_without_page
from tickets import queue, selectors
from tickets.choices import SlaState
from tickets.forms import (
    BulkActionForm,
    SavedViewForm,
)
from tickets.models import SavedView
from tickets.views.ticket_list import page


@staff_only
def ticket_queue(request):
    """Staff: the tickets they work, across accounts (agents: their department's queue).
    Without filters in the URL, the person's default view opens."""
    if not request.GET:
        default = queue.default_view(user=request.user)
        if default and default.query:
            return redirect(f"{reverse('tickets:queue')}?{default.query}")
    kept = page_cache(request, "queue", lambda: _queue(request), across_accounts=True)
    return render(request, "tickets/queue.html", {"page_cache": kept})


def _queue(request) -> dict:
    filters = queue.queue_filters(request.GET)
    tickets = selectors.ticket_list(
        user=request.user,
        status=filters["status"],
        sla_state=filters["sla"],
        department=filters["department"],
        search=filters["q"],
        assigned=filters["assigned"],
    )
    current = queue.filters_query(filters)
    views = [
        {"view": view, "active": view.query == current, "url": f"?{view.query}"}
        for view in queue.saved_views(user=request.user)
    ]
    return {
        "page": page(request, tickets),
        **filters,
        "filters": filters,
        "query": query_without_page(request),
        "departments": Department.choices,
        "sla_states": SlaState.choices,
        "views": views,
        "view_form": SavedViewForm(),
        "bulk_form": BulkActionForm(staff=selectors.staff_choices()),
    }


def _back_to_queue(request):
    """To the queue as it was shown (its filters came along as hidden fields)."""
    query = queue.filters_query(queue.queue_filters(request.POST))
    return redirect(f"{reverse('tickets:queue')}?{query}")


@require_POST
@staff_only
def saved_view_save(request):
    form = SavedViewForm(request.POST)
    if form.is_valid():
        try:
            view = queue.saved_view_save(
                owner=request.user, filters=request.POST, **form.cleaned_data
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    else:
        messages.error(request, _("Give the view a name (80 characters at most)."))
    return _back_to_queue(request)


@require_POST
@staff_only
def saved_view_delete(request, pk: int):
    try:
        queue.saved_view_delete(owner=request.user, pk=pk)
    except SavedView.DoesNotExist:
        raise Http404 from None
    messages.success(request, _("View deleted."))
    return _back_to_queue(request)


def _bulk_done(action: str, done: list[str]) -> str:
    """What a bulk action did, in the reader's language (each verb its own sentence: word
    order and plurals differ between languages)."""
    count = len(done)
    values = {"count": count, "tickets": ", ".join(done)}
    if action == "assign":
        text = ngettext(
            "Assigned %(count)d ticket: %(tickets)s.",
            "Assigned %(count)d tickets: %(tickets)s.",
            count,
        )
    elif action == "route":
        text = ngettext(
            "Routed %(count)d ticket: %(tickets)s.", "Routed %(count)d tickets: %(tickets)s.", count
        )
    else:
        text = ngettext(
            "Status set on %(count)d ticket: %(tickets)s.",
            "Status set on %(count)d tickets: %(tickets)s.",
            count,
        )
    return text % values


@require_POST
@staff_only
def ticket_bulk(request):
    """One action on the tickets ticked in the queue; what was refused is named, with why."""
    form = BulkActionForm(request.POST, staff=selectors.staff_choices())
    if not form.is_valid():
        errors = [error for errors in form.errors.values() for error in errors]
        messages.error(request, " ".join(errors))
        return _back_to_queue(request)
    try:
        outcome = queue.tickets_bulk_act(
            by=request.user,
            ticket_ids=form.ticket_ids(),
            action=form.cleaned_data["action"],
            value=form.value(),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _back_to_queue(request)
    if outcome.done:
        messages.success(request, _bulk_done(form.cleaned_data["action"], outcome.done))
    if outcome.refused:
        reasons = "; ".join(f"{ref}: {why.rstrip('.')}" for ref, why in outcome.refused)
        messages.error(
            request,
            _("Not changed (%(count)d): %(reasons)s.")
            % {"count": len(outcome.refused), "reasons": reasons},
        )
    return _back_to_queue(request)
