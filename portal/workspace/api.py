"""API: the accounts a staff member looks after."""

from rest_framework import viewsets

from accounts.models import Organisation
from config.api import IsEmployee, cursor_pagination
from portal.workspace import selectors
from portal.workspace.serializers import ManagedAccountSerializer


class ManagedAccountViewSet(viewsets.ReadOnlyModelViewSet):
    """For staff: the accounts you look after, with what needs attention."""

    queryset = Organisation.objects.none()  # the model, for the schema
    lookup_value_converter = "int"
    serializer_class = ManagedAccountSerializer
    permission_classes = [IsEmployee]
    pagination_class = cursor_pagination("name", "pk")

    def get_queryset(self):
        return selectors.workspace_accounts(user=self.request.user)
