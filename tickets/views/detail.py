"""A ticket's page: the same page for the customer and the staff working the ticket."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.platform.page_cache import page_cache, uncached
from tickets import selectors, services, subjects
from tickets.choices import Status
from tickets.forms import (
    CcForm,
    MergeForm,
    RatingForm,
    ReplyForm,
    TriageForm,
)
from tickets.knowledge import selectors as kb_selectors


def _about_link(ticket, user) -> dict | None:
    """What the ticket is about, linked while the viewer may still see the record."""
    if not ticket.about_kind:
        return None
    found = subjects.find(user=user, kind=ticket.about_kind, pk=ticket.about_id)
    return {"name": ticket.about_name, "url": found[0].url(found[1]) if found else ""}


def detail_context(request, ticket, **forms):
    """The ticket page with forms given here (one with errors, a canned reply inserted):
    not kept."""
    return {
        "ticket": ticket,
        "page_cache": uncached(lambda: _detail_content(request, ticket, **forms)),
    }


def _detail_content(request, ticket, **forms):
    user = request.user
    context = {
        "thread": selectors.ticket_page_thread(ticket=ticket, user=user),
        "merged_tickets": selectors.merged_tickets(ticket=ticket),
        "transitions": services.allowed_transitions(ticket, user),
        "reply_form": forms.get("reply_form") or ReplyForm(initial={"kind": ReplyForm.REPLY}),
        "canned_replies": selectors.canned_reply_titles(ticket=ticket) if user.is_employee else [],
        "kb_articles": kb_selectors.article_choices(user=user, ticket=ticket)
        if user.is_employee
        else [],
        "merge_form": user.is_employee
        and not ticket.merged_into_id
        and (forms.get("merge_form") or merge_form(ticket, user)),
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
            staff_names=selectors.staff_names(),
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
            request, "tickets/detail.html", detail_context(request, ticket, reply_form=form)
        )
    ticket = selectors.ticket_page(user=request.user, pk=pk)

    def fill() -> dict:
        return {"ticket": ticket, **_detail_content(request, ticket)}

    kept = page_cache(request, "ticket", fill, organisation_ids=[ticket.organisation_id])
    return render(request, "tickets/detail.html", {"ticket": ticket, "page_cache": kept})


def merge_form(ticket, user, data=None) -> MergeForm:
    return MergeForm(
        data,
        candidates=selectors.merge_candidates(ticket=ticket, user=user),
        shown=selectors.merge_choices(ticket=ticket, user=user),
    )
