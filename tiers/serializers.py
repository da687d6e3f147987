"""API representation of an organisation's service tier."""

from rest_framework import serializers

from tiers.choices import Clock, Priority


class SlaTargetSerializer(serializers.Serializer):
    priority = serializers.ChoiceField(choices=Priority.choices, read_only=True)
    first_response_minutes = serializers.IntegerField(read_only=True)
    resolution_minutes = serializers.IntegerField(read_only=True)


class TierSerializer(serializers.Serializer):
    name = serializers.CharField(read_only=True)
    rank = serializers.IntegerField(read_only=True)
    tagline = serializers.CharField(read_only=True)
    annual_fee = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    currency = serializers.CharField(read_only=True)
    list_price_discount_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, read_only=True
    )
    perks = serializers.ListField(child=serializers.CharField(), source="perk_list")
    clock = serializers.ChoiceField(choices=Clock.choices, read_only=True)
    hours = serializers.CharField(source="hours_label", read_only=True)
    review_every_days = serializers.IntegerField(read_only=True, allow_null=True)
    health_check_every_days = serializers.IntegerField(read_only=True, allow_null=True)
    executive_sponsor_promised = serializers.BooleanField(read_only=True)
    sponsor_contact_every_days = serializers.IntegerField(read_only=True, allow_null=True)
    sla_targets = SlaTargetSerializer(many=True, read_only=True)


class OrganisationTierSerializer(serializers.Serializer):
    organisation = serializers.IntegerField(read_only=True)
    tier = TierSerializer(read_only=True, allow_null=True)
