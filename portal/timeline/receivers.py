"""News from the apps below the portal, written to the customers' timeline.

Tiers and tickets cannot import the portal (the apps import one way); they send
signals from their services and the portal writes its own table here, in the
same transaction.
"""

from portal.timeline.models import TimelineEvent, TimelineKind
from portal.timeline.services import timeline_record
from tickets.signals import improvement_done
from tiers.signals import tier_changed


def on_tier_changed(*, organisation, tier, at, **kwargs) -> None:
    timeline_record(
        organisation=organisation,
        kind=TimelineKind.TIER_CHANGED,
        at=at,
        title=f"Your service tier is now {tier.name}",
        body=tier.tagline,
    )


def on_improvement_done(*, improvement, organisation_ids, at, **kwargs) -> None:
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            organisation_id=organisation_id,
            kind=TimelineKind.IMPROVEMENT,
            at=at,
            title=f"We fixed something you told us about: {improvement.title}"[:200],
            body=improvement.what_changed,
        )
        for organisation_id in organisation_ids
    )


def connect() -> None:
    tier_changed.connect(on_tier_changed, dispatch_uid="portal.timeline.tier_changed")
    improvement_done.connect(on_improvement_done, dispatch_uid="portal.timeline.improvement_done")
