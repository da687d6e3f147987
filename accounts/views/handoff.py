"""Handoff: an admin hands a leaving person's accounts over to colleagues."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import policy, selectors, services
from accounts.cover import without_backup
from accounts.forms import (
    HandoffForm,
)
from config.forms import save_then_redirect


@login_required
def team_handoff(request):
    """An admin hands a leaving or reassigned staff member's accounts to others."""
    if not request.user.is_employee:
        raise Http404
    if not policy.sees_everything(request.user):
        raise PermissionDenied
    leaving = _handoff_leaving(request.GET.get("from") or request.POST.get("from"))
    form = None
    if leaving is not None:
        form = HandoffForm(
            request.POST or None,
            terms=selectors.handoff_terms(user=leaving),
            candidates=selectors.handoff_candidates(leaving=leaving),
            leaving=leaving,
        )
        saved = _handoff_save(request, form, leaving)
        if saved:
            return saved
    response = render(
        request,
        "accounts/handoff.html",
        {
            "staff": selectors.handoff_staff(),
            "leaving": leaving,
            "form": form,
            "recent": selectors.handoff_recent(),
        },
    )
    response.status_code = 400 if form is not None and form.errors else 200
    return response


def _handoff_leaving(raw: str | None):
    if not raw:
        return None
    try:
        pk = int(raw)
    except ValueError:
        raise Http404 from None
    leaving = selectors.handoff_staff().filter(pk=pk).first()
    if leaving is None:
        raise Http404
    return leaving


def _handoff_save(request, form: HandoffForm, leaving):
    def message(started) -> str:
        text = ngettext(
            "%(count)d account role handed over from %(person)s. The new holders get the notes "
            "by email; the customers hear who looks after them now.",
            "%(count)d account roles handed over from %(person)s. The new holders get the notes "
            "by email; the customers hear who looks after them now.",
            len(started),
        ) % {"count": len(started), "person": leaving}
        # A backup who took over leaves no backup: say so (their AM gets a task to name one).
        missing = without_backup(organisation_ids={a.organisation_id for a in started})
        if missing:
            text += " " + _("Now without a backup account manager: %(accounts)s; name one.") % {
                "accounts": ", ".join(missing)
            }
        return text

    return save_then_redirect(
        request,
        form,
        lambda data: services.team_handoff(from_user=leaving, moves=form.moves(), by=request.user),
        to="accounts:team_handoff",
        message=message,
    )
