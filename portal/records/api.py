"""API: orders with lines, shipments and invoices.

List filters are the selectors' own parameters (the screens pass the same
ones), declared with django-filter so they are validated and documented.
"""

from rest_framework import viewsets
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from config.api import cursor_pagination, rendered, rendered_page
from config.api_filters import (
    DataChoiceFilter,
    NamedChoiceFilter,
    SelectorFilterBackend,
    SelectorFilterSet,
    StrictOrderingFilter,
)
from portal.records import selectors
from portal.records.filters import OrderFilter
from portal.records.models import (
    Invoice,
    Order,
    Shipment,
)
from portal.records.serializers import (
    InvoiceSerializer,
    OrderSerializer,
    ShipmentSerializer,
    documents_from_database,
    order_documents,
    order_rows_with_lines,
)


class ShipmentFilter(SelectorFilterSet):
    status = DataChoiceFilter(
        values=lambda request: selectors.shipment_statuses(user=request.user),
        help_text="The carrier's status, e.g. delivered; another value is a 400 naming those "
        "in use.",
    )

    @staticmethod
    def select(**filters):
        return selectors.shipment_list(**filters).select_related("source")


class InvoiceFilter(SelectorFilterSet):
    state = NamedChoiceFilter(choices=list(selectors.INVOICE_STATES.items()))

    @staticmethod
    def select(**filters):
        return selectors.invoice_list(**filters).select_related("source")


class RecordViewSet(viewsets.ReadOnlyModelViewSet):
    """Rows come from the selector the filter set calls (filter_queryset). The queryset
    here is empty, so nothing is shown should the filter backend ever be taken away."""

    lookup_value_converter = "int"
    filter_backends = [SelectorFilterBackend, StrictOrderingFilter]

    def get_queryset(self):
        return self.queryset.none()


class OrderViewSet(RecordViewSet):
    """Orders from the order-entry system, newest first, each with its lines."""

    queryset = Order.objects.none()  # the model, for the schema; rows come from the selector

    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    ordering_fields = ["ordered_at", "number"]
    pagination_class = cursor_pagination("-ordered_at", "-pk")

    def list(self, request, *args, **kwargs):
        orders = self.filter_queryset(self.get_queryset())
        if not documents_from_database():
            page = self.paginate_queryset(order_rows_with_lines(orders))
            return self.get_paginated_response(self.get_serializer(page, many=True).data)
        page = self.paginate_queryset(order_documents(orders))
        return rendered_page(self.paginator, [order["document"] for order in page])

    def retrieve(self, request, *args, **kwargs):
        orders = self.filter_queryset(self.get_queryset()).filter(pk=kwargs["pk"])
        if not documents_from_database():
            found = order_rows_with_lines(orders).first()
            if found is None:
                raise NotFound
            return Response(self.get_serializer(found).data)
        found = order_documents(orders).first()
        if found is None:
            raise NotFound
        return rendered(found["document"])


class ShipmentViewSet(RecordViewSet):
    """Shipments from the fulfilment system, latest shipped first."""

    queryset = Shipment.objects.none()  # the model, for the schema; rows come from the selector

    serializer_class = ShipmentSerializer
    filterset_class = ShipmentFilter
    ordering_fields = ["shipped_at", "tracking_number"]
    pagination_class = cursor_pagination("-pk")


class InvoiceViewSet(RecordViewSet):
    """Invoices from the billing system, newest first, with their state."""

    queryset = Invoice.objects.none()  # the model, for the schema; rows come from the selector

    serializer_class = InvoiceSerializer
    filterset_class = InvoiceFilter
    ordering_fields = ["issued_on", "number"]
    pagination_class = cursor_pagination("-issued_on", "-pk")
