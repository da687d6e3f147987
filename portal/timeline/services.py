"""Writes of the timeline."""

from __future__ import annotations

from datetime import datetime

from accounts.models import Organisation
from portal.timeline.models import TimelineEvent


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
