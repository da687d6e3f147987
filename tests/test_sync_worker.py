"""A worker killed mid-run and restarted finishes with exactly the source's rows.

Real processes throughout: a slow paginated HTTP API (one page per second), a
`celery worker` that is SIGKILLed after some batches landed, and a second
worker that gets the unacknowledged task back from Redis (acks_late) once the
visibility timeout has passed, recognises the dead run as its own (by task id),
fails it and finishes from the saved cursor.
"""

import json
import os
import signal
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
from django.db import connection

from portal.records.models import Order
from portal.sync import runs
from portal.sync.choices import RunStatus
from portal.sync.models import QuarantinedRecord, SourceSystem, SyncRun
from portal.sync.tasks import source_sync
from portal.sync.tests.http_server import ApiServer, Reply
from portal.sync.tests.legacy import order_fields
from tests.conftest import WORKER_APP_NAME

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TOKEN = "worker-test-token"
TOKEN_ENV = "SYNC_WORKER_TEST_TOKEN"
PAGES = 6
PER_PAGE = 4
TOTAL = PAGES * PER_PAGE
PAGE_DELAY = 1.0  # seconds the API takes per page: the run lasts about PAGES seconds
STALE_SECONDS = 2  # > the time between two heartbeats (one page)
VISIBILITY_TIMEOUT = 5
WORKER_ENV = {
    TOKEN_ENV: TOKEN,
    "SYNC_STALE_SECONDS": str(STALE_SECONDS),
    "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
}
T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)  # in the past: the cursor is not capped by "now"
FIELDS = order_fields()  # the order-entry mapping of the sync tests


def record(i: int) -> dict:
    at = (T0 + timedelta(minutes=i)).isoformat()
    return {"id": str(i), "cust": "OE-1", "cust_name": "Customer OE-1", "no": f"SO-{i}",
            "status": "open", "placed": at, "total": "10.00", "updated_at": at}  # fmt: skip


def page_ids(pages: int) -> list[str]:
    """External ids of the first `pages` pages, sorted as text like the query results."""
    return sorted(str(i) for i in range(1, pages * PER_PAGE + 1))


def page_cursor(page: int) -> str:
    """The cursor after `page` pages landed: the last record's updated_at."""
    return (T0 + timedelta(minutes=page * PER_PAGE)).isoformat()


def serve_pages(api: ApiServer) -> None:
    paths = ["/orders"] + [f"/orders/p{n}" for n in range(2, PAGES + 1)]
    for n, path in enumerate(paths, start=1):
        records = [record(i) for i in range((n - 1) * PER_PAGE + 1, n * PER_PAGE + 1)]
        next_url = api.url(paths[n]) if n < PAGES else None
        api.route(path, Reply(200, {"results": records, "next": next_url}, delay=PAGE_DELAY))


def wait_for(condition, *, timeout: float, what: str, interval: float = 0.1):
    """`condition()`'s first truthy value, polled; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def other_database_sessions() -> int:
    """Sessions of the killed worker still open (other tests' servers may hold their own)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = %s",
            [WORKER_APP_NAME],
        )
        return cursor.fetchone()[0]


def unacked_task_ids(broker: redis.Redis) -> set[str]:
    """Ids of the tasks kombu's Redis transport holds as delivered but not acknowledged.

    Each entry of the `unacked` hash is [message, exchange, routing key]; the
    visibility-timeout sweep puts entries older than the timeout back on their queue.
    """
    return {json.loads(raw)[0]["headers"]["id"] for raw in broker.hgetall("unacked").values()}


def test_a_worker_killed_mid_run_and_restarted_finishes_with_exactly_the_sources_rows(
    celery_workers,
):
    broker = redis.Redis.from_url(os.environ["REDIS_URL"])
    with ApiServer(token=TOKEN) as api:
        serve_pages(api)
        source = SourceSystem.objects.create(
            name="Slow order API",
            system="slow-orders",
            department="sales",
            kind="http",
            entity="orders",
            config={"url": api.url("/orders"), "token_env": TOKEN_ENV, "fields": FIELDS},
        )
        began = time.monotonic()
        first = celery_workers.start(**WORKER_ENV)
        result = source_sync.delay(source.pk)

        # Kill the worker once two pages landed and the run is still going.
        wait_for(
            lambda: SyncRun.objects.filter(
                source=source, status=RunStatus.RUNNING, read__gte=2 * PER_PAGE
            ).exists(),
            timeout=60,
            what="a running run with two pages landed",
        )
        os.kill(first.pid, signal.SIGKILL)  # --pool=solo: this process runs the task
        killed_at = time.monotonic()
        first.wait(timeout=10)
        assert first.returncode == -signal.SIGKILL
        # The dead worker's session ends (a transaction it had open is rolled back).
        wait_for(lambda: other_database_sessions() == 0, timeout=10, what="its session to end")

        # Whole batches only, the cursor of the last one, and a run nobody finished.
        killed = SyncRun.objects.get(source=source)
        assert killed.status == RunStatus.RUNNING
        assert killed.finished_at is None
        landed = killed.read // PER_PAGE
        assert killed.read == landed * PER_PAGE
        assert 2 <= landed < PAGES, f"the kill came too late: {landed} of {PAGES} pages landed"
        assert killed.created == landed * PER_PAGE
        assert sorted(Order.objects.values_list("external_id", flat=True)) == page_ids(landed)
        source.refresh_from_db()
        assert source.cursor == killed.cursor_to == page_cursor(landed)
        # The task was delivered and never acknowledged: Redis still holds it aside.
        assert result.id in unacked_task_ids(broker)

        # A worker that starts after the visibility timeout gets it back at once
        # (kombu sweeps the unacked messages when the consumer starts).
        time.sleep(max(0.0, killed_at + VISIBILITY_TIMEOUT + 1 - time.monotonic()))
        assert SyncRun.objects.get(pk=killed.pk).read == killed.read  # nothing ran on
        requests_before_restart = len(api.requests)
        restarted_at = time.monotonic()
        celery_workers.start(**WORKER_ENV)
        done = wait_for(
            lambda: SyncRun.objects.filter(source=source, status=RunStatus.SUCCEEDED).first(),
            timeout=60,
            what="the redelivered task to finish a run",
        )
        finished_at = time.monotonic()
        summary = result.get(timeout=10)
        again = api.requests[requests_before_restart:]

    print(
        f"killed after {killed_at - began:.1f} s with {landed}/{PAGES} pages landed;"
        f" restarted {restarted_at - killed_at:.1f} s later;"
        f" finished {finished_at - restarted_at:.1f} s after the restart"
    )
    # Exactly the source's rows: every record once, nothing else.
    ids = list(Order.objects.values_list("external_id", flat=True))
    assert len(ids) == TOTAL
    assert len(set(ids)) == TOTAL
    assert sorted(ids) == page_ids(PAGES)
    assert not Order.objects.exclude(source=source).exists()
    assert not Order.objects.filter(deleted_at__isnull=False).exists()
    assert not QuarantinedRecord.objects.exists()
    source.refresh_from_db()
    assert source.cursor == page_cursor(PAGES)
    assert source.last_success_at is not None

    # The dead run is failed by the redelivered task, which ran once, from the saved cursor.
    killed.refresh_from_db()
    assert killed.status == RunStatus.FAILED
    assert killed.error == runs.REDELIVERED  # its own task took it over, by task id
    assert killed.finished_at is not None
    assert list(SyncRun.objects.filter(source=source).order_by("started_at")) == [killed, done]
    assert done.cursor_from == page_cursor(landed)
    assert done.cursor_to == page_cursor(PAGES)
    # The canned API ignores updated_since and sends every page again: the rows
    # that landed before the kill are read again and left unchanged.
    assert (done.read, done.created, done.updated, done.unchanged, done.quarantined) == (
        TOTAL,
        TOTAL - landed * PER_PAGE,
        0,
        landed * PER_PAGE,
        0,
    )
    assert again[0].path == "/orders"
    assert again[0].query == {"updated_since": [page_cursor(landed)]}
    assert len(again) == PAGES  # one pass, no second delivery
    assert summary["status"] == RunStatus.SUCCEEDED
    assert summary["read"] == TOTAL
    assert result.id not in unacked_task_ids(broker)  # acknowledged this time
