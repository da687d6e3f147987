"""Celery entry points for syncing: thin, ids in, a summary out."""

from celery import shared_task
from django.utils import timezone

from portal.models import SourceSystem
from portal.sync import runs
from portal.sync.base import TransientError


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
