"""API representations of tickets, their threads and ratings."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.choices import Department
from accounts.models import Organisation
from tickets.choices import Category, SlaState, Status
from tiers.choices import Priority


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="full_name", read_only=True)
    is_staff_member = serializers.BooleanField(source="is_employee", read_only=True)


class TicketSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    organisation = serializers.IntegerField(source="organisation_id", read_only=True)
    subject = serializers.CharField(read_only=True)
    category = serializers.ChoiceField(choices=Category.choices, read_only=True)
    priority = serializers.ChoiceField(choices=Priority.choices, read_only=True)
    status = serializers.ChoiceField(choices=Status.choices, read_only=True)
    department = serializers.ChoiceField(choices=Department.choices, read_only=True)
    requester = PersonSerializer(read_only=True, allow_null=True)
    assignee = PersonSerializer(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    first_response_due_at = serializers.DateTimeField(read_only=True, allow_null=True)
    first_responded_at = serializers.DateTimeField(read_only=True, allow_null=True)
    resolution_due_at = serializers.DateTimeField(read_only=True, allow_null=True)
    resolved_at = serializers.DateTimeField(read_only=True, allow_null=True)
    sla_state = serializers.ChoiceField(choices=SlaState.choices, read_only=True)


@extend_schema_field(OpenApiTypes.INT)
class VisibleOrganisationField(serializers.PrimaryKeyRelatedField):
    """Only organisations the requester may act for: any other id "does not exist"."""

    def get_queryset(self):
        return Organisation.objects.visible_to(self.context["request"].user)


class TicketCreateSerializer(serializers.Serializer):
    organisation = VisibleOrganisationField()
    subject = serializers.CharField(max_length=200)
    category = serializers.ChoiceField(choices=Category.choices)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    body = serializers.CharField(help_text="What happened, and what you need.")
    attachments = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        default=list,
        help_text="Files, checked as on the ticket form (type, size, content).",
    )


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    filename = serializers.CharField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True)


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    author = PersonSerializer(read_only=True, allow_null=True)
    body = serializers.CharField()
    internal = serializers.BooleanField(
        source="is_internal",
        default=False,
        help_text="A note for staff only; customers never see it (staff only).",
    )
    created_at = serializers.DateTimeField(read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)


class MessageCreateSerializer(serializers.Serializer):
    """A reply (or, by staff, an internal note), with files as the ticket page takes them."""

    body = serializers.CharField()
    internal = serializers.BooleanField(
        default=False, help_text="A note for staff only; customers never see it (staff only)."
    )
    attachments = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        default=list,
        help_text="Files, checked as on the ticket page (type, size, content).",
    )


class RatingSerializer(serializers.Serializer):
    csat = serializers.IntegerField(min_value=1, max_value=5, help_text="Satisfaction, 1-5.")
    effort = serializers.IntegerField(min_value=1, max_value=5, help_text="Ease, 1-5.")
    comment = serializers.CharField(required=False, allow_blank=True, default="")
