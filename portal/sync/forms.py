"""Forms of the sync's staff screens."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Organisation


class NewOrganisationForm(forms.Form):
    """A legacy customer who is ours but has no organisation yet."""

    name = forms.CharField(max_length=200, label=gettext_lazy("Name"))
    customer_number = forms.CharField(max_length=32, label=gettext_lazy("Customer number"))

    def clean_customer_number(self) -> str:
        number = self.cleaned_data["customer_number"].strip()
        if Organisation.objects.filter(customer_number__iexact=number).exists():
            raise forms.ValidationError(
                _("Customer number %(number)s is already taken.") % {"number": number}
            )
        return number
