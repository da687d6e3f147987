"""Reads for the single view."""

from django.db.models import QuerySet

from accounts.models import Organisation
from portal.models import TimelineEvent


def timeline(*, organisation: Organisation, kind: str = "", limit: int = 50) -> QuerySet:
    """Touchpoints of one organisation, newest first."""
    events = TimelineEvent.objects.filter(organisation=organisation)
    if kind:
        events = events.filter(kind=kind)
    return events[:limit]
