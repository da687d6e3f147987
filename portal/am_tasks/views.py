"""The task list of account managers: their tasks by when due, done, snooze, a new one."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.decorators import staff_only
from accounts.models import Organisation
from config.forms import save_then_redirect
from portal.am_tasks import selectors, services

SNOOZE_DAYS = (1, 3, 7)


class TaskForm(forms.Form):
    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.none(), label=gettext_lazy("Account")
    )
    title = forms.CharField(max_length=200, label=gettext_lazy("What"))
    due_on = forms.DateField(
        label=gettext_lazy("Due"), widget=forms.DateInput(attrs={"type": "date"})
    )
    details = forms.CharField(
        required=False, label=gettext_lazy("Details"), widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.visible_to(user).order_by(
            "name"
        )
        self.fields["title"].widget.attrs["autofocus"] = True


@staff_only
def task_list(request):
    today = timezone.localdate()
    form = TaskForm(request.POST or None, user=request.user, initial={"due_on": today})
    saved = save_then_redirect(
        request,
        form,
        lambda data: services.am_task_create(
            by=request.user,
            organisation_id=data["organisation"].pk,
            title=data["title"],
            due_on=data["due_on"],
            details=data["details"],
        ),
        to="portal:am_tasks",
        message=lambda task: (
            _("Task added for %(organisation)s.") % {"organisation": task.organisation.name}
        ),
    )
    if saved:
        return saved
    context = {
        "buckets": selectors.my_task_buckets(user=request.user, today=today),
        "done": selectors.recently_done(user=request.user),
        "form": form,
    }
    return render(request, "portal/am_tasks/list.html", context, status=400 if form.errors else 200)


def _back(request):
    """Back where the button was pressed (My accounts, the queue, the list)."""
    target = request.POST.get("next") or request.headers.get("referer", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("portal:am_tasks")


@require_POST
@staff_only
def task_done(request, pk: int):
    task = services.am_task_done(by=request.user, pk=pk)
    messages.success(request, _("Done: %(task)s") % {"task": task.title})
    return _back(request)


@require_POST
@staff_only
def task_snooze(request, pk: int):
    days = request.POST.get("days", "")
    if not days.isdigit() or int(days) not in SNOOZE_DAYS:
        messages.error(request, _("Snooze for 1, 3 or 7 days."))
        return _back(request)
    until = timezone.localdate() + timedelta(days=int(days))
    try:
        task = services.am_task_snooze(by=request.user, pk=pk, until=until)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("Snoozed until %(day)s: %(task)s")
            % {"day": date_format(until, "j M"), "task": task.title},
        )
    return _back(request)
