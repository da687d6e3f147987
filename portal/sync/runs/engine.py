"""The sync engine: one run of one source, batch by batch, each batch in one transaction.

    connector.fetch(cursor) -> mapping (bad record: quarantined with its reason)
    -> identity (unknown customer: kept, queued for matching) -> set-based upsert
    -> links to orders -> cursor and processed file saved with the batch -> run counts

A crash at any point leaves whole batches only, with the cursor of the last
one that landed; the next run starts from there and, since the cursor is
inclusive and unchanged rows are not written, converges to the same rows.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import (
    DatabaseError,
    transaction,
)
from django.utils import timezone

from portal.sync.base import PermanentError, ShapeError
from portal.sync.choices import RunStatus, SourceKind
from portal.sync.connectors import build_connector
from portal.sync.connectors.sql import iso_like
from portal.sync.models import ProcessedFile, SourceSystem, SyncRun
from portal.sync.runs.claims import (
    TRANSIENT_ERRORS,
    RunHeartbeat,
    run_claim,
    save_progress,
)
from portal.sync.runs.landing import land
from portal.sync.runs.plan import ANALYZE_AT_END, Plan, Progress
from portal.sync.seen import SeenKeys
from portal.sync.timings import PhaseTimes
from portal.sync.upsert import analyze

logger = logging.getLogger(__name__)

# --- A whole run --------------------------------------------------------------------------------


def finish(run: SyncRun, status: str, error: str = "", times: PhaseTimes | None = None) -> SyncRun:
    run.status = status
    run.error = error
    run.finished_at = timezone.now()
    if times is not None:
        run.timings = times.as_dict()
    # Only a run still running is finished here; one failed as stale keeps its verdict.
    SyncRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
        status=status, error=error, finished_at=run.finished_at, timings=run.timings
    )
    return run


def _finish_if_possible(run: SyncRun, status: str, error: str, times: PhaseTimes) -> None:
    """Record the end of a run that failed, unless the database is what failed: then
    the retry (same task id) or the task's end (runs_of_task_end) records it."""
    try:
        finish(run, status, error, times)
    except DatabaseError:
        logger.warning("could not record the end of run %s: %s", run.pk, error, exc_info=True)


def source_sync(
    *,
    source: SourceSystem,
    full: bool = False,
    progress: Progress | None = None,
    task_id: str = "",
    retry_note: str = "Not retried",
) -> SyncRun | None:
    """Run one source now. None when a run of it is already going on.

    Transient errors (TRANSIENT_ERRORS) fail the run with `retry_note` (what the
    task will do: "Will retry in about 40 s (attempt 3 of 11)") and are raised again;
    a changed shape pauses the source; other permanent errors fail the run.
    `task_id` is the Celery task's, so a redelivery of it takes the run over.
    """
    # A drop folder is read a new file at a time, never whole, so a full run of one
    # would take everything not in the new files as deleted: its deletes come from
    # snapshot files only.
    full = full and source.kind != SourceKind.CSV
    run = run_claim(source=source, full=full, task_id=task_id)
    if run is None:
        return None
    source.last_started_at = run.started_at
    source.save(update_fields=["last_started_at"])
    seen = SeenKeys(run.pk)
    times = PhaseTimes()
    try:
        with RunHeartbeat(run):
            return _run(source, run, full, progress, times, seen, retry_note)
    finally:
        seen.drop()


def _run(
    source: SourceSystem,
    run: SyncRun,
    full: bool,
    progress: Progress | None,
    times: PhaseTimes,
    seen: SeenKeys,
    retry_note: str,
) -> SyncRun:
    connector = batches = None
    try:
        plan = Plan(source)
        connector = source_connector(source)
        cursor = None if full else looked_back(source.cursor, source.config)
        batches = connector.fetch(cursor, started_at=run.started_at)
        for batch in times.timed_iteration("read", batches):
            land(plan, run, batch, seen, times)
            _keep_statistics(plan, run)
            if progress:
                progress(run)
        if run.created >= ANALYZE_AT_END:
            # What comes next (this run's deletes, a full run right after a first load)
            # plans on the real size: unanalysed, 20,000 new orders made the planner pick
            # a nested-loop anti join, and marking deletes took 14 s instead of 0.05.
            analyze(plan.model)
        if full:
            with times.phase("mark deleted"), transaction.atomic():
                deleted = seen.mark_deleted(plan.model, source.pk, timezone.now())
                run.deleted += deleted
                save_progress(run)
                source.last_full_at = run.started_at
    except ShapeError as error:
        source.paused_reason = str(error)
        source.save(update_fields=["paused_reason"])
        _close(connector, succeeded=False)
        return finish(run, RunStatus.FAILED, f"Paused: {error}", times)
    except TRANSIENT_ERRORS as error:
        _close(connector, succeeded=False)
        _finish_if_possible(run, RunStatus.FAILED, f"{retry_note}: {error}", times)
        raise
    except PermanentError as error:
        _close(connector, succeeded=False)
        return finish(run, RunStatus.FAILED, str(error), times)
    except Exception as error:
        _close(connector, succeeded=False)
        _finish_if_possible(run, RunStatus.FAILED, f"Unexpected error: {error!r}", times)
        raise
    finally:
        if batches is not None:
            # A run that failed mid-read leaves the reading generator suspended, holding its
            # connection to the legacy system (a read lock on a SQLite file) for as long as
            # the traceback lives, which a retrying task keeps: close it now.
            batches.close()
    _close(connector, succeeded=True)
    source.last_success_at = timezone.now()
    source.save(update_fields=["last_success_at", "last_full_at"])
    status, message = _verdict(run, source)
    held = getattr(connector, "held", [])
    if held:  # a drop file not complete yet: the run says it did not read it
        message = " ".join(filter(None, [message, f"Held for the next run: {', '.join(held)}."]))
    return finish(run, status, message, times=times)


def _verdict(run: SyncRun, source: SourceSystem) -> tuple[str, str]:
    """A run that read its records through ends "succeeded", unless more than the source's
    `attention_percent` (default SYNC_ATTENTION_PERCENT, 5) of them were quarantined: then
    the source's mapping (or its data) has gone wrong, and the run says so instead of a
    green "succeeded"."""
    percent = source.config.get("attention_percent")
    share = settings.SYNC_ATTENTION_SHARE if percent is None else percent / 100
    if run.read and run.quarantined > share * run.read:
        return RunStatus.ATTENTION, (
            f"{run.quarantined:,} of {run.read:,} records were quarantined: check their "
            "reasons in Quarantine, fix the mapping, then retry them."
        )
    return RunStatus.SUCCEEDED, ""


def looked_back(cursor: str, config: dict) -> str | None:
    """The cursor to read from: `lookback_minutes` before the stored one, so changes stamped
    late (back-dated, or published late by replication or a long transaction) are read on
    the next run; what did not change writes nothing. The cursor's own format is kept (a
    SQLite column compares text). A cursor that is no timestamp is used as it is."""
    minutes = config.get("lookback_minutes", 0)
    if not cursor or not minutes:
        return cursor or None
    try:
        moment = datetime.fromisoformat(cursor)
    except ValueError:
        return cursor
    earlier = moment - timedelta(minutes=minutes)
    if len(cursor) == 10:  # a date
        return earlier.date().isoformat()
    return iso_like(earlier, cursor)  # in the cursor's own offset, as its column writes it


def source_connector(source: SourceSystem, *, look_only: bool = False):
    """The source's connector; a drop folder's skips the files that landed before.

    `look_only` (Test this source): a drop folder's files are read where they are, as they
    are now: neither claimed nor waited for."""
    csv = look_only and source.kind == SourceKind.CSV
    config = {**source.config, "archive": False, "settle_seconds": 0} if csv else None
    return build_connector(
        source.kind,
        config or source.config,
        is_processed=lambda checksum: ProcessedFile.objects.filter(
            source=source, checksum=checksum
        ).exists(),
    )


def _keep_statistics(plan: Plan, run: SyncRun) -> None:
    """Analyse the table while a run grows it, so each batch's statements keep good plans."""
    if run.created >= plan.analyze_at:
        analyze(plan.model)
        plan.analyze_at = 2 * run.created


def _close(connector, *, succeeded: bool) -> None:
    if connector is not None:
        try:
            connector.finish(succeeded=succeeded)
        except OSError:
            logger.exception("Could not finish the connector")
