"""API: tickets, their threads, resolving, reopening and rating."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.choices import Department
from config.api import cursor_pagination
from config.api_filters import (
    NamedChoiceFilter,
    SelectorFilterBackend,
    SelectorFilterSet,
    StrictOrderingFilter,
)
from tickets import selectors, services
from tickets.choices import SlaState, Status
from tickets.models import Ticket
from tickets.serializers import (
    MessageCreateSerializer,
    MessageSerializer,
    RatingSerializer,
    TicketCreateSerializer,
    TicketSerializer,
)

# "open" is any open status (new, open or waiting), as on the ticket list's tabs: the status
# "open" alone is not a filter of its own, so the schema lists each value once.
STATUS_FILTERS = [
    ("open", "Any open status"),
    ("done", "Resolved or closed"),
    *[(value, label) for value, label in Status.choices if value != Status.OPEN],
]


class TicketFilter(SelectorFilterSet):
    status = NamedChoiceFilter(choices=STATUS_FILTERS)
    sla_state = NamedChoiceFilter(choices=SlaState.choices)
    department = NamedChoiceFilter(choices=Department.choices)

    @staticmethod
    def select(**filters):
        return selectors.ticket_list(**filters)


class TicketViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Service tickets: yours, your accounts', or your department queue's."""

    queryset = Ticket.objects.none()  # the model, for the schema
    lookup_value_converter = "int"
    serializer_class = TicketSerializer
    filter_backends = [SelectorFilterBackend, StrictOrderingFilter]
    filterset_class = TicketFilter
    ordering_fields = ["created_at", "updated_at"]
    pagination_class = cursor_pagination("-created_at", "-pk")

    def get_queryset(self):
        return selectors.ticket_list(user=self.request.user)

    def get_parsers(self):
        """Opening a ticket and replying may carry files: those two take multipart (or JSON,
        without files); every other write JSON only (the API's default)."""
        method = self.request.method.lower() if self.request else ""
        if getattr(self, "action_map", {}).get(method) in ("create", "reply"):
            return [parsers.MultiPartParser(), parsers.JSONParser()]
        return super().get_parsers()

    def get_object(self):
        return selectors.ticket_get(user=self.request.user, pk=self.kwargs["pk"])

    @extend_schema(
        request={"multipart/form-data": TicketCreateSerializer},
        responses={201: TicketSerializer},
    )
    def create(self, request, *args, **kwargs):
        """Open a ticket; its SLA clock starts from the organisation's tier."""
        given = TicketCreateSerializer(data=request.data, context={"request": request})
        given.is_valid(raise_exception=True)
        ticket = services.ticket_create(requester=request.user, **given.validated_data)
        ticket = selectors.ticket_get(user=request.user, pk=ticket.pk)
        return Response(TicketSerializer(ticket).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=MessageSerializer(many=True))
    @action(detail=True, pagination_class=None, filter_backends=[])
    def messages(self, request, pk=None):
        """The thread, oldest first; internal notes only for staff."""
        thread = selectors.ticket_thread(ticket=self.get_object(), user=request.user)
        return Response(MessageSerializer(thread, many=True).data)

    @extend_schema(
        request={"multipart/form-data": MessageCreateSerializer},
        responses={201: MessageSerializer},
    )
    @messages.mapping.post
    def reply(self, request, pk=None):
        """Reply to the thread (staff may add an internal note instead), with files if any."""
        ticket = self.get_object()
        given = MessageCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        message = services.ticket_reply(ticket=ticket, author=request.user, **given.validated_data)
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=TicketSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def resolve(self, request, pk=None):
        """Mark the ticket resolved: the SLA clock stops."""
        return self._set_status(Status.RESOLVED)

    @extend_schema(request=None, responses=TicketSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def reopen(self, request, pk=None):
        """Reopen a resolved or closed ticket: the SLA clock runs again."""
        return self._set_status(Status.OPEN)

    def _set_status(self, new_status: str) -> Response:
        ticket = services.ticket_set_status(
            ticket=self.get_object(), by=self.request.user, status=new_status
        )
        ticket = selectors.ticket_get(user=self.request.user, pk=ticket.pk)
        return Response(TicketSerializer(ticket).data)

    @extend_schema(request=RatingSerializer, responses=RatingSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def rating(self, request, pk=None):
        """Rate a resolved ticket: satisfaction and ease, 1-5 (customers only)."""
        ticket = self.get_object()
        given = RatingSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        rating = services.ticket_rate(ticket=ticket, by=request.user, **given.validated_data)
        return Response(RatingSerializer(rating).data)
