"""The background processes' heartbeats, kept in Redis for the health check.

The worker writes its own every HEARTBEAT_SECONDS (15) from its main process (a bootstep's
timer in config/celery.py), beat from its scheduler loop (`HeartbeatScheduler`): each
says that process is alive and looping, not only that its broker answers. `/health/`
fails when one is older than HEALTH_HEARTBEAT_STALE_SECONDS (docs/production.md).
"""

from __future__ import annotations

import logging
import time

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

PARTS = ("worker", "beat")
TIMEOUT_SECONDS = 2  # a hung Redis must not hold a worker's loop or the health check long


def _key(part: str) -> str:
    return f"portal:heartbeat:{part}"


def client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=TIMEOUT_SECONDS,
        socket_connect_timeout=TIMEOUT_SECONDS,
    )


def record(part: str) -> None:
    """Say `part` is alive now; a Redis that does not answer is logged, never raised."""
    if not settings.REDIS_URL:
        return
    connection = client()
    try:
        connection.set(_key(part), repr(time.time()), ex=24 * 60 * 60)
    except redis.exceptions.RedisError as error:
        logger.warning("could not record the %s heartbeat: %s", part, error)
    finally:
        connection.close()


def ages(connection: redis.Redis) -> dict[str, float | None]:
    """Seconds since each part's last heartbeat (None: never, or not for a day)."""
    now = time.time()
    values = connection.mget([_key(part) for part in PARTS])
    return {
        part: None if value is None else max(0.0, now - float(value))
        for part, value in zip(PARTS, values, strict=True)
    }
