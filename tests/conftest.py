"""Fixtures that start real processes: a Celery worker, a browser."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    """DATABASE_URL pointing at the database pytest-django made for this run."""
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    return f"{base}/{connection.settings_dict['NAME']}"


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """A real `celery worker` process on the real Redis broker and the test database.

    Tasks are sent through the broker (not run inline) while it runs. Mail
    the worker sends lands as files in the returned folder.
    """
    if not os.environ.get("REDIS_URL") or not os.environ.get("DATABASE_URL"):
        pytest.fail("A real worker needs REDIS_URL and DATABASE_URL (run through `make test`).")
    from config.celery import app

    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": test_database_url(),
        "EMAIL_FILE_PATH": str(mail_dir),
        "CELERY_TASK_ALWAYS_EAGER": "false",  # a worker's retries go through the broker
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    app.conf.update(task_always_eager=False, CELERY_TASK_ALWAYS_EAGER=False)
    try:
        yield mail_dir
    finally:
        app.conf.update(task_always_eager=True, CELERY_TASK_ALWAYS_EAGER=True)
        worker.terminate()
        try:
            output, _ = worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
        if worker.returncode not in (0, -15):
            print(output)


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (no browser download)."""
    # Playwright's sync API runs an event loop in this thread; the ORM calls
    # the tests make around it are ordinary blocking calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A laptop-sized page (1366 px); every page it opens is checked by axe-core (tests/axe.py)."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 768})
    from tests.axe import checked_by_axe

    with checked_by_axe(context) as page:
        yield page


WORKER_APP_NAME = "portal-test-worker"


class CeleryWorkers:
    """Starts real `celery worker` processes that a test may kill and start again.

    Each worker gets the test database, the real Redis broker and the given
    environment overrides (e.g. SYNC_STALE_SECONDS, CELERY_VISIBILITY_TIMEOUT,
    a connector's token variable). Its output goes to a log file in `folder`.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.started: list[tuple[subprocess.Popen, Path]] = []

    def start(self, *, pool: str = "solo", **env_overrides: str) -> subprocess.Popen:
        """`pool="prefork"` runs tasks in child processes, as production does."""
        log = self.folder / f"worker-{len(self.started) + 1}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            # Named, so a test can tell the worker's database sessions from others'.
            "DATABASE_URL": f"{test_database_url()}?application_name={WORKER_APP_NAME}",
            "CELERY_TASK_ALWAYS_EAGER": "false",  # a worker's retries go through the broker
            **env_overrides,
        }
        with log.open("w") as out:
            # With --pool=solo this process itself runs the tasks: killing
            # its pid kills the task mid-run.
            worker = subprocess.Popen(  # noqa: S603 (our own command line)
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    f"--pool={pool}",
                    *(["--concurrency=2"] if pool == "prefork" else []),
                    "--without-gossip",
                    "--without-mingle",
                    "--loglevel=info",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.started.append((worker, log))
        return worker

    def stop_all(self) -> None:
        for worker, log in self.started:
            if worker.poll() is None:
                worker.terminate()
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
            # Shown by pytest when the test failed.
            print(f"--- {log.name} (exit {worker.returncode}) ---")
            print(log.read_text())


@pytest.fixture
def celery_workers(transactional_db, tmp_path):
    """A `CeleryWorkers` for this test; every worker it started is stopped afterwards.

    Tasks are sent through the broker (not run inline) while the test runs.
    """
    if not os.environ.get("REDIS_URL") or not os.environ.get("DATABASE_URL"):
        pytest.fail("A real worker needs REDIS_URL and DATABASE_URL (run through `make test`).")
    from config.celery import app

    folder = tmp_path / "workers"
    folder.mkdir()
    workers = CeleryWorkers(folder)
    app.conf.update(task_always_eager=False, CELERY_TASK_ALWAYS_EAGER=False)
    try:
        yield workers
    finally:
        app.conf.update(task_always_eager=True, CELERY_TASK_ALWAYS_EAGER=True)
        workers.stop_all()
