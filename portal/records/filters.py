"""The order filter: one django-filter FilterSet for the Orders page, its CSV export and
the API, so the three read the same parameters with the same checks."""

import django_filters
from django.http import QueryDict

from config.api_filters import DataChoiceFilter, SelectorFilterSet
from portal.records import selectors
from portal.records.models import Order


class OrderFilter(SelectorFilterSet):
    search = django_filters.CharFilter(
        label="Search", max_length=100, help_text="Order number, product code or name contains."
    )
    status = DataChoiceFilter(
        label="Status",
        values=lambda request: selectors.order_statuses(user=request.user),
        help_text="The status as the screens show it (e.g. delivered, or the order entry's "
        "own word such as shipped); another value is a 400 naming those in use.",
    )
    date_from = django_filters.DateFilter(label="From", help_text="Ordered on or after this day.")
    date_to = django_filters.DateFilter(label="To", help_text="Ordered on or before this day.")

    @staticmethod
    def select(**filters):
        return selectors.order_list(**filters)


def order_filters(request) -> tuple[dict, dict[str, str]]:
    """The filters of the Orders page (and its export) in the query string, checked by the
    API's filter set: (order_list's filters, {parameter: why not} for the ones refused).

    The page is of the current organisation: an `organisation` parameter is not its own.
    Nothing given, nothing to check (the set's form would look up every status for it).
    """
    params: QueryDict = request.GET
    if not any(params.get(name) for name in OrderFilter.base_filters if name != "organisation"):
        return {}, {}
    data = params.copy()
    data.pop("organisation", None)
    form = OrderFilter(data, queryset=Order.objects.none(), request=request).form
    form.is_valid()
    filters = {name: value for name, value in form.cleaned_data.items() if value}
    filters.pop("organisation", None)
    errors = {
        name: f"{form.fields[name].label}: {' '.join(messages)}"
        for name, messages in form.errors.items()
    }
    return filters, errors
