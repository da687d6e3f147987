"""Which run is running: claiming a source for a run, its heartbeat and saved progress,
and the runs whose worker died (no heartbeat) or whose task ended or was delivered again."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import psycopg
from django.conf import settings
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    transaction,
)
from django.db import connection as db_connection
from django.utils import timezone

from portal.sync.base import PermanentError, TransientError
from portal.sync.choices import RunStatus
from portal.sync.models import SourceSystem, SyncRun

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (
    TransientError,
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)
NO_HEARTBEAT = "The worker stopped (no heartbeat)."
REDELIVERED = (
    "The worker running it stopped; its task was delivered again and carried on from the "
    "saved cursor in the next run."
)


def run_claim(*, source: SourceSystem, full: bool, task_id: str = "") -> SyncRun | None:
    """Start a run unless one is already running; None means "already running".

    The database allows one running run per source. A run whose heartbeat
    stopped (its worker died) is failed first, and so is a run of this very task
    (`task_id`): a task delivered again while its run is still "running" is the
    redelivery of a task whose process died (acks_late, reject_on_worker_lost),
    so it takes its own run over at once instead of waiting for the heartbeat.
    """
    now = timezone.now()
    running = SyncRun.objects.filter(source=source, status=RunStatus.RUNNING)
    if task_id:
        running.filter(task_id=task_id).update(
            status=RunStatus.FAILED, finished_at=now, error=REDELIVERED
        )
    stale = now - timedelta(seconds=settings.SYNC_STALE_SECONDS)
    running.filter(heartbeat_at__lt=stale).update(
        status=RunStatus.FAILED, finished_at=now, error=NO_HEARTBEAT
    )
    try:
        with transaction.atomic():
            return SyncRun.objects.create(
                source=source,
                full=full,
                started_at=now,
                heartbeat_at=now,
                cursor_from="" if full else source.cursor,
                task_id=task_id,
            )
    except IntegrityError:
        return None


class RunHeartbeat:
    """Keeps a run's heartbeat fresh from a thread of its own while the run's process lives,
    so a run whose process died is known dead after SYNC_STALE_SECONDS however slow its
    batches are (each batch still beats too). Use as a context manager around the run."""

    def __init__(self, run: SyncRun):
        self.run_pk = run.pk
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"run-{run.pk}-heartbeat")
        self.thread.daemon = True

    def __enter__(self) -> RunHeartbeat:
        # SQLite (the embedded default: one process, tasks inline) has one writer at a time.
        if db_connection.vendor != "sqlite":
            self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join(timeout=10)

    def _beat(self) -> None:
        try:
            while not self.stopped.wait(settings.SYNC_HEARTBEAT_SECONDS):
                try:
                    SyncRun.objects.filter(pk=self.run_pk, status=RunStatus.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except DatabaseError as error:  # the run itself meets it too, and retries
                    logger.warning("run %s heartbeat: %s", self.run_pk, error)
                    db_connection.close()
        finally:
            db_connection.close()  # this thread's own connection


def sources_with_dead_runs(now=None) -> list[SourceSystem]:
    """Enabled sources whose running run lost its heartbeat: its process died (a worker
    killed whole, which no redelivery follows until the broker's visibility timeout)."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.SYNC_STALE_SECONDS)
    return list(
        SourceSystem.objects.filter(
            enabled=True,
            paused_reason="",
            runs__status=RunStatus.RUNNING,
            runs__heartbeat_at__lt=stale,
        ).distinct()
    )


def runs_of_task_end(*, task_id: str, error: str) -> int:
    """Fail whatever run `task_id` left running (its task ended for good, e.g. the
    database was still down when the run tried to record its end)."""
    if not task_id:
        return 0
    return SyncRun.objects.filter(task_id=task_id, status=RunStatus.RUNNING).update(
        status=RunStatus.FAILED, finished_at=timezone.now(), error=error
    )


# --- Landing a batch ----------------------------------------------------------------------------


class RunTakenOver(PermanentError):
    """Another run took this one over (its heartbeat looked stale): stop, write nothing more."""


def save_progress(run: SyncRun) -> None:
    fields = ["read", "created", "updated", "unchanged", "quarantined", "duplicates", "deleted"]
    fields += ["pages"]
    fields += ["heartbeat_at", "progress", "cursor_to", "timings"]
    # Compare-and-set on the status: a run failed as stale must not carry on writing.
    still_ours = SyncRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
        **{field: getattr(run, field) for field in fields}
    )
    if not still_ours:
        raise RunTakenOver("This run was taken over after its heartbeat went stale.")
