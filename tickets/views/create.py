"""Opening a ticket, about a record when the person came from one."""

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.decorators import customer_screen
from config.forms import save_then_redirect
from tickets import services, subjects
from tickets.forms import (
    TicketForm,
)


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
