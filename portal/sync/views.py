"""The identity review queue: legacy customers waiting to be matched."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts import selectors as account_selectors
from accounts.decorators import staff_only
from portal.sync import identity
from portal.sync.identity import Suggester
from portal.sync.models import CustomerIdentity


@staff_only
def identity_queue(request):
    """Customers of legacy systems nobody has matched yet, with suggestions."""
    pending = CustomerIdentity.objects.filter(organisation__isnull=True).order_by(
        "system", "external_name"
    )
    page = Paginator(pending, 50).get_page(request.GET.get("page"))
    choices = account_selectors.organisation_list(user=request.user)
    suggester = Suggester(choices)
    rows = [(pending_identity, suggester.suggest(pending_identity)) for pending_identity in page]
    return render(
        request,
        "portal/identity_queue.html",
        {"page": page, "rows": rows, "organisations": choices.only("pk", "name")},
    )


@require_POST
@staff_only
def identity_match(request, pk: int):
    """Match a waiting customer to one of the organisations this person may see."""
    pending = get_object_or_404(CustomerIdentity.objects.filter(organisation__isnull=True), pk=pk)
    try:
        organisation = account_selectors.organisation_get(
            user=request.user, pk=int(request.POST.get("organisation", ""))
        )
    except ValueError:
        raise Http404 from None
    linked = identity.identity_match(identity=pending, organisation=organisation, by=request.user)
    messages.success(
        request, f"{pending.external_name} is now {organisation.name}: {linked} records linked."
    )
    return redirect("portal:identity_queue")
