"""Forms of the customer's record pages."""

from django import forms


class ReorderForm(forms.Form):
    """An order's lines with a quantity each (the original to start with; 0 leaves one
    out), and notes for order entry."""

    notes = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="A delivery date, an address, a product to swap: order entry reads it.",
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
                help_text=f"Last time {line.quantity.normalize():f}. 0 leaves it out.",
            )
        self.order_fields([*(f"line_{line.pk}" for line in lines), "notes"])

    def quantities(self) -> dict:
        """The quantity asked per line id; a line left empty is not in it."""
        values = {line.pk: self.cleaned_data[f"line_{line.pk}"] for line in self.lines}
        return {pk: value for pk, value in values.items() if value is not None}
