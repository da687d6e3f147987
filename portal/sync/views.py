"""Staff screens of the sync: the identity review queue (legacy customers waiting to be
matched), and the sources with their runs, a running one's counters followed live."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts import selectors as account_selectors
from accounts.decorators import staff_only
from portal import tasks
from portal.sync import identity, selectors
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


@staff_only
def source_list(request):
    """Every legacy system the portal reads, how its latest run went."""
    sources = list(selectors.source_list())
    latest = selectors.latest_runs(sources)
    rows = [(source, latest.get(source.latest_run_id)) for source in sources]
    return render(request, "portal/sync/sources.html", {"rows": rows})


@staff_only
def source_detail(request, pk: int):
    """One source: its recent runs, the running one's counters moving as it goes."""
    source = selectors.source_get(pk=pk)
    return render(
        request,
        "portal/sync/source.html",
        {"source": source, "runs": selectors.source_runs(source=source)},
    )


@staff_only
def run_progress(request, pk: int):
    """A run's counters (htmx polls this while the run is running)."""
    run = selectors.run_get(pk=pk)
    return render(request, "portal/sync/run_progress.html", {"run": run})


@require_POST
@staff_only
def source_run_now(request, pk: int):
    """Queue a run of the source (portal admins, as in Django admin)."""
    if not request.user.is_portal_admin:
        raise PermissionDenied("Only admins start sync runs.")
    source = selectors.source_get(pk=pk)
    full = request.POST.get("full") == "1"
    if tasks.source_sync_queue([source.pk], full=full):
        messages.warning(
            request, "The task queue is not answering: the run waits until it is back."
        )
    else:
        messages.success(
            request, f"{'A full run' if full else 'A run'} of {source.name} is queued."
        )
    return redirect("portal:sync_source", pk=source.pk)
