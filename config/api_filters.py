"""The API's generic list filter: django-filter parameters handed to a selector.

Apps declare a `SelectorFilterSet` per list whose `select(**filters)` calls the
selector the screens use, so the API filters exactly as the pages do, under the
same access policy. Kept apart from config/api.py, which DRF's settings import
while its views are being defined.
"""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import filters
from rest_framework.exceptions import ValidationError

from accounts.models import Organisation


def visible_organisations(request):
    return Organisation.objects.visible_to(request.user)


def not_one_of(value: str, allowed) -> str:
    """The 400's message of a filter value the list does not know: what it does know."""
    return f"“{value}” is not one of: {', '.join(map(str, allowed))}."


class NamedChoiceFilter(django_filters.ChoiceFilter):
    """A choice filter whose 400 names the values it takes."""

    @property
    def field(self):
        field = super().field
        allowed = [value for value, _ in field.choices if value != ""]
        field.error_messages["invalid_choice"] = not_one_of("%(value)s", allowed)
        return field


@extend_schema_field(OpenApiTypes.STR)
class DataChoiceFilter(NamedChoiceFilter):
    """Choices that come from the data the requester may see (e.g. the statuses a legacy
    system uses), asked for only when the filter is given: `values(request)`. The schema
    says "string"; a value outside them is a 400 naming them, like any choice."""

    def __init__(self, *, values, **kwargs):
        self.values = values
        super().__init__(choices=[], **kwargs)

    @property
    def field(self):
        request = getattr(getattr(self, "parent", None), "request", None)
        if request is None:  # the schema's look at the class: build it, keep nothing
            self.extra["choices"] = []
            field = super().field
            del self._field  # or every filter set copied from the class would share it
            return field
        if "_field" not in self.__dict__:
            self.extra["choices"] = [(value, value) for value in self.values(request)]
        return super().field


class SelectorFilterSet(django_filters.FilterSet):
    """Filters whose cleaned values are handed to a selector as keyword arguments."""

    organisation = django_filters.ModelChoiceFilter(
        queryset=visible_organisations, help_text="Only this organisation's records."
    )

    @staticmethod
    def select(**filters):
        raise NotImplementedError

    def filter_queryset(self, queryset):
        given = {name: value for name, value in self.form.cleaned_data.items() if value}
        return self.select(user=self.request.user, **given)


class SelectorFilterBackend(django_filters.rest_framework.DjangoFilterBackend):
    """django-filter's backend; with no filter in the query, the selector unfiltered.

    Nothing to validate then, and making the filter set (its deep copies, its form
    with the organisation choices under the policy) costs more than the page itself.
    """

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset_class(view, queryset)
        given = request.query_params
        if filterset is None or any(name in given for name in filterset.base_filters):
            return super().filter_queryset(request, queryset, view)
        return filterset.select(user=request.user)


class StrictOrderingFilter(filters.OrderingFilter):
    """DRF's ordering, one of the view's `ordering_fields` ("-" before it for descending).

    DRF drops an unknown field silently and serves the default order: a client that
    misspells a field would page through the wrong order without knowing. Here it is a
    400 naming the values it takes, and the schema lists them.
    """

    def allowed(self, view) -> list[str]:
        return [term for name in view.ordering_fields for term in (name, f"-{name}")]

    def get_ordering(self, request, queryset, view):
        given = request.query_params.get(self.ordering_param, "").strip()
        if not given:
            return self.get_default_ordering(view)
        allowed = self.allowed(view)
        if given not in allowed:
            raise ValidationError({self.ordering_param: [not_one_of(given, allowed)]})
        return [given]

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"] = {"type": "string", "enum": self.allowed(view)}
        return parameters
