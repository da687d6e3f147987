"""An account manager hands over their own role on an account, or names cover for it."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import cover as cover_services
from accounts import selectors
from accounts.decorators import staff_only
from accounts.models import User
from config.forms import add_service_errors


class StaffChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.full_name} ({obj.email})"


class OwnHandoverForm(forms.Form):
    to_user = StaffChoice(queryset=User.objects.none(), label=gettext_lazy("Hand my role to"))
    note = forms.CharField(
        label=gettext_lazy("Note for them"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "What they need to know about the account. The customer never sees it."
        ),
    )
    new_backup = StaffChoice(
        queryset=User.objects.none(),
        required=False,
        label=gettext_lazy("New backup account manager"),
        help_text=gettext_lazy(
            "Needed when the account would be left without one (e.g. the backup takes over)."
        ),
    )
    without_backup = forms.BooleanField(
        required=False, label=gettext_lazy("No backup for now (you get a task to name one)")
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_user"].queryset = candidates
        self.fields["new_backup"].queryset = candidates


class CoverForm(forms.Form):
    cover = StaffChoice(queryset=User.objects.none(), label=gettext_lazy("Who covers"))
    until = forms.DateField(
        label=gettext_lazy("Last day"), widget=forms.DateInput(attrs={"type": "date"})
    )
    note = forms.CharField(
        label=gettext_lazy("Note for them"), widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cover"].queryset = candidates


class BackupForm(forms.Form):
    backup = StaffChoice(queryset=User.objects.none(), label=gettext_lazy("Backup account manager"))

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["backup"].queryset = candidates


@staff_only
def own_team(request, pk: int):
    organisation = selectors.organisation_get(user=request.user, pk=pk)
    term = cover_services.own_term(user=request.user, organisation_id=organisation.pk)
    candidates = selectors.handoff_candidates(leaving=request.user)
    action = request.POST.get("action", "")
    handover = OwnHandoverForm(
        request.POST if action == "handover" else None, candidates=candidates, prefix="handover"
    )
    cover = CoverForm(
        request.POST if action == "cover" else None,
        candidates=candidates,
        prefix="cover",
        initial={"until": timezone.localdate()},
    )
    backup = BackupForm(
        request.POST if action == "backup" else None, candidates=candidates, prefix="backup"
    )
    forms_by_action = {"handover": handover, "cover": cover, "backup": backup}
    try:
        if action == "backup" and backup.is_valid():
            named = cover_services.backup_name(
                by=request.user, organisation_id=organisation.pk, **backup.cleaned_data
            )
            messages.success(
                request,
                _("%(user)s is the backup of %(organisation)s.")
                % {"user": named.user, "organisation": organisation.name},
            )
            return redirect("accounts:own_team", organisation.pk)
        if action == "handover" and handover.is_valid():
            cover_services.own_handover(
                by=request.user, organisation_id=organisation.pk, **handover.cleaned_data
            )
            messages.success(
                request,
                _("%(organisation)s is handed over; the customer is told.")
                % {"organisation": organisation.name},
            )
            return redirect("home")
        if action == "cover" and cover.is_valid():
            named = cover_services.cover_name(
                by=request.user, organisation_id=organisation.pk, **cover.cleaned_data
            )
            messages.success(
                request,
                _("%(user)s covers %(organisation)s to %(until)s.")
                % {
                    "user": named.user,
                    "organisation": organisation.name,
                    "until": date_format(named.until),
                },
            )
            return redirect("accounts:own_team", organisation.pk)
        if action == "end_cover":
            cover_services.cover_end(by=request.user, organisation_id=organisation.pk)
            messages.success(request, _("Cover ended."))
            return redirect("accounts:own_team", organisation.pk)
    except ValidationError as error:
        add_service_errors(forms_by_action.get(action, handover), error)
    team = selectors.account_team(organisation=organisation)
    context = {
        "organisation": organisation,
        "term": term,
        "team": team,
        "current_cover": team.get("cover_am"),
        "handover_form": handover,
        "cover_form": cover,
        "backup_form": backup,
    }
    status = 400 if any(form.errors for form in forms_by_action.values()) else 200
    return render(request, "accounts/own_team.html", context, status=status)
