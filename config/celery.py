"""The Celery app. Workers and beat run `celery -A config worker|beat`."""

import os

from celery import Celery, bootsteps
from celery.beat import PersistentScheduler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("portal")
# Celery's Django fixup closes the database connections before and after every
# task, so a worker never reuses a connection a database restart broke. Keep it
# that way: CELERY_DB_REUSE_MAX would turn that off (tests/test_faults.py).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# portal's tasks live in the sub-package of their subject (each pins its registered name).
app.autodiscover_tasks(["portal.sync", "portal.relationship", "portal.am_tasks"])


class WorkerHeartbeat(bootsteps.StartStopStep):
    """The worker's heartbeat for /health/, written from its main loop's timer."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.timer_entry = None

    def start(self, worker):
        from django.conf import settings

        from config import heartbeat

        heartbeat.record("worker")
        self.timer_entry = worker.timer.call_repeatedly(
            settings.HEARTBEAT_SECONDS, heartbeat.record, ("worker",)
        )

    def stop(self, worker):
        if self.timer_entry is not None:
            self.timer_entry.cancel()


app.steps["worker"].add(WorkerHeartbeat)


class HeartbeatScheduler(PersistentScheduler):
    """Beat's scheduler (CELERY_BEAT_SCHEDULER), writing beat's heartbeat as it ticks."""

    _last_heartbeat = float("-inf")

    def tick(self, *args, **kwargs):
        import time

        from django.conf import settings

        from config import heartbeat

        now = time.monotonic()
        if now - self._last_heartbeat >= settings.HEARTBEAT_SECONDS:
            heartbeat.record("beat")
            self._last_heartbeat = now
        # Wake up at least as often as the heartbeat is due.
        return min(super().tick(*args, **kwargs), settings.HEARTBEAT_SECONDS)
