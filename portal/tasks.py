"""Celery entry points for syncing: thin, ids in, a summary out."""

import logging
import random

from celery import Task, shared_task
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from accounts import outbox
from accounts.mail import MAIL_RETRY
from portal.sync import runs
from portal.sync.models import SourceSystem

logger = logging.getLogger(__name__)


class SourceSyncTask(Task):
    """Records why a run ended when its task ends for good while the run still says
    "running" (the database was down when the run itself tried)."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        try:
            runs.runs_of_task_end(
                task_id=task_id, error=f"The task ended without recording the run: {exc!r}"
            )
        except DatabaseError:  # still down: the stale heartbeat ends it later
            logger.warning("could not end the runs of task %s", task_id, exc_info=True)


def retry_delay(retries: int) -> float:
    """Seconds before attempt `retries + 2`: exponential from SYNC_RETRY_FIRST_SECONDS,
    capped at SYNC_RETRY_MAX_SECONDS, with "equal jitter" (half of it random) so that
    workers retrying together spread out while the total still covers minutes."""
    nominal = min(settings.SYNC_RETRY_MAX_SECONDS, settings.SYNC_RETRY_FIRST_SECONDS * 2**retries)
    return nominal / 2 + random.uniform(0, nominal / 2)  # noqa: S311 (not for secrets)


@shared_task(
    base=SourceSyncTask,
    bind=True,
    max_retries=None,  # counted against SYNC_RETRIES below, so the message knows the last one
    acks_late=True,
    reject_on_worker_lost=True,
)
def source_sync(self, source_id: int, full: bool = False) -> dict:
    attempt, attempts = self.request.retries + 1, settings.SYNC_RETRIES + 1
    delay = retry_delay(self.request.retries)
    if attempt < attempts:
        note = f"Will retry in about {delay:.0f} s (attempt {attempt} of {attempts})"
    else:
        note = f"Gave up after {attempts} attempts; the next scheduled run carries on"
    try:
        source = SourceSystem.objects.get(pk=source_id)
        if not source.enabled or source.paused_reason:
            return {"source": source.name, "status": "not run: disabled or paused"}
        run = runs.source_sync(
            source=source, full=full, task_id=self.request.id or "", retry_note=note
        )
    except runs.TRANSIENT_ERRORS as error:
        if attempt >= attempts:
            raise
        raise self.retry(exc=error, countdown=delay) from error
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
    due = {source.pk: source for source in runs.sources_due(now)}
    # A run whose process died (a worker killed whole) is carried on now, not at the next
    # schedule: its heartbeat went stale, so the new run takes over from the saved cursor.
    due.update((source.pk, source) for source in runs.sources_with_dead_runs(now))
    for source in due.values():
        # Expire unstarted runs before the next tick would send the same one again.
        source_sync.apply_async((source.pk, runs.needs_full(source, now)), expires=55)
        dispatched.append(source.name)
    return dispatched


@shared_task
def identities_resolve() -> dict:
    """The identity engine over every customer still waiting: beat runs it hourly, so
    an organisation created since (or evidence learnt in another system) matches
    them without a person."""
    from portal.sync.identity import resolve_queue

    return resolve_queue()


# --- The relationship: health scores and the executive-sponsor promise ---------------------------


@shared_task
def health_compute(organisation_ids: list[int] | None = None) -> dict:
    """Beat runs this hourly for everyone; a change to an account's engagements,
    commitments or tickets runs it for that account. Each run replaces today's scores."""
    from portal.relationship.health import health_compute as compute

    return compute(organisation_ids=organisation_ids)


@shared_task
def sponsor_promise_scan() -> dict:
    from portal.relationship.services import sponsor_promise_scan as scan

    return scan()


@shared_task(**MAIL_RETRY)
def notify_sponsor_lapses(lapse_ids: list[int]) -> dict[str, int]:
    """Tell the account manager and the sponsor that the promised contact is overdue."""
    from portal.relationship.models import SponsorLapse
    from portal.relationship.notifications import sponsor_lapses_notify

    lapses = SponsorLapse.objects.filter(pk__in=lapse_ids, ended_at__isnull=True).select_related(
        "organisation", "sponsor"
    )
    return sponsor_lapses_notify(lapses=lapses)


def source_sync_queue(source_ids: list[int], *, full: bool = False) -> int:
    """Queue a run of each source ("Run now" in admin and on the source's page). Through the
    outbox: with Redis down the runs wait in the database, not a 500. Returns how many were
    kept there instead of queued."""
    return sum(not outbox.send(source_sync, pk, full) for pk in source_ids)


@shared_task
def am_task_rules(organisation_ids: list[int] | None = None) -> dict:
    """Beat runs the task rules hourly for every account; a team change runs them for its
    accounts (portal/am_tasks/rules.py). Safe to repeat."""
    from portal.am_tasks.rules import am_task_rules_run

    return am_task_rules_run(organisation_ids=organisation_ids)


@shared_task(**MAIL_RETRY)
def am_tasks_morning() -> dict[str, int]:
    """Beat sends this each morning: each AM's tasks overdue, today and this week."""
    from portal.am_tasks.notifications import am_tasks_morning_notify
    from portal.am_tasks.rules import am_task_rules_run

    am_task_rules_run()  # the list reflects this morning's conditions
    return am_tasks_morning_notify()
