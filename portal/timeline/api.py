"""API: an organisation's timeline."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response

from accounts.selectors import organisation_get
from portal.timeline import selectors
from portal.timeline.serializers import TimelineEntrySerializer


class TimelineQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(selectors.TIMELINE_KINDS), required=False)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)


class TimelineView(generics.GenericAPIView):
    """The newest `limit` entries as a plain list (no pages: the list is short by design)."""

    serializer_class = TimelineEntrySerializer
    pagination_class = None

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
