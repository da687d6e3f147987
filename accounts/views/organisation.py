"""Which organisation a request is about: switching between one's organisations, and
staff viewing as the customer."""

from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts import policy, selectors, services
from accounts.models import Organisation
from accounts.platform.middleware import SESSION_ORGANISATION, SESSION_VIEW_AS, client_ip


@require_POST
def organisation_switch(request):
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    try:
        pk = int(request.POST.get("organisation", ""))
    except ValueError:
        raise Http404 from None
    organisation = selectors.customer_organisations(user=request.user).filter(pk=pk).first()
    if organisation is None:
        raise Http404
    request.session[SESSION_ORGANISATION] = organisation.pk
    return redirect("home")


@require_POST
def view_as_start(request, organisation_id: int):
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    organisation = selectors.organisation_get(user=request.user, pk=organisation_id)
    if not policy.can_view_as(request.user, organisation):
        raise Http404  # a customer of this organisation has nobody to view as
    services.view_as_start(
        user=request.user, organisation=organisation, ip_address=client_ip(request)
    )
    request.session[SESSION_VIEW_AS] = organisation.pk
    return redirect("home")


@require_POST
def view_as_exit(request):
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    organisation_id = request.session.pop(SESSION_VIEW_AS, None)
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is not None:
        services.view_as_end(
            user=request.user, organisation=organisation, ip_address=client_ip(request)
        )
    return redirect("home")
