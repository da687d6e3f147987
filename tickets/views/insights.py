"""Staff: what tickets teach each department, and the improvements made of it."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.choices import Department
from accounts.decorators import staff_only
from config.forms import save_then_redirect
from tickets import selectors, services
from tickets.choices import ImprovementStatus
from tickets.forms import (
    ImprovementForm,
    ImprovementStatusForm,
)


def _insights_department(request) -> str:
    default = request.user.department if request.user.kind == "support_agent" else ""
    department = request.GET.get("department", default)
    return department if department in Department.values else ""


@staff_only
def insights(request):
    department = _insights_department(request)
    flagged = selectors.flagged_feedback(user=request.user, department=department)
    return render(
        request,
        "tickets/insights.html",
        {
            "department": department,
            "departments": Department.choices,
            "data": selectors.department_insights(user=request.user, department=department),
            "flagged": flagged,
            "improvements": selectors.improvement_list(department=department)[:50],
            "form": ImprovementForm(),
        },
    )


@require_POST
@staff_only
def improvement_create(request):
    department = request.POST.get("department", "")
    if department not in Department.values:
        messages.error(request, _("Choose a department first."))
        return redirect("tickets:insights")
    flagged = selectors.flagged_feedback(user=request.user, department=department)
    form = ImprovementForm(request.POST, ticket_choices=[(t.pk, t.reference) for t in flagged])
    if form.is_valid():
        try:
            improvement = services.improvement_create(
                by=request.user,
                department=department,
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                ticket_ids=form.cleaned_data["tickets"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Improvement created."))
            return redirect("tickets:improvement", improvement.pk)
    else:
        messages.error(request, _("Give the improvement a title and pick flagged tickets."))
    return redirect(f"{reverse('tickets:insights')}?department={department}")


@staff_only
def improvement_detail(request, pk: int):
    improvement, tickets = selectors.improvement_get(user=request.user, pk=pk)
    form = ImprovementStatusForm(request.POST or None, initial={"status": improvement.status})
    saved = save_then_redirect(
        request,
        form,
        lambda data: services.improvement_set_status(
            improvement=improvement, by=request.user, **data
        ),
        to=reverse("tickets:improvement", args=[improvement.pk]),
        message=lambda saved: (
            _("Done. The affected customers have been told.")
            if saved.status == ImprovementStatus.DONE
            else ""
        ),
    )
    if saved:
        return saved
    return render(
        request,
        "tickets/improvement.html",
        {"improvement": improvement, "tickets": tickets, "form": form},
        status=400 if form.errors else 200,
    )
