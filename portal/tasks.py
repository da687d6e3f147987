"""Celery entry points for syncing: thin, ids in, a summary out."""

from celery import shared_task
from django.utils import timezone

from portal.sync import runs
from portal.sync.base import TransientError
from portal.sync.models import SourceSystem


@shared_task(
    autoretry_for=(TransientError,),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=6,
    acks_late=True,
    reject_on_worker_lost=True,
)
def source_sync(source_id: int, full: bool = False) -> dict:
    source = SourceSystem.objects.get(pk=source_id)
    if not source.enabled or source.paused_reason:
        return {"source": source.name, "status": "not run: disabled or paused"}
    run = runs.source_sync(source=source, full=full)
    if run is None:
        return {"source": source.name, "status": "skipped: already running"}
    return {
        "source": source.name,
        "status": run.status,
        "read": run.read,
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "quarantined": run.quarantined,
        "deleted": run.deleted,
    }


@shared_task
def dispatch_due_sources() -> list[str]:
    """Beat calls this every minute; each due source gets a run of its own."""
    now = timezone.now()
    dispatched = []
    for source in runs.sources_due(now):
        # Expire unstarted runs before the next tick would send the same one again.
        source_sync.apply_async((source.pk, runs.needs_full(source, now)), expires=55)
        dispatched.append(source.name)
    return dispatched


# --- The relationship: health scores and the executive-sponsor promise ---------------------------

MAIL_RETRY = {
    "autoretry_for": (ConnectionError, TimeoutError, OSError),
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task
def health_compute() -> dict:
    """Beat runs this hourly; each run replaces today's scores (one row per day)."""
    from portal.relationship.health import health_compute as compute

    return compute()


@shared_task
def sponsor_promise_scan() -> dict:
    from portal.relationship.services import sponsor_promise_scan as scan

    return scan()


@shared_task(**MAIL_RETRY)
def notify_sponsor_lapses(lapse_ids: list[int]) -> int:
    """Tell the account manager and the sponsor that the promised contact is overdue."""
    from django.conf import settings
    from django.core.mail import send_mass_mail
    from django.template.loader import render_to_string
    from django.urls import reverse

    from accounts.choices import TeamRole
    from accounts.models import AccountAssignment
    from portal.relationship.models import SponsorLapse

    lapses = list(
        SponsorLapse.objects.filter(pk__in=lapse_ids, ended_at__isnull=True).select_related(
            "organisation", "sponsor"
        )
    )
    managers: dict[int, list[str]] = {}
    for organisation_id, email in AccountAssignment.objects.filter(
        organisation_id__in=[lapse.organisation_id for lapse in lapses],
        role=TeamRole.PRIMARY_AM,
        ended_at__isnull=True,
        user__is_active=True,
    ).values_list("organisation_id", "user__email"):
        managers.setdefault(organisation_id, []).append(email)
    base = settings.PORTAL_BASE_URL.rstrip("/")
    messages = []
    for lapse in lapses:
        to = set(managers.get(lapse.organisation_id, []))
        if lapse.sponsor and lapse.sponsor.is_active:
            to.add(lapse.sponsor.email)
        if not to:
            continue
        link = base + reverse("portal:account", args=[lapse.organisation_id])
        body = render_to_string("portal/email/sponsor_lapse.txt", {"lapse": lapse, "link": link})
        subject = f"Executive sponsor contact overdue: {lapse.organisation.name}"
        messages.append((subject, body, None, sorted(to)))
    return send_mass_mail(messages, fail_silently=False) if messages else 0
