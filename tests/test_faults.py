"""Fault tolerance with real processes: Redis and PostgreSQL stopped under a running portal.

Each test starts its own throwaway servers (a `redis-server`, a PostgreSQL
cluster like scripts/with-services.sh makes) so it can stop and restart them
without disturbing the servers the rest of the suite uses, and its own web
server (gunicorn) and Celery processes pointed at them:

- Redis stopped while people use the portal: pages load, the work a page or
  an admin action makes waits in the outbox (a relay that meets the broker
  still down keeps it), and once Redis is back beat's relay sends it and a
  worker runs it, exactly once.
- PostgreSQL restarted in the middle of a sync run by a real worker: the run
  is recorded as failed, the re-run converges on exactly the source's rows.
- PostgreSQL restarted under a running web server: every request after it
  answers 200 (connection health checks replace the broken connections).
"""

# Every subprocess here is a fixed command line of our own (servers, gunicorn, celery).
# ruff: noqa: S603, S607
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from glob import glob
from pathlib import Path

import psycopg
import pytest
import requests
from django.db import OperationalError

from accounts.models import PendingTask, User
from accounts.tests.factories import PASSWORD
from accounts.tests.two_factor import authenticator_if_needed, next_code
from portal.records.models import Order
from portal.sync.choices import RunStatus
from portal.sync.models import SourceSystem, SyncRun
from portal.sync.tests.legacy import order_fields
from portal.tasks import source_sync
from tests.conftest import ROOT
from tests.conftest import test_database_url as database_url_for_test_run
from tests.test_sync_worker import wait_for
from tickets.models import Ticket

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

IS_ROOT = os.geteuid() == 0


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_bin() -> Path:
    found = os.environ.get("PG_BIN") or (sorted(glob("/usr/lib/postgresql/*/bin")) or [""])[-1]
    if not found:
        pytest.fail("PostgreSQL's binaries are missing (run through scripts/with-services.sh).")
    return Path(found)


@pytest.fixture
def workdir():
    """A folder the `postgres` user may write to (initdb refuses to run as root)."""
    folder = Path(tempfile.mkdtemp(prefix="portal-faults-"))
    folder.chmod(0o755)
    if IS_ROOT:
        shutil.chown(folder, user="postgres")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


# --- Throwaway servers ----------------------------------------------------------------------------


class RedisServer:
    """A `redis-server` child process on a fixed loopback port, stopped and started at will."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(self.answers, timeout=10, what="redis-server to answer")

    def answers(self) -> bool:
        import redis

        try:
            return redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping()
        except redis.exceptions.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def redis_server(workdir):
    server = RedisServer(workdir)
    server.start()
    yield server
    server.stop()


class PostgresCluster:
    """A PostgreSQL cluster of its own (durability off), restartable on the same port."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.data = folder / "pg"
        self.port = free_port()
        self.bin = pg_bin()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if IS_ROOT else []

    def url(self, database: str = "portal") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.as_postgres, str(self.bin / "pg_ctl"), "-D", str(self.data), *args],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def init(self) -> None:
        subprocess.run(
            [*self.as_postgres, str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
             "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"],
            check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        self._pg_ctl("-l", str(self.folder / "pg.log"), "-w", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every session at once (what a restart does to clients)."""
        self._pg_ctl("-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def copy_database(self, source_url: str, database: str = "portal") -> None:
        """Schema and rows of `source_url` (the test database) into a new database here."""
        subprocess.run(
            [str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
             "postgres", database],
            check=True,
        )  # fmt: skip
        dump = subprocess.Popen(
            [str(self.bin / "pg_dump"), "--no-owner", "--no-privileges", source_url],
            stdout=subprocess.PIPE,
        )
        subprocess.run(
            [str(self.bin / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-d", self.url(database)],
            stdin=dump.stdout,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        dump.stdout.close()
        assert dump.wait() == 0

    def query(self, sql: str, params=(), database: str = "portal") -> list[tuple]:
        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture
def postgres_cluster(workdir):
    """A running cluster holding a copy of the test database (rows the test made so far)."""
    cluster = PostgresCluster(workdir)
    cluster.init()
    cluster.start()
    try:
        yield cluster
    finally:
        if cluster.running():
            cluster.stop("immediate")


def settings_module(folder: Path) -> Path:
    """Test settings with tasks sent through the broker, as in production.

    config.settings.test runs tasks inline (most tests want that); a web
    server that should meet a stopped Redis must really publish.
    """
    package = folder / "faultsettings"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text(
        "from config.settings.test import *  # noqa: F403\nCELERY_TASK_ALWAYS_EAGER = False\n"
    )
    return folder


class WebServer:
    """gunicorn serving the portal (2 workers, persistent database connections)."""

    def __init__(self, folder: Path, *, database_url: str, redis_url: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "gunicorn.log"
        self.env = {
            **os.environ,
            "PYTHONPATH": f"{settings_module(folder)}{os.pathsep}{ROOT}",
            "DJANGO_SETTINGS_MODULE": "faultsettings",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "DB_CONN_MAX_AGE": "600",  # the connections outlive the restart
        }
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> WebServer:
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "config.wsgi:application",
                 "--bind", f"127.0.0.1:{self.port}", "--workers", "2", "--timeout", "30",
                 "--access-logfile", "-"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_for(self._answers, timeout=30, what="gunicorn to answer")
        return self

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{self.log.read_text()}")
        try:
            return requests.get(f"{self.url}/ping/", timeout=5).status_code < 500
        except (requests.ConnectionError, requests.Timeout):
            return False

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if exc[0] is not None:
            print(f"--- gunicorn log ---\n{self.log.read_text()}")

    def login(self, email: str) -> Browser:
        browser = Browser(self.url)
        device = authenticator_if_needed(User.objects.get(email=email))
        response = browser.post_form("/accounts/login/", {"username": email, "password": PASSWORD})
        if device is not None:  # staff: the code from their authenticator app too
            response = browser.post_form("/accounts/login/code/", {"code": next_code(device)})
        assert response.status_code == 200, response.text[:2000]
        assert response.url != f"{self.url}/accounts/login/", "the login did not go through"
        return browser


class Browser:
    """A signed-in visitor: a cookie jar and the CSRF token the forms carry."""

    TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()

    def get(self, path: str) -> requests.Response:
        return self.session.get(self.base_url + path, timeout=20)

    def post_form(self, path: str, data: dict) -> requests.Response:
        """GET the form, then POST it with its CSRF token (redirects followed)."""
        form = self.get(path)
        assert form.status_code == 200, f"GET {path}: {form.status_code}"
        token = self.TOKEN.search(form.text).group(1)
        return self.session.post(
            self.base_url + path,
            data={**data, "csrfmiddlewaretoken": token},
            headers={"Referer": self.base_url + path},
            timeout=20,
        )


def pg_url_of_test_database() -> str:
    return database_url_for_test_run().replace("postgres://", "postgresql://", 1)


# --- 1. Redis stopped while the portal serves pages -----------------------------------------------

CUSTOMER_PAGES = ["/", "/orders/", "/invoices/", "/timeline/", "/tickets/", "/tickets/new/"]


def mails_with_subject(mail_dir: Path, subject: str) -> int:
    """Messages the worker wrote (file backend: several messages may share one file)."""
    return sum(f.read_text().count(f"Subject: {subject}") for f in mail_dir.glob("*"))


def test_pages_load_with_redis_down_and_the_kept_work_runs_once_when_it_returns(
    world, workdir, redis_server, celery_workers
):
    legacy_order_entry(workdir / "orders.sqlite3", 1, 3)
    source = order_source()
    with WebServer(
        workdir, database_url=database_url_for_test_run(), redis_url=redis_server.url
    ) as web:
        customer = web.login(world.member_a.email)
        admin = web.login(world.admin.email)
        redis_server.stop()

        # Every page still loads; only the health check tells the load balancer.
        for path in CUSTOMER_PAGES:
            assert customer.get(path).status_code == 200, path
        health = requests.get(f"{web.url}/health/", timeout=10)
        assert health.status_code == 503
        assert health.json()["checks"] == {"database": "ok", "redis": "unavailable"}

        # Opening a ticket succeeds for the customer; its notification waits in the outbox.
        began = time.monotonic()
        opened = customer.post_form(
            "/tickets/new/",
            {"subject": "Broken cold box", "category": "delivery", "priority": "normal",
             "body": "The box arrived warm."},
        )  # fmt: skip
        took = time.monotonic() - began
        assert opened.status_code == 200, opened.text[:2000]
        ticket = Ticket.objects.get(subject="Broken cold box")
        assert opened.url == f"{web.url}/tickets/{ticket.pk}/"
        assert "is open" in opened.text
        assert customer.get(f"/tickets/{ticket.pk}/").status_code == 200
        # So does an admin's "Run now": the run waits in the outbox, the admin is told.
        ran = admin.post_form(
            "/admin/portal/sourcesystem/",
            {"action": "run_now", "_selected_action": [source.pk], "index": "0"},
        )
        assert ran.status_code == 200
        assert "will be queued when it is back" in ran.text
        kept = list(PendingTask.objects.values_list("task", "args"))
        assert kept == [
            ("tickets.tasks.notify_new_ticket", [ticket.pk]),
            ("portal.tasks.health_compute", [[world.org_a.pk]]),  # the account scored again
            ("portal.tasks.source_sync", [source.pk, False]),
        ]
        assert all(PendingTask.objects.values_list("last_error", flat=True))  # says why
        # A relay that meets the broker still down keeps every task and counts the attempt.
        assert relay_in_subprocess(workdir, redis_server.url) == {"sent": 0, "left": 3}
        assert list(PendingTask.objects.values_list("attempts", flat=True)) == [1, 0, 0]

        # Redis returns: beat's relay sends the kept tasks and a worker runs them, once.
        redis_server.start()
        mail_dir = workdir / "mail"
        mail_dir.mkdir()
        env = {
            "PYTHONPATH": str(workdir),
            "DJANGO_SETTINGS_MODULE": "faultsettings",
            "REDIS_URL": redis_server.url,
            "EMAIL_FILE_PATH": str(mail_dir),
            "OUTBOX_RELAY_SECONDS": "1",
            DSN_ENV: f"sqlite:///{workdir / 'orders.sqlite3'}",
        }
        celery_workers.start(**env)
        worker_log = celery_workers.started[0][1]
        beat = start_beat(workdir, env)
        try:
            subject = f"[{ticket.reference}] New ticket from {world.org_a.name}"
            wait_for(
                lambda: (
                    mails_with_subject(mail_dir, subject)
                    and SyncRun.objects.filter(source=source, status=RunStatus.SUCCEEDED).exists()
                ),
                timeout=30,
                what="the kept notification and sync run",
            )
            assert not PendingTask.objects.exists()
            time.sleep(3)  # three more relay ticks: nothing is sent twice
            assert mails_with_subject(mail_dir, subject) == 1
            assert SyncRun.objects.filter(source=source).count() == 1
            assert succeeded(worker_log, "portal.tasks.source_sync") == 1
            assert Order.objects.filter(source=source).count() == 3
            assert health_of(web) == 200

            # With Redis back the web process sends new work straight to the broker again.
            again = customer.post_form(
                "/tickets/new/",
                {"subject": "Second box", "category": "delivery", "priority": "normal",
                 "body": "This one too."},
            )  # fmt: skip
            assert again.status_code == 200
            second = Ticket.objects.get(subject="Second box")
            assert not PendingTask.objects.exists()
            wait_for(
                lambda: mails_with_subject(mail_dir, f"[{second.reference}] New ticket from"),
                timeout=30,
                what="the second notification",
            )
        finally:
            stop(beat)
    assert succeeded(worker_log, "tickets.tasks.notify_new_ticket") == 2
    print(f"ticket opened in {took:.2f} s with Redis down")
    assert took < 5  # the publish gives up quickly (PUBLISH_RETRY) and keeps the task


def test_a_hanging_redis_costs_a_write_about_a_second_and_loses_nothing(
    world, workdir, redis_server
):
    """Redis stopped (SIGSTOP) rather than gone: connections open, nothing answers. Every
    call on the request path gives up after its socket timeout (REDIS_SOCKET_TIMEOUT_MS);
    the ticket is saved, the customer sees it, its notification waits in the outbox."""
    with WebServer(
        workdir, database_url=database_url_for_test_run(), redis_url=redis_server.url
    ) as web:
        customer = web.login(world.member_a.email)
        assert customer.get("/").status_code == 200  # its kept content is in Redis now
        redis_server.process.send_signal(signal.SIGSTOP)
        try:
            began = time.monotonic()
            opened = customer.post_form(
                "/tickets/new/",
                {"subject": "Hung cold box", "category": "delivery", "priority": "normal",
                 "body": "The box arrived warm."},
            )  # fmt: skip
            took = time.monotonic() - began
            assert opened.status_code == 200, opened.text[:2000]
            ticket = Ticket.objects.get(subject="Hung cold box")
            assert opened.url == f"{web.url}/tickets/{ticket.pk}/"
            kept = list(PendingTask.objects.values_list("task", "args"))
            assert ("tickets.tasks.notify_new_ticket", [ticket.pk]) in kept
            for path in CUSTOMER_PAGES:
                assert customer.get(path).status_code == 200, path
        finally:
            redis_server.process.send_signal(signal.SIGCONT)
    print(f"ticket opened (form, post, redirected page) in {took:.2f} s with Redis hanging")
    # Without the timeouts this took 30 s (gunicorn's) and answered 500; now about 1.4 s
    # (form, post, redirected page) on a busy machine.
    assert took < 5


def relay_in_subprocess(folder: Path, redis_url: str) -> dict:
    """What `outbox.relay()` returns in a fresh process pointed at `redis_url`."""
    code = "import json; from accounts import outbox; print(json.dumps(outbox.relay()))"
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(folder), "DJANGO_SETTINGS_MODULE": "faultsettings",
             "DATABASE_URL": database_url_for_test_run(), "REDIS_URL": redis_url},
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def succeeded(worker_log: Path, task: str) -> int:
    """How many times the worker ran `task` to the end."""
    return len(re.findall(rf"Task {re.escape(task)}\[[^\]]+\] succeeded", worker_log.read_text()))


def start_beat(folder: Path, env: dict) -> subprocess.Popen:
    log = folder / "beat.log"
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=info",
             "--schedule", str(folder / "beat-schedule")],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": database_url_for_test_run(), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def health_of(web: WebServer) -> int:
    return requests.get(f"{web.url}/health/", timeout=10).status_code


# --- 2. PostgreSQL restarted during a sync run ---------------------------------------------------

ROWS = 20_000
BATCH = 250
NEW_ROWS = 500  # added after the second restart
T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
FIELDS = order_fields()  # the order-entry mapping of the sync tests
DSN_ENV = "FAULTS_ORDERS_DSN"
NO_HEARTBEAT = "The worker stopped (no heartbeat)."


def legacy_order_entry(path: Path, first: int = 1, last: int = ROWS) -> None:
    """Orders `first`..`last`, one minute apart, in a SQLite order-entry database."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, cust TEXT,"
            " cust_name TEXT, no TEXT, status TEXT, placed TEXT, total TEXT, updated_at TEXT)"
        )
        db.executemany(
            "INSERT INTO orders VALUES (?,?,?,?,?,?,?,?)",
            (
                (i, f"OE-{i % 50}", f"Customer OE-{i % 50}", f"SO-{i}", "open", at, "10.00", at)
                for i in range(first, last + 1)
                for at in [(T0 + timedelta(minutes=i)).isoformat()]
            ),
        )
    db.close()


def order_source() -> SourceSystem:
    return SourceSystem.objects.create(
        name="Order entry",
        system="order-entry",
        department="sales",
        kind="sql",
        entity="orders",
        config={"dsn_env": DSN_ENV, "table": "orders", "cursor_column": "updated_at",
                "key_column": "id", "batch_size": BATCH, "fields": FIELDS},
    )  # fmt: skip


def run_rows(cluster: PostgresCluster, source_id: int) -> list[tuple]:
    return cluster.query(
        "SELECT id, status, read, error, finished_at FROM portal_syncrun"
        " WHERE source_id = %s ORDER BY started_at",
        [source_id],
    )


def order_counts(cluster: PostgresCluster, source_id: int) -> tuple[int, int]:
    return cluster.query(
        "SELECT count(*), count(DISTINCT external_id) FROM portal_order WHERE source_id = %s",
        [source_id],
    )[0]


def test_a_database_restart_mid_sync_fails_the_run_and_the_rerun_converges(
    workdir, postgres_cluster, celery_workers
):
    legacy_order_entry(workdir / "orders.sqlite3")
    source = order_source()
    postgres_cluster.copy_database(pg_url_of_test_database())
    worker_env = {
        "DATABASE_URL": postgres_cluster.url(),
        DSN_ENV: f"sqlite:///{workdir / 'orders.sqlite3'}",
        "SYNC_STALE_SECONDS": "2",
    }
    worker = celery_workers.start(**worker_env)

    began = time.monotonic()
    first = source_sync.delay(source.pk)
    wait_for(
        lambda: (rows := run_rows(postgres_cluster, source.pk)) and rows[0][2] >= 4 * BATCH,
        timeout=60,
        what="a run with four batches landed",
    )
    postgres_cluster.stop("fast")  # every session ends, the worker's too
    restarted_at = time.monotonic()
    time.sleep(1)
    postgres_cluster.start()
    with pytest.raises(OperationalError, match=r"terminating connection|shutting down|closed"):
        first.get(timeout=30)
    ((run_id, status, landed, error, _),) = run_rows(postgres_cluster, source.pk)
    assert landed < ROWS, "the restart came after the run had finished"
    assert worker.poll() is None, "the worker died with the database"

    # The re-run (beat's dispatch or an admin's "Run now") finishes the job.
    time.sleep(2)  # older than SYNC_STALE_SECONDS: a run left running is taken as dead
    summary = source_sync.delay(source.pk).get(timeout=60)
    took = time.monotonic() - began
    assert summary["status"] == RunStatus.SUCCEEDED, summary

    total, unique = order_counts(postgres_cluster, source.pk)
    print(
        f"restart after {restarted_at - began:.1f} s with {landed}/{ROWS} rows landed;"
        f" first run: {status} {error!r}; converged after {took:.1f} s:"
        f" {total} rows, {total - unique} duplicates, {ROWS - unique} lost"
    )
    assert (total, unique) == (ROWS, ROWS)
    ids = postgres_cluster.query(
        "SELECT min(external_id::int), max(external_id::int) FROM portal_order"
    )
    assert ids == [(1, ROWS)]
    runs = run_rows(postgres_cluster, source.pk)
    assert [r[1] for r in runs] == [RunStatus.FAILED, RunStatus.SUCCEEDED]
    assert runs[0][0] == run_id
    # Failed by its own worker if the database was back in time to record it, else by
    # the re-run, which found it running without a heartbeat.
    assert runs[0][3] == NO_HEARTBEAT or runs[0][3].startswith("Unexpected error: Operational")
    assert runs[0][4] is not None
    # The re-run started from the saved cursor: it read what had not landed, and a little
    # more (rows at the cursor itself are read again), never everything.
    assert ROWS - landed <= summary["read"] < ROWS
    assert summary["created"] == ROWS - landed

    # Restarted again while the worker idles: it closes its connections around every task
    # (Celery's Django fixup), so the next run connects afresh instead of failing.
    postgres_cluster.stop("fast")
    postgres_cluster.start()
    legacy_order_entry(workdir / "orders.sqlite3", ROWS + 1, ROWS + NEW_ROWS)
    summary = source_sync.delay(source.pk).get(timeout=60)
    assert summary["status"] == RunStatus.SUCCEEDED, summary
    assert summary["created"] == NEW_ROWS
    assert order_counts(postgres_cluster, source.pk) == (ROWS + NEW_ROWS, ROWS + NEW_ROWS)
    assert worker.poll() is None


# --- 3. The web side across a database restart ----------------------------------------------------


def test_the_web_server_answers_200_after_a_database_restart(
    world, workdir, postgres_cluster, redis_server
):
    postgres_cluster.copy_database(pg_url_of_test_database())
    with WebServer(workdir, database_url=postgres_cluster.url(), redis_url=redis_server.url) as web:
        customer = web.login(world.member_a.email)
        # Both gunicorn workers open their persistent connections.
        for _ in range(4):
            for path in CUSTOMER_PAGES:
                assert customer.get(path).status_code == 200, path

        postgres_cluster.stop("fast")
        assert health_of(web) == 503
        postgres_cluster.start()

        statuses = [customer.get(path).status_code for _ in range(4) for path in CUSTOMER_PAGES]
        assert statuses == [200] * len(statuses)
        assert health_of(web) == 200
        opened = customer.post_form(
            "/tickets/new/",
            {"subject": "After the restart", "category": "other", "priority": "normal",
             "body": "Still here."},
        )  # fmt: skip
        assert opened.status_code == 200
        assert postgres_cluster.query(
            "SELECT count(*) FROM tickets_ticket WHERE subject = 'After the restart'"
        ) == [(1,)]
    log = web.log.read_text()
    assert '" 500 ' not in log
