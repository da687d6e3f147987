"""The API's generic list filter: django-filter parameters handed to a selector.

Apps declare a `SelectorFilterSet` per list whose `select(**filters)` calls the
selector the screens use, so the API filters exactly as the pages do, under the
same access policy. Kept apart from config/api.py, which DRF's settings import
while its views are being defined.
"""

import django_filters

from accounts.models import Organisation


def visible_organisations(request):
    return Organisation.objects.visible_to(request.user)


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
