"""API representations of organisations and their account team."""

from rest_framework import serializers

from accounts.choices import LifecycleStage, TeamRole


class OrganisationSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    customer_number = serializers.CharField(read_only=True)
    lifecycle_stage = serializers.ChoiceField(choices=LifecycleStage.choices, read_only=True)
    renewal_date = serializers.DateField(read_only=True, allow_null=True)
    time_zone = serializers.CharField(read_only=True)


class TeamMemberSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=TeamRole.choices, read_only=True)
    name = serializers.CharField(source="user.full_name", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    phone = serializers.CharField(source="user.phone", read_only=True)
    away_until = serializers.DateField(source="user.away_until", read_only=True, allow_null=True)
    since = serializers.DateTimeField(source="started_at", read_only=True)
