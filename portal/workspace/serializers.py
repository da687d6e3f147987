"""API representation of an account in a staff member's book."""

from rest_framework import serializers

from accounts.serializers import OrganisationSerializer


class ManagedAccountSerializer(OrganisationSerializer):
    tier_name = serializers.CharField(read_only=True, allow_null=True)
    open_tickets = serializers.IntegerField(read_only=True)
    tickets_at_risk = serializers.IntegerField(read_only=True)
    last_contact = serializers.DateTimeField(read_only=True, allow_null=True)
