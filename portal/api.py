"""API: orders with lines, shipments, invoices, the timeline, and an AM's accounts.

List filters are the selectors' own parameters (the screens pass the same
ones), declared with django-filter so they are validated and documented.
"""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import filters, generics, serializers, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts.models import Organisation
from accounts.selectors import organisation_get
from config.api import IsEmployee, cursor_pagination, rendered, rendered_page
from portal import selectors
from portal.models import Invoice, Order, Shipment
from portal.serializers import (
    InvoiceSerializer,
    ManagedAccountSerializer,
    OrderSerializer,
    ShipmentSerializer,
    TimelineEntrySerializer,
    order_documents,
)


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


class OrderFilter(SelectorFilterSet):
    search = django_filters.CharFilter(help_text="Order number, product code or name contains.")
    status = django_filters.CharFilter(help_text="The order-entry system's status, e.g. shipped.")
    date_from = django_filters.DateFilter(help_text="Ordered on or after this day.")
    date_to = django_filters.DateFilter(help_text="Ordered on or before this day.")

    @staticmethod
    def select(**filters):
        return selectors.order_list(**filters)


class ShipmentFilter(SelectorFilterSet):
    status = django_filters.CharFilter(help_text="The carrier's status, e.g. delivered.")

    @staticmethod
    def select(**filters):
        return selectors.shipment_list(**filters).select_related("source")


class InvoiceFilter(SelectorFilterSet):
    state = django_filters.ChoiceFilter(choices=list(selectors.INVOICE_STATES.items()))

    @staticmethod
    def select(**filters):
        return selectors.invoice_list(**filters).select_related("source")


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


class RecordViewSet(viewsets.ReadOnlyModelViewSet):
    """Rows come from the selector the filter set calls (filter_queryset). The queryset
    here is empty, so nothing is shown should the filter backend ever be taken away."""

    lookup_value_converter = "int"
    filter_backends = [SelectorFilterBackend, filters.OrderingFilter]

    def get_queryset(self):
        return self.queryset.none()


class OrderViewSet(RecordViewSet):
    queryset = Order.objects.none()  # the model, for the schema; rows come from the selector
    """Orders from the order-entry system, newest first, each with its lines."""

    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    ordering_fields = ["ordered_at", "number"]
    pagination_class = cursor_pagination("-ordered_at", "-pk")

    def list(self, request, *args, **kwargs):
        orders = order_documents(self.filter_queryset(self.get_queryset()))
        page = self.paginate_queryset(orders)
        return rendered_page(self.paginator, [order["document"] for order in page])

    def retrieve(self, request, *args, **kwargs):
        orders = self.filter_queryset(self.get_queryset()).filter(pk=kwargs["pk"])
        found = order_documents(orders).first()
        if found is None:
            raise NotFound
        return rendered(found["document"])


class ShipmentViewSet(RecordViewSet):
    queryset = Shipment.objects.none()  # the model, for the schema; rows come from the selector
    """Shipments from the fulfilment system, latest shipped first."""

    serializer_class = ShipmentSerializer
    filterset_class = ShipmentFilter
    ordering_fields = ["shipped_at", "tracking_number"]
    pagination_class = cursor_pagination("-pk")


class InvoiceViewSet(RecordViewSet):
    queryset = Invoice.objects.none()  # the model, for the schema; rows come from the selector
    """Invoices from the billing system, newest first, with their state."""

    serializer_class = InvoiceSerializer
    filterset_class = InvoiceFilter
    ordering_fields = ["issued_on", "number"]
    pagination_class = cursor_pagination("-issued_on", "-pk")


class TimelineQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(selectors.TIMELINE_KINDS), required=False)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)


class TimelineView(generics.GenericAPIView):
    serializer_class = TimelineEntrySerializer

    @extend_schema(
        operation_id="organisations_timeline",
        parameters=[TimelineQuerySerializer],
        responses=TimelineEntrySerializer(many=True),
    )
    def get(self, request, pk: int):
        """Every touchpoint across departments, newest first."""
        organisation = organisation_get(user=request.user, pk=pk)
        query = TimelineQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        entries = selectors.timeline(organisation=organisation, **query.validated_data)
        return Response(TimelineEntrySerializer(entries, many=True).data)


class ManagedAccountViewSet(viewsets.ReadOnlyModelViewSet):
    """For staff: the accounts you look after, with what needs attention."""

    queryset = Organisation.objects.none()  # the model, for the schema
    lookup_value_converter = "int"
    serializer_class = ManagedAccountSerializer
    permission_classes = [IsEmployee]
    pagination_class = cursor_pagination("name", "pk")

    def get_queryset(self):
        return selectors.workspace_accounts(user=self.request.user)
