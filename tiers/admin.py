from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _

from accounts.admin import OrganisationAdmin
from tiers import ical, services
from tiers.calendar import Window, check_windows
from tiers.models import (
    BusinessHoursWindow,
    ExchangeRate,
    Holiday,
    ServiceTier,
    SlaTarget,
    SupportCalendar,
    TierAssignment,
)

ICAL_MAX_BYTES = 1024 * 1024
SKIPPED_SHOWN = 20


class SlaTargetInline(admin.TabularInline):
    model = SlaTarget
    extra = 0
    min_num = 1


@admin.register(ServiceTier)
class ServiceTierAdmin(admin.ModelAdmin):
    list_display = ["name", "rank", "annual_fee", "currency", "clock", "executive_sponsor_promised"]
    search_fields = ["name"]
    inlines = [SlaTargetInline]
    fieldsets = [
        (None, {"fields": ["name", "rank", "tagline"]}),
        ("Price", {"fields": ["annual_fee", "currency", "list_price_discount_percent"]}),
        ("Perks", {"fields": ["perks"]}),
        ("SLA clock", {"fields": ["clock", "support_calendar"]}),
        (
            "Promises",
            {
                "fields": [
                    "review_every_days",
                    "health_check_every_days",
                    "executive_sponsor_promised",
                    "sponsor_contact_every_days",
                ]
            },
        ),
        ("Value fit", {"fields": ["value_top_percent"]}),
    ]


class WindowFormSet(BaseInlineFormSet):
    def clean(self):
        """Windows of one day must not overlap (the calendar's rule, tiers/calendar.py)."""
        super().clean()
        windows = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            if None in (data.get("weekday"), data.get("opens"), data.get("closes")):
                continue  # the row itself reports what is missing
            try:
                windows.append(Window(data["weekday"], data["opens"], data["closes"]))
            except ValueError:
                continue  # the row's own check says it opens after it closes
        try:
            check_windows(windows)
        except ValueError as error:
            message = str(error)
            raise ValidationError(f"{message[0].upper()}{message[1:]}.") from None


class WindowInline(admin.TabularInline):
    model = BusinessHoursWindow
    formset = WindowFormSet
    extra = 0
    min_num = 1

    def get_formset(self, request, obj=None, **kwargs):
        # A calendar without hours would never run the clock: refuse to leave it empty.
        return super().get_formset(request, obj, validate_min=True, **kwargs)


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0
    fields = ["date", "name"]


class HolidayImportForm(forms.Form):
    file = forms.FileField(
        label="iCal file (.ics)",
        help_text="Its all-day events become holidays; dates already here are kept.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > ICAL_MAX_BYTES:
            raise ValidationError(_("The file is over 1 MB: a holiday calendar is far smaller."))
        return upload


@admin.register(SupportCalendar)
class SupportCalendarAdmin(admin.ModelAdmin):
    """Business hours shared by tiers: weekly windows and holidays, importable from iCal."""

    list_display = ["name", "time_zone", "hours_label"]
    search_fields = ["name"]
    inlines = [WindowInline, HolidayInline]

    @admin.display(description="hours")
    def hours_label(self, obj):
        return obj.hours_label

    def get_urls(self):
        return [
            path(
                "<path:object_id>/import-holidays/",
                self.admin_site.admin_view(self.import_holidays_view),
                name="tiers_supportcalendar_import_holidays",
            ),
            *super().get_urls(),
        ]

    def import_holidays_view(self, request, object_id):
        calendar = self.get_object(request, object_id)
        if calendar is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, calendar):
            raise PermissionDenied
        form = HolidayImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = services.holidays_import_ical(
                    calendar=calendar, content=form.cleaned_data["file"].read()
                )
            except ValidationError as error:
                form.add_error("file", error)
            else:
                self._report(request, calendar, result)
                return redirect(reverse("admin:tiers_supportcalendar_change", args=[calendar.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Import holidays into {calendar}",
            "opts": self.opts,
            "original": calendar,
            "form": form,
            "recurring_years": ical.RECURRING_YEARS,
        }
        return TemplateResponse(
            request, "admin/tiers/supportcalendar/import_holidays.html", context
        )

    def _report(self, request, calendar, result: services.HolidayImport) -> None:
        text = f"Added {result.added} holiday{'s' if result.added != 1 else ''} to {calendar}"
        if result.already_there == 1:
            text += "; 1 of the file's dates was a holiday already"
        elif result.already_there:
            text += f"; {result.already_there} of the file's dates were holidays already"
        messages.success(request, f"{text}.")
        for line in result.skipped[:SKIPPED_SHOWN]:
            messages.warning(request, f"Skipped {line}.")
        if len(result.skipped) > SKIPPED_SHOWN:
            messages.warning(
                request, f"… and {len(result.skipped) - SKIPPED_SHOWN} more events skipped."
            )


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    """Planning rates for the value pages: invoices in a currency without one are left out."""

    list_display = ["currency", "rate", "updated_at"]
    search_fields = ["currency"]


@admin.register(TierAssignment)
class TierAssignmentAdmin(admin.ModelAdmin):
    """Adding a row changes an organisation's tier; rows are history and stay as they are."""

    list_display = ["organisation", "tier", "started_at", "ended_at", "changed_by", "reason"]
    list_filter = ["tier", ("ended_at", admin.EmptyFieldListFilter)]
    search_fields = ["organisation__name", "organisation__customer_number"]
    list_select_related = ["organisation", "tier", "changed_by"]
    autocomplete_fields = ["organisation"]
    fields = ["organisation", "tier", "reason"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = services.tier_assign(
            organisation=obj.organisation, tier=obj.tier, by=request.user, reason=obj.reason
        )
        obj.pk = saved.pk


class TierHistoryInline(admin.TabularInline):
    model = TierAssignment
    extra = 0
    can_delete = False
    fields = ["tier", "started_at", "ended_at", "changed_by", "reason"]
    readonly_fields = fields
    verbose_name_plural = "Tier history (change it under Tiers › Tier assignments)"

    def has_add_permission(self, request, obj=None):
        return False


# accounts comes first and knows nothing of tiers; tiers adds its history to the page.
OrganisationAdmin.inlines = [*OrganisationAdmin.inlines, TierHistoryInline]
