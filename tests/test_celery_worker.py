"""Work queued by the web side is done by a real worker process through Redis."""

import time

import pytest

from accounts.services import invitation_create

pytestmark = pytest.mark.slow


def wait_for_files(folder, timeout=60.0):
    """The mail files once each holds a message (the backend creates a file, then writes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = list(folder.iterdir())
        if files and all(f.stat().st_size for f in files):
            return files
        time.sleep(0.2)
    return []


def test_invitation_email_is_sent_by_the_worker_after_commit(world, celery_worker_process):
    invitation_create(
        organisation=world.org_a,
        email="colleague@alpha.test",
        role="member",
        invited_by=world.customer_admin_a,
    )
    files = wait_for_files(celery_worker_process)
    assert len(files) == 1, "the worker sent no mail within a minute"
    mail = files[0].read_text()
    assert "To: colleague@alpha.test" in mail
    assert "/accounts/invitations/" in mail


# --- /health/ and the background processes' heartbeats ------------------------------------------


def start_beat(folder, **env):
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    log = folder / "beat.log"
    with log.open("w") as out:
        return subprocess.Popen(  # noqa: S603 (our own command line)
            [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=info",
             "--schedule", str(folder / "beat-schedule")],
            cwd=ROOT,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "config.settings.test",
                "CELERY_TASK_ALWAYS_EAGER": "false",  # beat sends its entries to the broker
                **env,
            },
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip


def health(client) -> tuple[int, dict]:
    response = client.get("/health/")
    return response.status_code, response.json()["checks"]


def test_health_fails_while_the_worker_or_beat_is_not_alive_and_passes_once_they_are(
    client, celery_workers, tmp_path, settings
):
    import signal

    from config import heartbeat
    from tests.test_sync_worker import wait_for

    settings.HEALTH_HEARTBEAT_STALE_SECONDS = 3
    connection = heartbeat.client()
    connection.delete(*(f"portal:heartbeat:{part}" for part in heartbeat.PARTS))

    assert health(client) == (
        503,
        {"database": "ok", "redis": "ok", "worker": "stale", "beat": "stale"},
    )

    fast = {"HEARTBEAT_SECONDS": "1"}
    worker = celery_workers.start(pool="prefork", **fast)
    beat = start_beat(tmp_path, **fast)
    try:
        wait_for(lambda: health(client)[0] == 200, timeout=60, what="both heartbeats")
        assert health(client)[1] == {"database": "ok", "redis": "ok", "worker": "ok", "beat": "ok"}

        worker.send_signal(signal.SIGKILL)  # the whole worker, as the OOM killer does
        worker.wait()
        wait_for(lambda: health(client)[0] == 503, timeout=10, what="the worker to go stale")
        assert health(client)[1]["worker"] == "stale"
        assert health(client)[1]["beat"] == "ok"
    finally:
        beat.terminate()
        beat.wait(timeout=20)
    wait_for(lambda: health(client)[1]["beat"] == "stale", timeout=10, what="beat to go stale")
