"""API representation of a timeline entry."""

from rest_framework import serializers

from portal.timeline.selectors import TIMELINE_KINDS


class TimelineEntrySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(TIMELINE_KINDS.items()), read_only=True)
    at = serializers.DateTimeField(read_only=True)
    title = serializers.CharField(read_only=True)
    target = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The id of the order, invoice or ticket it is about; a note's text for notes.",
    )
