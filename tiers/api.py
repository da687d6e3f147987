"""API: an organisation's current service tier with its SLA targets."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import organisation_get
from tiers.selectors import current_tier
from tiers.serializers import OrganisationTierSerializer


class OrganisationTierView(APIView):
    @extend_schema(responses=OrganisationTierSerializer, operation_id="organisations_tier")
    def get(self, request, pk: int):
        """The tier the organisation is on now (null before one is assigned)."""
        organisation = organisation_get(user=request.user, pk=pk)
        data = {"organisation": organisation.pk, "tier": current_tier(organisation=organisation)}
        return Response(OrganisationTierSerializer(data).data)
