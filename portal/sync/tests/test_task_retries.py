"""The sync task's ownership of its run and its retries (issue 30): a redelivered task
takes its own run over at once; errors that pass are retried over minutes, and every
run says truthfully why it ended, the last attempt's included."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from portal.sync import runs, tasks
from portal.sync.choices import RunStatus
from portal.sync.models import SourceSystem, SyncRun
from portal.sync.tests.legacy import order_fields


def test_a_task_delivered_again_takes_its_own_running_run_over_at_once(order_source):
    dead = runs.run_claim(source=order_source, full=False, task_id="task-1")
    # Its heartbeat is fresh: another task is refused, as before.
    assert runs.run_claim(source=order_source, full=False, task_id="task-2") is None

    again = runs.run_claim(source=order_source, full=False, task_id="task-1")

    assert again is not None
    assert again.pk != dead.pk
    dead.refresh_from_db()
    assert dead.status == RunStatus.FAILED
    assert dead.finished_at is not None
    assert dead.error == runs.REDELIVERED
    assert again.task_id == "task-1"
    assert again.cursor_from == order_source.cursor  # carries on from the saved cursor


def test_a_run_left_running_by_a_task_that_ended_is_ended_with_why(order_source):
    run = runs.run_claim(source=order_source, full=False, task_id="task-9")
    assert runs.runs_of_task_end(task_id="task-9", error="The task ended: boom") == 1
    run.refresh_from_db()
    assert (run.status, run.error) == (RunStatus.FAILED, "The task ended: boom")
    assert runs.runs_of_task_end(task_id="", error="x") == 0


@hypothesis_settings(max_examples=50, deadline=None)
@given(seed=st.integers())
def test_the_retries_cover_minutes_and_none_waits_more_than_the_cap(seed):
    import random

    from django.conf import settings

    random.seed(seed)
    delays = [tasks.retry_delay(n) for n in range(settings.SYNC_RETRIES)]
    assert sum(delays) >= 5 * 60  # a legacy outage of minutes is ridden out
    assert max(delays) <= settings.SYNC_RETRY_MAX_SECONDS  # recovery within 2 min of its end


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket closes


@pytest.mark.usefixtures("celery_retries_inline")
def test_every_attempt_says_what_follows_and_the_last_says_no_retry_follows(db, settings):
    settings.SYNC_RETRIES = 2
    settings.SYNC_RETRY_FIRST_SECONDS = 0  # inline retries do not wait anyway
    source = SourceSystem.objects.create(
        name="API down",
        system="api",
        department="sales",
        kind="http",
        entity="orders",
        config={
            "url": f"http://127.0.0.1:{closed_port()}/orders",
            "max_retries": 0,
            "fields": order_fields(),
        },
    )

    result = tasks.source_sync.apply((source.pk,))

    assert result.failed()
    errors = list(SyncRun.objects.order_by("started_at").values_list("status", "error"))
    assert [status for status, _ in errors] == [RunStatus.FAILED] * 3
    assert errors[0][1].startswith("Will retry in about 0 s (attempt 1 of 3): ")
    assert errors[1][1].startswith("Will retry in about 0 s (attempt 2 of 3): ")
    assert errors[2][1].startswith("Gave up after 3 attempts; the next scheduled run carries on: ")
    assert not SyncRun.objects.filter(status=RunStatus.RUNNING).exists()


def test_beat_dispatches_a_source_whose_run_lost_its_heartbeat(order_source):
    from datetime import timedelta

    from django.utils import timezone

    run = runs.run_claim(source=order_source, full=False, task_id="task-3")
    assert runs.sources_with_dead_runs() == []  # beating: alive
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert runs.sources_with_dead_runs() == [order_source]


@pytest.mark.django_db(transaction=True)
def test_a_run_beats_from_its_own_thread_between_batches(order_source, settings):
    import time

    settings.SYNC_HEARTBEAT_SECONDS = 0.2
    run = runs.run_claim(source=order_source, full=False)
    with runs.RunHeartbeat(run):
        time.sleep(1)  # one long batch: no beat from the run itself
    beaten = SyncRun.objects.get(pk=run.pk).heartbeat_at
    assert beaten > run.heartbeat_at
