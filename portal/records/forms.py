"""Forms of the customer's record pages."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class ReorderForm(forms.Form):
    """An order's lines with a quantity each (the original to start with; 0 leaves one
    out), and notes for order entry."""

    notes = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label=gettext_lazy("Notes"),
        help_text=gettext_lazy(
            "A delivery date, an address, a product to swap: order entry reads it."
        ),
    )

    def __init__(self, *args, lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            label = " ".join(filter(None, [line.product_code, line.product_name]))
            self.fields[f"line_{line.pk}"] = forms.DecimalField(
                label=label,
                min_value=0,
                required=False,  # left empty: the quantity of last time
                max_digits=12,
                decimal_places=3,
                initial=line.quantity.normalize(),
                help_text=_("Last time %(quantity)s. 0 leaves it out.")
                % {"quantity": f"{line.quantity.normalize():f}"},
            )
        self.order_fields([*(f"line_{line.pk}" for line in lines), "notes"])

    def quantities(self) -> dict:
        """The quantity asked per line id; a line left empty is not in it."""
        values = {line.pk: self.cleaned_data[f"line_{line.pk}"] for line in self.lines}
        return {pk: value for pk, value in values.items() if value is not None}
