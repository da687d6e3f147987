"""API: the organisations a user may see, and each one's account team."""

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import selectors
from accounts.models import Organisation
from accounts.serializers import OrganisationSerializer, TeamMemberSerializer
from config.api import cursor_pagination


class OrganisationViewSet(viewsets.ReadOnlyModelViewSet):
    """Organisations visible to you: your own, or the accounts you look after."""

    queryset = Organisation.objects.none()  # the model, for the schema
    lookup_value_converter = "int"
    serializer_class = OrganisationSerializer
    pagination_class = cursor_pagination("name", "pk")

    def get_queryset(self):
        return selectors.organisation_list(user=self.request.user)

    @extend_schema(responses=TeamMemberSerializer(many=True))
    @action(detail=True, pagination_class=None)
    def team(self, request, pk=None):
        """The current account team: account manager, backup and executive sponsor."""
        team = selectors.account_team(organisation=self.get_object())
        return Response(TeamMemberSerializer(team.values(), many=True).data)
