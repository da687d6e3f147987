"""Staff screens of the sync: the identity review queue (legacy customers waiting to be
matched), and the sources with their runs, a running one's counters followed live."""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import staff_only
from accounts.models import Organisation
from accounts.policy import managed_organisation_ids
from portal.sync import identity, selectors, tasks
from portal.sync.forms import NewOrganisationForm

QUEUE_PAGE = 50


def matchers_only(view):
    """The identity screens: for the people who decide which organisation a legacy
    customer is (identity.may_match); other staff and customers get a 404."""

    @staff_only
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not identity.may_match(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


@matchers_only
def identity_queue(request):
    """Customers of legacy systems waiting for a person, those whose decision releases the
    most records first."""
    system, search = request.GET.get("system", ""), request.GET.get("q", "").strip()
    ordered = selectors.identity_queue_by_release(system=system, search=search)
    page = Paginator(ordered, QUEUE_PAGE).get_page(request.GET.get("page"))
    found = selectors.identity_queue().in_bulk([pk for pk, _ in page])
    waiting_list = [found[pk] for pk, _ in page if pk in found]
    organisations = selectors.candidate_organisations(waiting_list)
    managed = managed_organisation_ids(request.user)
    rows = []
    for (_score, released), waiting in zip(page, waiting_list, strict=False):
        best = _candidates(waiting, organisations)[:1]
        # Accepting is for the accounts the user manages (accounts.policy.may_decide_identity).
        mine = bool(best) and (managed is None or best[0][0].pk in managed)
        rows.append((waiting, best, mine, released))
    held_count, held = selectors.held_records()
    return render(
        request,
        "portal/identity_queue.html",
        {
            "page": page,
            "rows": rows,
            "held_count": held_count,
            "held": held,
            "systems": selectors.identity_systems(),
            "system": system,
            "search": search,
        },
    )


def _candidates(waiting, organisations: dict) -> list[tuple]:
    """(organisation, score, why) for each of the engine's candidates still there."""
    return [
        (organisations[c["organisation"]], c["score"], c["why"])
        for c in waiting.candidates
        if c["organisation"] in organisations
    ]


@matchers_only
def identity_detail(request, pk: int):
    """One legacy customer: what its system says, the ranked candidates and why, a search
    over every organisation, and what a decision would make visible to whom."""
    subject = selectors.identity_get(pk=pk, user=request.user)
    search = request.GET.get("q", "").strip()
    found = selectors.organisation_search(search=search, user=request.user)
    if request.htmx and request.GET.get("picker"):
        return render(request, "portal/identity_picker.html", {"subject": subject, "found": found})
    _remember_skip(request)
    chosen = _chosen(request)
    candidates = _candidates(subject, selectors.candidate_organisations([subject]))
    managed = managed_organisation_ids(request.user)
    # The top candidate, offered to accept with one key when the user may choose it.
    top = candidates[0][0] if candidates else None
    top = top if top and (managed is None or top.pk in managed) else None
    shown = chosen or subject.organisation or top
    records = selectors.record_counts([subject]).get(subject.pk, {})
    return render(
        request,
        "portal/identity.html",
        {
            "subject": subject,
            "candidates": candidates,
            "side_by_side": candidates[:3],
            "top": top,
            "next": selectors.identity_next(after=subject.pk, skipped=_skipped(request)),
            "search": search,
            "found": found,
            "chosen": chosen,
            "records": records,
            "total": sum(records.values()),
            "people": selectors.people_by_organisation([shown]).get(shown.pk, 0) if shown else 0,
            "history": selectors.identity_history(subject),
        },
    )


SKIPPED = "identity_skipped"


def _skipped(request) -> list[int]:
    return request.session.get(SKIPPED, [])


def _remember_skip(request) -> None:
    """?skip=<pk>: the reviewer passed that customer by; the review goes on without it
    (for this session)."""
    skip = request.GET.get("skip", "")
    if skip.isdigit() and int(skip) not in _skipped(request):
        request.session[SKIPPED] = [*_skipped(request), int(skip)][-500:]


def _onwards(request, subject):
    """After a decision: the next customer to review when the reviewer works through the
    queue (`next`), the queue otherwise."""
    if request.POST.get("next") == "1":
        following = selectors.identity_next(after=subject.pk, skipped=_skipped(request))
        if following:
            return redirect("portal:identity", pk=following.pk)
    return redirect("portal:identity_queue")


def _chosen(request) -> Organisation | None:
    """The organisation picked for the confirmation step (?organisation=pk), if it is one
    the user may match onto."""
    try:
        pk = int(request.GET.get("organisation", ""))
    except ValueError:
        return None
    return selectors.decidable_organisations(request.user).filter(pk=pk).first()


@require_POST
@matchers_only
def identity_match(request, pk: int):
    """Match a legacy customer to the organisation confirmed on its page."""
    subject = selectors.identity_get(pk=pk, user=request.user)
    try:
        organisation = selectors.decidable_organisations(request.user).get(
            pk=int(request.POST.get("organisation", ""))
        )
    except (ValueError, Organisation.DoesNotExist):
        raise Http404 from None  # an account the user does not manage is as good as none
    linked = identity.identity_match(identity=subject, organisation=organisation, by=request.user)
    messages.success(
        request,
        _("%(external_name)s is now %(name)s: %(linked)s records linked.")
        % {"external_name": subject.external_name, "name": organisation.name, "linked": linked},
    )
    return _onwards(request, subject)


@require_POST
@matchers_only
def identity_unmatch(request, pk: int):
    """Undo a decision: the records are hidden again and the customer waits in the queue."""
    subject = selectors.identity_get(pk=pk, user=request.user)
    hidden = identity.identity_match(identity=subject, organisation=None, by=request.user)
    messages.success(
        request,
        _("%(external_name)s waits for a decision again: %(hidden)s records hidden.")
        % {"external_name": subject.external_name, "hidden": hidden},
    )
    return redirect("portal:identity", pk=subject.pk)


@require_POST
@matchers_only
def identity_not_ours(request, pk: int):
    """Say the legacy customer is none of ours: its records stay hidden."""
    subject = selectors.identity_get(pk=pk, user=request.user)
    identity.identity_not_ours(identity=subject, by=request.user)
    messages.success(
        request,
        _("%(external_name)s is marked as not our customer.")
        % {"external_name": subject.external_name},
    )
    return _onwards(request, subject)


@require_POST
@matchers_only
def identity_new_organisation(request, pk: int):
    """Make a new organisation of a legacy customer (admins), and match it."""
    if not request.user.is_portal_admin:
        raise PermissionDenied(_("Only admins create organisations."))
    subject = selectors.identity_get(pk=pk, user=request.user)
    form = NewOrganisationForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("portal:identity", pk=subject.pk)
    organisation = identity.organisation_from_identity(
        identity=subject, by=request.user, **form.cleaned_data
    )
    messages.success(
        request, _("%(name)s is a new organisation, matched.") % {"name": organisation.name}
    )
    return redirect("portal:identity_queue")


@require_POST
@matchers_only
def identity_accept(request):
    """Accept the top candidate of several waiting customers: first a confirmation that
    says what becomes visible to whom, then (with `confirm`) the matches."""
    ids = [int(pk) for pk in request.POST.getlist("identity") if pk.isdigit()]
    waiting = list(selectors.identity_queue().filter(pk__in=ids).exclude(candidates=[]))
    managed = managed_organisation_ids(request.user)
    if managed is not None and any(w.candidates[0]["organisation"] not in managed for w in waiting):
        raise Http404  # bulk accept onto an account the user does not manage: an admin's
    if request.POST.get("confirm") != "1":
        return render(request, "portal/identity_accept.html", {"plan": _accept_plan(waiting)})
    organisations = selectors.candidate_organisations(waiting)
    linked = 0
    for subject in waiting:
        top = organisations.get(subject.candidates[0]["organisation"])
        if top:
            linked += identity.identity_match(identity=subject, organisation=top, by=request.user)
    messages.success(
        request,
        _("%(len)s customers matched: %(linked)s records linked.")
        % {"len": len(waiting), "linked": linked},
    )
    return redirect("portal:identity_queue")


def _accept_plan(waiting: list) -> list[tuple]:
    """(identity, organisation, score, why, records, people) for the confirmation page."""
    organisations = selectors.candidate_organisations(waiting)
    people = selectors.people_by_organisation(organisations.values())
    records = {pk: sum(kinds.values()) for pk, kinds in selectors.record_counts(waiting).items()}
    plan = []
    for subject in waiting:
        top = subject.candidates[0]
        organisation = organisations.get(top["organisation"])
        if organisation:
            plan.append(
                (
                    subject,
                    organisation,
                    top["score"],
                    top["why"],
                    records.get(subject.pk, 0),
                    people.get(organisation.pk, 0),
                )
            )
    return plan


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
        raise PermissionDenied(_("Only admins start sync runs."))
    source = selectors.source_get(pk=pk)
    full = request.POST.get("full") == "1"
    if tasks.source_sync_queue([source.pk], full=full):
        messages.warning(
            request, _("The task queue is not answering: the run waits until it is back.")
        )
    else:
        messages.success(
            request,
            (_("A full run of %(name)s is queued.") if full else _("A run of %(name)s is queued."))
            % {"name": source.name},
        )
    return redirect("portal:sync_source", pk=source.pk)
