"""Rating a resolved ticket from the link in its email, without signing in."""

from django.core.exceptions import ValidationError
from django.shortcuts import render

from config.forms import add_service_errors
from tickets import rating_links, selectors, services
from tickets.forms import (
    RatingForm,
)


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
