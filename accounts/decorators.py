"""View guards shared by every customer screen."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _


def customer_screen(view):
    """A screen of one organisation: the customer's own, or staff viewing as them.

    Staff outside "view as" have no organisation to show, so they are sent
    to their workspace to pick one.
    """

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.organisation is None:
            if request.user.is_employee:
                messages.info(request, _("Choose an account and use “View as customer” first."))
            return redirect("home")
        return view(request, *args, **kwargs)

    return wrapper


def staff_only(view):
    """A staff tool: customers get the same 404 as for a page that does not exist."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_employee:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper
