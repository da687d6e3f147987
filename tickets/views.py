"""Ticket screens: the same pages for the customer and the staff working the ticket."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.choices import Department
from accounts.decorators import customer_screen, staff_only
from accounts.locale import zone_label
from accounts.platform.page_cache import page_cache, uncached
from config.exports import CHUNK_ROWS, csv_response, local_time, zone_now
from config.forms import add_service_errors, save_then_redirect
from config.views import query_without_page
from tickets import followers, queue, rating_links, selectors, services, subjects
from tickets.choices import ImprovementStatus, SlaState, Status
from tickets.forms import (
    BulkActionForm,
    CcForm,
    ImprovementForm,
    ImprovementStatusForm,
    MergeForm,
    RatingForm,
    ReplyForm,
    SavedViewForm,
    TicketForm,
    TriageForm,
)
from tickets.knowledge import selectors as kb_selectors
from tickets.models import SavedView

PAGE_SIZE = 25


def _page(request, rows):
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


@customer_screen
def ticket_list(request):
    kept = page_cache(request, "tickets", lambda: _list(request))
    return render(request, "tickets/list.html", {"page_cache": kept})


def _list_filters(request) -> dict:
    """The customer's ticket filters, as the list and its CSV export both read them."""
    params = request.GET
    requester = params.get("opened_by", "")
    department = params.get("department", "")
    return {
        "status": params.get("status", "open"),
        "search": params.get("q", "").strip()[:100],
        "department": department if department in Department.values else "",
        "requester_id": int(requester) if requester.isdigit() else None,
    }


def _list(request) -> dict:
    filters = _list_filters(request)
    tickets = selectors.ticket_list(user=request.user, organisation=request.organisation, **filters)
    return {
        "page": _page(request, tickets),
        **filters,
        "requesters": selectors.ticket_requesters(
            user=request.user, organisation=request.organisation
        ),
        "departments": Department.choices,
        "query": query_without_page(request),
        "filtered": any(filters[name] for name in ("search", "department", "requester_id")),
    }


@customer_screen
def ticket_list_csv(request):
    """The ticket list as CSV, with the filters the list was showing."""
    filters = _list_filters(request)
    tickets = (
        selectors.ticket_list(user=request.user, organisation=request.organisation, **filters)
        .select_related(None)
        .select_related("requester")
    )
    zone = zone_now()
    header = [_("Ticket"), _("Subject"), _("Opened by"), zone_label(_("Opened at")), _("Status")]
    header += [_("Priority"), _("Department"), _("SLA"), zone_label(_("Resolved at"))]
    rows = (
        [
            t.reference,
            t.subject,
            t.requester.full_name if t.requester else "",
            local_time(t.created_at, zone),
            t.get_status_display(),
            t.get_priority_display(),
            t.get_department_display(),
            SlaState(t.sla_state).label if t.sla_state else "",
            local_time(t.resolved_at, zone),
        ]
        for t in tickets.iterator(chunk_size=CHUNK_ROWS)
    )
    filters["requester_id"] = str(filters["requester_id"] or "")
    return csv_response(request, "tickets", header, rows, tickets.count(), filters)


@customer_screen
def ticket_create(request):
    about = _about_from_query(request)
    initial = {}
    if about:
        subject, record = about
        initial = {
            "about": f"{subject.kind}:{record.pk}",
            "subject": _("Question about %(record)s") % {"record": subject.name(record)},
            "category": subject.category,
        }
    form = TicketForm(request.POST or None, request.FILES or None, initial=initial)

    def save(data):
        return services.ticket_create(
            organisation=request.organisation,
            requester=request.user,
            via_view_as=request.viewing_as,
            **data,
        )

    saved = save_then_redirect(
        request,
        form,
        save,
        to=lambda ticket: ticket.get_absolute_url(),
        message=lambda ticket: (
            _("Ticket %(ticket)s is open. We will answer here.") % {"ticket": ticket.reference}
        ),
    )
    if saved:
        return saved
    status = 400 if form.errors else 200
    context = {"form": form, "about": about and about[0].name(about[1])}
    return render(request, "tickets/create.html", context, status=status)


def _about_from_query(request):
    """ "Open a ticket about this invoice": the record named by ?about=, which must be one
    of the current organisation's that this person may see (404 otherwise)."""
    if "about" not in request.GET:
        return None
    parsed = subjects.parse(request.GET["about"])
    found = parsed and subjects.find(user=request.user, kind=parsed[0], pk=parsed[1])
    if not found or found[1].organisation_id != request.organisation.pk:
        raise Http404
    return found


def _about_link(ticket, user) -> dict | None:
    """What the ticket is about, linked while the viewer may still see the record."""
    if not ticket.about_kind:
        return None
    found = subjects.find(user=user, kind=ticket.about_kind, pk=ticket.about_id)
    return {"name": ticket.about_name, "url": found[0].url(found[1]) if found else ""}


def _detail_context(request, ticket, **forms):
    """The ticket page with forms given here (one with errors, a canned reply inserted):
    not kept."""
    return {
        "ticket": ticket,
        "page_cache": uncached(lambda: _detail_content(request, ticket, **forms)),
    }


def _detail_content(request, ticket, **forms):
    user = request.user
    context = {
        "thread": selectors.ticket_thread(ticket=ticket, user=user),
        "transitions": services.allowed_transitions(ticket, user),
        "reply_form": forms.get("reply_form") or ReplyForm(initial={"kind": ReplyForm.REPLY}),
        "canned_replies": selectors.canned_replies(ticket=ticket) if user.is_employee else [],
        "kb_articles": kb_selectors.article_choices(user=user, ticket=ticket)
        if user.is_employee
        else [],
        "merge_form": user.is_employee
        and not ticket.merged_into_id
        and (forms.get("merge_form") or _merge_form(ticket, user)),
        "note_form": user.is_employee
        and (
            forms.get("note_form") or ReplyForm(initial={"kind": ReplyForm.NOTE}, auto_id="note_%s")
        ),
        "is_staff_view": user.is_employee,
        "about": _about_link(ticket, user),
        "cc_form": forms.get("cc_form") or CcForm(),
    }
    context["followers"] = selectors.ticket_follower_list(ticket=ticket)
    context["follower_ids"] = {follower.user_id for follower in context["followers"]}
    if user.is_employee:
        context["triage_form"] = forms.get("triage_form") or TriageForm(
            staff=selectors.staff_choices(),
            initial={
                "assignee": ticket.assignee_id,
                "department": ticket.department,
                "priority": ticket.priority,
                "feedback_department": ticket.feedback_department,
                "feedback_note": ticket.feedback_note,
            },
        )
    elif ticket.status in (Status.RESOLVED, Status.CLOSED):
        rating = getattr(ticket, "rating", None)
        initial = (
            {"csat": rating.csat, "effort": rating.effort, "comment": rating.comment}
            if rating
            else None
        )
        context["rating_form"] = forms.get("rating_form") or RatingForm(initial=initial)
    return context


def _inserted_text(request, ticket) -> str | None:
    """The text staff asked to insert into the reply box: a canned reply, or a link to a
    help article (?canned= / ?article=), or None."""
    canned, article = request.GET.get("canned", ""), request.GET.get("article", "")
    if canned.isdigit():
        return selectors.canned_reply_text(ticket=ticket, user=request.user, pk=int(canned))
    if article.isdigit():
        return kb_selectors.article_link_text(user=request.user, ticket=ticket, pk=int(article))
    return None


@login_required
def ticket_detail(request, pk: int):
    inserting = any(request.GET.get(name, "").isdigit() for name in ("canned", "article"))
    if request.user.is_employee and inserting:
        # "Insert": the reply box comes back filled in, to read and edit before sending.
        ticket = selectors.ticket_get(user=request.user, pk=pk)
        body = _inserted_text(request, ticket)
        form = ReplyForm(initial={"kind": ReplyForm.REPLY, "body": body})
        return render(
            request, "tickets/detail.html", _detail_context(request, ticket, reply_form=form)
        )
    ticket = selectors.ticket_heading(user=request.user, pk=pk)

    def fill() -> dict:
        whole = selectors.ticket_get(user=request.user, pk=pk)
        return {"ticket": whole, **_detail_content(request, whole)}

    kept = page_cache(request, "ticket", fill, organisation_ids=[ticket.organisation_id])
    return render(request, "tickets/detail.html", {"ticket": ticket, "page_cache": kept})


def _reply_sent(message) -> str:
    """What the person is told once their reply or note is saved."""
    if message.is_internal:
        return _("Internal note added: only staff see it.")
    return _("Reply sent on %(ticket)s.") % {"ticket": message.ticket.reference}


@require_POST
@login_required
def ticket_reply(request, pk: int):
    ticket = selectors.ticket_get(user=request.user, pk=pk)
    note = request.user.is_employee and request.POST.get("kind") != ReplyForm.REPLY
    form = ReplyForm(request.POST, request.FILES, auto_id="note_%s" if note else "id_%s")

    def save(data):
        return services.ticket_reply(
            ticket=ticket,
            author=request.user,
            body=data["body"],
            internal=form.is_note_by(request.user),
            attachments=data["attachments"],
            via_view_as=request.viewing_as,
        )

    saved = save_then_redirect(
        request, form, save, to=f"{ticket.get_absolute_url()}#latest", message=_reply_sent
    )
    if saved:
        return saved
    context = _detail_context(request, ticket, **{"note_form" if note else "reply_form": form})
    return render(request, "tickets/detail.html", context, status=400)


@require_POST
@login_required
def ticket_status(request, pk: int):
    ticket = selectors.ticket_get(user=request.user, pk=pk)
    try:
        services.ticket_set_status(
            ticket=ticket, by=request.user, status=request.POST.get("status", "")
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except ValueError:
        messages.error(request, _("Unknown status."))
    return redirect(ticket.get_absolute_url())


@require_POST
@staff_only
def ticket_triage(request, pk: int):
    ticket = selectors.ticket_get(user=request.user, pk=pk)
    form = TriageForm(request.POST, staff=selectors.staff_choices())
    saved = save_then_redirect(
        request,
        form,
        lambda data: services.ticket_triage(ticket=ticket, by=request.user, **data),
        to=ticket.get_absolute_url(),
        message=_("Ticket updated."),
    )
    if saved:
        return saved
    context = _detail_context(request, ticket, triage_form=form)
    return render(request, "tickets/detail.html", context, status=400)


def _merge_form(ticket, user, data=None) -> MergeForm:
    return MergeForm(data, candidates=selectors.merge_candidates(ticket=ticket, user=user))


@require_POST
@staff_only
def ticket_merge(request, pk: int):
    ticket = selectors.ticket_get(user=request.user, pk=pk)
    form = _merge_form(ticket, request.user, request.POST)
    saved = save_then_redirect(
        request,
        form,
        lambda data: services.ticket_merge(duplicate=ticket, into=data["into"], by=request.user),
        to=lambda duplicate: duplicate.merged_into.get_absolute_url(),
        message=lambda duplicate: (
            _("%(ticket)s is merged into %(into)s; its requester has been told.")
            % {"ticket": duplicate.reference, "into": duplicate.merged_into.reference}
        ),
    )
    if saved:
        return saved
    context = _detail_context(request, ticket, merge_form=form)
    return render(request, "tickets/detail.html", context, status=400)


@require_POST
@login_required
def ticket_rate(request, pk: int):
    ticket = selectors.ticket_get(user=request.user, pk=pk)
    form = RatingForm(request.POST)
    saved = save_then_redirect(
        request,
        form,
        lambda data: services.ticket_rate(ticket=ticket, by=request.user, **data),
        to=ticket.get_absolute_url(),
        message=_("Thank you: your rating helps us improve."),
    )
    if saved:
        return saved
    context = _detail_context(request, ticket, rating_form=form)
    return render(request, "tickets/detail.html", context, status=400)


@require_POST
@login_required
def ticket_follow(request, pk: int):
    """Follow the ticket, or stop (`stop`): hear about its answers and resolution."""
    ticket = selectors.ticket_get(user=request.user, pk=pk)
    try:
        if request.POST.get("stop"):
            followers.ticket_unfollow(ticket=ticket, user=request.user)
            messages.success(
                request, _("You no longer follow %(ticket)s.") % {"ticket": ticket.reference}
            )
        else:
            followers.ticket_follow(ticket=ticket, user=request.user)
            messages.success(
                request,
                _("You follow %(ticket)s: its answers reach you.") % {"ticket": ticket.reference},
            )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect(f"{ticket.get_absolute_url()}#followers")


@require_POST
@login_required
def ticket_cc(request, pk: int):
    """Copy a colleague of the ticket's organisation on it, by email address."""
    ticket = selectors.ticket_get(user=request.user, pk=pk)
    form = CcForm(request.POST)
    saved = save_then_redirect(
        request,
        form,
        lambda data: followers.ticket_cc(ticket=ticket, by=request.user, email=data["email"]),
        to=f"{ticket.get_absolute_url()}#followers",
        message=lambda follower: (
            _("%(person)s is copied on %(ticket)s.")
            % {"person": follower.user, "ticket": ticket.reference}
        ),
    )
    if saved:
        return saved
    context = _detail_context(request, ticket, cc_form=form)
    return render(request, "tickets/detail.html", context, status=400)


def ticket_rate_by_link(request, token: str):
    """A rating link from the "resolved" email (tickets/rating_links.py): no login needed."""
    found = rating_links.rating_link_read(token)
    if found is None:
        return render(request, "tickets/rate_link.html", {"expired": True}, status=404)
    ticket, score = found
    if hasattr(ticket, "rating"):
        return render(request, "tickets/rate_link.html", {"ticket": ticket, "done": True})
    form = RatingForm(request.POST or None, initial={"csat": score})
    if request.method == "POST" and form.is_valid():
        try:
            services.ticket_rate(
                ticket=ticket, by=ticket.requester, only_first=True, **form.cleaned_data
            )
        except ValidationError as error:
            if selectors.ticket_is_rated(ticket=ticket):
                # used at the same moment from another window: the first rating stands
                return render(request, "tickets/rate_link.html", {"ticket": ticket, "done": True})
            add_service_errors(form, error)
        else:
            return render(request, "tickets/rate_link.html", {"ticket": ticket, "thanks": True})
    status = 400 if form.errors else 200
    return render(
        request, "tickets/rate_link.html", {"ticket": ticket, "form": form}, status=status
    )


@login_required
def inbound_email_download(request, pk: int):
    """An email as it was received (.eml), for staff (tickets/inbound.py keeps it)."""
    record = selectors.inbound_email_get(user=request.user, pk=pk)
    if not record.raw:
        raise Http404(_("This email is no longer kept."))
    return FileResponse(
        record.raw.open("rb"),
        as_attachment=True,
        filename=f"email-{record.pk}.eml",
        content_type="message/rfc822",
    )


@login_required
def attachment_download(request, pk: int):
    attachment = selectors.attachment_get(user=request.user, pk=pk)
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )


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
        "page": _page(request, tickets),
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


def _insights_department(request) -> str:
    default = request.user.department if request.user.kind == "support_agent" else ""
    department = request.GET.get("department", default)
    return department if department in Department.values else ""


@staff_only
def insights(request):
    department = _insights_department(request)
    flagged = selectors.flagged_feedback(user=request.user, department=department)
    return render(
        request,
        "tickets/insights.html",
        {
            "department": department,
            "departments": Department.choices,
            "data": selectors.department_insights(user=request.user, department=department),
            "flagged": flagged,
            "improvements": selectors.improvement_list(department=department)[:50],
            "form": ImprovementForm(),
        },
    )


@require_POST
@staff_only
def improvement_create(request):
    department = request.POST.get("department", "")
    if department not in Department.values:
        messages.error(request, _("Choose a department first."))
        return redirect("tickets:insights")
    flagged = selectors.flagged_feedback(user=request.user, department=department)
    form = ImprovementForm(request.POST, ticket_choices=[(t.pk, t.reference) for t in flagged])
    if form.is_valid():
        try:
            improvement = services.improvement_create(
                by=request.user,
                department=department,
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                ticket_ids=form.cleaned_data["tickets"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Improvement created."))
            return redirect("tickets:improvement", improvement.pk)
    else:
        messages.error(request, _("Give the improvement a title and pick flagged tickets."))
    return redirect(f"{reverse('tickets:insights')}?department={department}")


@staff_only
def improvement_detail(request, pk: int):
    improvement, tickets = selectors.improvement_get(user=request.user, pk=pk)
    form = ImprovementStatusForm(request.POST or None, initial={"status": improvement.status})
    saved = save_then_redirect(
        request,
        form,
        lambda data: services.improvement_set_status(
            improvement=improvement, by=request.user, **data
        ),
        to=reverse("tickets:improvement", args=[improvement.pk]),
        message=lambda saved: (
            _("Done. The affected customers have been told.")
            if saved.status == ImprovementStatus.DONE
            else ""
        ),
    )
    if saved:
        return saved
    return render(
        request,
        "tickets/improvement.html",
        {"improvement": improvement, "tickets": tickets, "form": form},
        status=400 if form.errors else 200,
    )
