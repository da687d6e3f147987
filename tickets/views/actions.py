"""What a person does on a ticket's page: reply, change status, triage, merge, rate,
follow, copy a colleague. A refused form shows the ticket page again with its errors."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import staff_only
from config.forms import save_then_redirect
from tickets import followers, selectors, services
from tickets.forms import (
    CcForm,
    RatingForm,
    ReplyForm,
    TriageForm,
)
from tickets.views.detail import detail_context, merge_form


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
    context = detail_context(request, ticket, **{"note_form" if note else "reply_form": form})
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
    form = TriageForm(
        request.POST, staff=selectors.staff_choices(), staff_names=selectors.staff_names()
    )
    saved = save_then_redirect(
        request,
        form,
        lambda data: services.ticket_triage(ticket=ticket, by=request.user, **data),
        to=ticket.get_absolute_url(),
        message=_("Ticket updated."),
    )
    if saved:
        return saved
    context = detail_context(request, ticket, triage_form=form)
    return render(request, "tickets/detail.html", context, status=400)


@require_POST
@staff_only
def ticket_merge(request, pk: int):
    ticket = selectors.ticket_get(user=request.user, pk=pk)
    form = merge_form(ticket, request.user, request.POST)
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
    context = detail_context(request, ticket, merge_form=form)
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
    context = detail_context(request, ticket, rating_form=form)
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
    context = detail_context(request, ticket, cc_form=form)
    return render(request, "tickets/detail.html", context, status=400)
