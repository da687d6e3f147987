"""Writes for the single view."""

from datetime import datetime

from accounts.models import Organisation
from portal.models import TimelineEvent


def timeline_record(
    *,
    organisation: Organisation,
    kind: str,
    at: datetime,
    title: str,
    body: str = "",
    link: str = "",
) -> TimelineEvent:
    return TimelineEvent.objects.create(
        organisation=organisation, kind=kind, at=at, title=title[:200], body=body, link=link
    )
