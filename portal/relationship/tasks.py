"""Celery entry points of the relationship: health scores and the executive-sponsor promise.

Registered under their first names (portal.tasks.*), which beat's entries and messages
already queued carry."""

from celery import shared_task

from accounts.platform.mail import MAIL_RETRY


@shared_task(name="portal.tasks.health_compute")
def health_compute(organisation_ids: list[int] | None = None) -> dict:
    """Beat runs this hourly for everyone; a change to an account's engagements,
    commitments or tickets runs it for that account. Each run replaces today's scores."""
    from portal.relationship.health import health_compute as compute

    return compute(organisation_ids=organisation_ids)


@shared_task(name="portal.tasks.sponsor_promise_scan")
def sponsor_promise_scan() -> dict:
    from portal.relationship.services import sponsor_promise_scan as scan

    return scan()


@shared_task(name="portal.tasks.notify_sponsor_lapses", **MAIL_RETRY)
def notify_sponsor_lapses(lapse_ids: list[int]) -> dict[str, int]:
    """Tell the account manager and the sponsor that the promised contact is overdue."""
    from portal.relationship.models import SponsorLapse
    from portal.relationship.notifications import sponsor_lapses_notify

    lapses = SponsorLapse.objects.filter(pk__in=lapse_ids, ended_at__isnull=True).select_related(
        "organisation", "sponsor"
    )
    return sponsor_lapses_notify(lapses=lapses)
