"""Sending background work so that a broker outage delays it but never loses it.

`enqueue_on_commit(task, *args)` sends the task once the surrounding
transaction commits (a worker must never see rows that may still roll back).
When Redis does not answer, the page that made the work still succeeds: the
task is written to the `PendingTask` outbox in PostgreSQL instead, and
`relay()` (the `outbox-relay` beat entry) sends it once the broker is back.

Delivery is at least once: a task relayed twice (a relay dying between send
and delete) runs twice, so tasks sent this way must be safe to repeat.
"""

from __future__ import annotations

import logging
import time

import redis
from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError

from accounts.models import PendingTask

logger = logging.getLogger(__name__)

# What a publish raises when the broker is unreachable (after kombu's own retries).
# A Redis that hangs instead of refusing answers nothing within settings.REDIS_SOCKET_TIMEOUT.
BROKER_ERRORS = (
    OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    OSError,
)
# Short: a request waits this long at most before it falls back to the outbox.
# One retry (a pooled connection Redis closed while restarting); each attempt on a Redis
# that hangs costs settings.REDIS_SOCKET_TIMEOUT.
PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
# After a publish failed, this process keeps work in the outbox without trying the broker
# for this long: a page that sends two tasks waits for one timeout, not two.
RETRY_AFTER_SECONDS = 5.0
_down_until = 0.0
# Nobody reads the result of work sent this way. Without ignore_result, Celery's
# Redis result backend subscribes to the result channel before publishing; with
# Redis down that subscription retries for about 20 s and then raises a
# RuntimeError ("the Celery application must be restarted"), not a broker error:
# the request would hang and then fail instead of falling back to the outbox.
SEND_OPTIONS = {"retry": True, "retry_policy": PUBLISH_RETRY, "ignore_result": True}


def send(task, *args, **kwargs) -> bool:
    """Send `task` now; keep it in the outbox when the broker is down. True if sent."""
    global _down_until
    try:
        if time.monotonic() < _down_until:
            raise OperationalError("the broker did not answer a moment ago")
        task.apply_async(args, kwargs, **SEND_OPTIONS)
    except BROKER_ERRORS as error:
        _down_until = time.monotonic() + RETRY_AFTER_SECONDS
        PendingTask.objects.create(
            task=task.name, args=list(args), kwargs=kwargs, last_error=str(error)[:1000]
        )
        logger.warning("broker unavailable: %s kept in the outbox (%s)", task.name, error)
        return False
    return True


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Send `task` after the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: send(task, *args, **kwargs))


def relay(*, limit: int = 500) -> dict:
    """Send what the outbox holds, oldest first; stop at the first send that fails.

    Rows are claimed with SKIP LOCKED, so two relays never send the same row.
    """
    sent = 0
    with transaction.atomic():
        pending = list(
            PendingTask.objects.select_for_update(skip_locked=True).order_by("created_at")[:limit]
        )
        for item in pending:
            try:
                current_app.send_task(item.task, args=item.args, kwargs=item.kwargs, **SEND_OPTIONS)
            except BROKER_ERRORS as error:
                item.attempts += 1
                item.last_error = str(error)[:1000]
                item.save(update_fields=["attempts", "last_error"])
                break
            item.delete()
            sent += 1
    return {"sent": sent, "left": PendingTask.objects.count()}
