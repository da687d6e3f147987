"""Forms of the value pages: the period to analyse."""

from datetime import date

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.value.selectors import Period, trailing_months

DEFAULT_MONTHS = 12
PERIOD_CHOICES = [
    ("3", _("Last 3 months")),
    ("6", _("Last 6 months")),
    ("12", _("Last 12 months")),
    ("24", _("Last 24 months")),
    ("custom", _("Dates below")),
]
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ValuePeriodForm(forms.Form):
    """Trailing months (12 by default) or two dates; dates alone mean "these dates"."""

    period = forms.ChoiceField(choices=PERIOD_CHOICES, required=False, label=_("Period"))
    start = forms.DateField(required=False, label=_("From"), widget=DATE_WIDGET)
    end = forms.DateField(required=False, label=_("To"), widget=DATE_WIDGET)

    def __init__(self, data=None, **kwargs):
        # No choice made (a first visit, or only ?page=): show the default as chosen,
        # or the select would show its first option over a 12-month analysis.
        if data is not None and not any(data.get(name) for name in ("period", "start", "end")):
            data = data.copy()
            data["period"] = str(DEFAULT_MONTHS)
        super().__init__(data, **kwargs)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        custom = data.get("period") == "custom" or start or end
        if not custom or self.errors:
            return data
        data["period"] = "custom"
        if start is None:
            self.add_error("start", _("Give the first day of the period."))
        if end is None:
            self.add_error("end", _("Give the last day of the period."))
        if start and end and end < start:
            self.add_error("end", _("The last day cannot come before the first."))
        return data

    def get_period(self, *, today: date | None = None) -> Period:
        """The chosen period; the default one when nothing (valid) was chosen."""
        today = today or timezone.localdate()
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        if data.get("period") == "custom":
            return Period(start=data["start"], end=data["end"])
        return trailing_months(int(data.get("period") or DEFAULT_MONTHS), today=today)

    def query_string(self) -> str:
        """The chosen period as URL parameters, for links that keep it (pagination, tabs)."""
        if not (self.is_bound and self.is_valid()):
            return ""
        data = self.cleaned_data
        if data.get("period") == "custom":
            return f"period=custom&start={data['start']:%Y-%m-%d}&end={data['end']:%Y-%m-%d}"
        return f"period={data['period']}" if data.get("period") else ""
