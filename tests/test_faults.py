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
from decimal import Decimal
from glob import glob
from pathlib import Path

import psycopg
import pytest
import requests

from accounts.models import PendingTask, User
from accounts.tests.factories import PASSWORD
from accounts.tests.two_factor import authenticator_if_needed, next_code
from portal.records.models import Order
from portal.sync import runs
from portal.sync.choices import RunStatus
from portal.sync.models import SourceSystem, SyncRun
from portal.sync.tasks import source_sync
from portal.sync.tests.http_server import ApiServer
from portal.sync.tests.legacy import order_fields
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
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []


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
    code = "import json; from accounts.platform import outbox; print(json.dumps(outbox.relay()))"
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
REDELIVERED = runs.REDELIVERED


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


def test_a_database_restart_mid_sync_is_retried_by_the_task_itself_and_converges(
    workdir, postgres_cluster, celery_workers
):
    """PostgreSQL restarts under a running sync: the task retries by itself (production
    back-off settings), the retry takes over the run the restart left, and carries on
    from the saved cursor. Nobody runs anything by hand."""
    legacy_order_entry(workdir / "orders.sqlite3")
    source = order_source()
    postgres_cluster.copy_database(pg_url_of_test_database())
    worker_env = {
        "DATABASE_URL": postgres_cluster.url(),
        DSN_ENV: f"sqlite:///{workdir / 'orders.sqlite3'}",
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
    stopped_at = time.monotonic()
    time.sleep(1)
    postgres_cluster.start()
    restarted = time.monotonic()
    summary = first.get(timeout=120)  # the same task, retried
    recovered = time.monotonic() - restarted
    assert summary["status"] == RunStatus.SUCCEEDED, summary
    assert worker.poll() is None, "the worker died with the database"

    history = run_rows(postgres_cluster, source.pk)
    assert [r[1] for r in history] == [RunStatus.FAILED, RunStatus.SUCCEEDED]
    (_, status, landed, error, finished), _ = history
    assert landed < ROWS, "the restart came after the run had finished"
    # Recorded by the run itself if the database was back in time, else by the retry,
    # which took its own run over (same task id).
    assert error.startswith("Will retry in about ") or error == REDELIVERED, error
    assert finished is not None
    total, unique = order_counts(postgres_cluster, source.pk)
    print(
        f"restart after {stopped_at - began:.1f} s with {landed}/{ROWS} rows landed;"
        f" first run: {status} {error!r}; recovered {recovered:.1f} s after the restart:"
        f" {total} rows, {total - unique} duplicates, {ROWS - unique} lost"
    )
    assert (total, unique) == (ROWS, ROWS)
    ids = postgres_cluster.query(
        "SELECT min(external_id::int), max(external_id::int) FROM portal_order"
    )
    assert ids == [(1, ROWS)]
    assert not postgres_cluster.query("SELECT 1 FROM portal_syncrun WHERE status = 'running'")
    # The retry started from the saved cursor: it read what had not landed, and a little
    # more (rows at the cursor itself are read again), never everything.
    assert ROWS - landed <= summary["read"] < ROWS
    assert summary["created"] == ROWS - landed
    assert recovered < 120

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


# --- 4. Redis stopped or hung while a task runs (a real prefork worker) -------------------------


def send_through(broker_url: str, task, *args) -> None:
    """Publish `task` to the broker at `broker_url` (the test's own Redis, not the suite's)."""
    from config.celery import app

    # send_task publishes whatever task_always_eager says (the suite runs tasks inline).
    with app.connection_for_write(broker_url) as connection:
        app.send_task(task.name, args, connection=connection, ignore_result=True)


def broker_fault(redis_server: RedisServer, kind: str, seconds: float) -> None:
    """`stop`: the server goes away (restarted empty, as without persistence);
    `hang`: it stops answering (SIGSTOP) and resumes (SIGCONT) with its data."""
    if kind == "stop":
        redis_server.stop()
        time.sleep(seconds)
        redis_server.start()
    else:
        redis_server.process.send_signal(signal.SIGSTOP)
        time.sleep(seconds)
        redis_server.process.send_signal(signal.SIGCONT)


@pytest.mark.parametrize("kind", ["stop", "hang"])
def test_a_worker_that_loses_its_broker_mid_task_keeps_going(
    world, workdir, redis_server, celery_workers, kind
):
    """celery 5.7.0 died here for good ("Unrecoverable error: AttributeError('NoneType'
    object has no attribute 'hostname')" in kombu's restore_unacked, docs/production.md)."""
    from tests.test_sync_worker import FIELDS as API_FIELDS
    from tests.test_sync_worker import (
        PAGES,
        PER_PAGE,
        TOKEN,
        TOKEN_ENV,
        page_ids,
        serve_pages,
    )
    from tickets.tasks import notify_new_ticket

    mail_dir = workdir / "mail"
    mail_dir.mkdir()
    ticket = Ticket.objects.create(
        organisation=world.org_a,
        subject="Warm box",
        category="delivery",
        requester=world.member_a,
        department="logistics",
        created_at=datetime.now(UTC),
    )
    with ApiServer(token=TOKEN) as api:
        serve_pages(api)
        source = SourceSystem.objects.create(
            name="Slow order API",
            system="slow-orders",
            department="sales",
            kind="http",
            entity="orders",
            config={"url": api.url("/orders"), "token_env": TOKEN_ENV, "fields": API_FIELDS},
        )
        worker = celery_workers.start(
            pool="prefork",
            REDIS_URL=redis_server.url,
            EMAIL_FILE_PATH=str(mail_dir),
            **{TOKEN_ENV: TOKEN},
        )
        wait_for(lambda: "ready" in celery_workers.started[-1][1].read_text(), timeout=60,
                 what="the worker to be ready")  # fmt: skip
        send_through(redis_server.url, source_sync, source.pk)
        wait_for(
            lambda: SyncRun.objects.filter(source=source, read__gte=2 * PER_PAGE).exists(),
            timeout=60,
            what="a run with two pages landed",
        )
        broker_fault(redis_server, kind, seconds=5)
        fault_ended = time.monotonic()

        # The run in progress finishes, and the worker takes new work: a notification and
        # another run, sent once the broker is back.
        wait_for(
            lambda: SyncRun.objects.filter(source=source, status=RunStatus.SUCCEEDED).exists(),
            timeout=120,
            what="the run in progress to finish",
        )
        send_through(redis_server.url, notify_new_ticket, ticket.pk)
        send_through(redis_server.url, source_sync, source.pk)
        subject = f"[{ticket.reference}] New ticket from"
        wait_for(
            lambda: (
                mails_with_subject(mail_dir, subject)
                and SyncRun.objects.filter(source=source, status=RunStatus.SUCCEEDED).count() >= 2
            ),
            timeout=120,
            what="the run, a new run and the notification after the broker came back",
        )
        recovered = time.monotonic() - fault_ended
    time.sleep(2)
    print(f"broker {kind} for 5 s: recovered {recovered:.1f} s after the fault ended")
    assert worker.poll() is None, "the worker died with its broker"
    assert "Unrecoverable error" not in celery_workers.started[-1][1].read_text()
    ids = list(Order.objects.filter(source=source).values_list("external_id", flat=True))
    assert sorted(ids) == page_ids(PAGES)  # every row, none twice
    assert not SyncRun.objects.filter(status=RunStatus.RUNNING).exists()
    assert mails_with_subject(mail_dir, subject) == 1
    assert recovered < 120


# --- 5. Processes killed (kill -9): the pool's, and the whole worker's ---------------------------

LONG = pytest.mark.skipif(
    not os.environ.get("PORTAL_FAULTS_FULL"),
    reason="minutes long: `make faults` runs it (PORTAL_FAULTS_FULL=1)",
)


def children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


def slow_api_source(api: ApiServer) -> SourceSystem:
    from tests.test_sync_worker import FIELDS as API_FIELDS
    from tests.test_sync_worker import TOKEN_ENV, serve_pages

    serve_pages(api)
    return SourceSystem.objects.create(
        name="Slow order API",
        system="slow-orders",
        department="sales",
        kind="http",
        entity="orders",
        schedule_minutes=24 * 60,  # only a dead run makes beat dispatch it again
        config={"url": api.url("/orders"), "token_env": TOKEN_ENV, "fields": API_FIELDS},
    )


def assert_exactly_the_api_rows(source: SourceSystem) -> None:
    from tests.test_sync_worker import PAGES, page_ids

    ids = list(Order.objects.filter(source=source).values_list("external_id", flat=True))
    assert sorted(ids) == page_ids(PAGES)  # every row, none twice
    assert not SyncRun.objects.filter(status=RunStatus.RUNNING).exists()


def test_a_killed_pool_process_is_redelivered_at_once_and_takes_over_its_run(celery_workers):
    """kill -9 of the process running the task (what the OOM killer or a hard time limit
    does): reject_on_worker_lost requeues it, the redelivery recognises its own run by
    task id and carries on from the saved cursor, instead of "skipped: already running"."""
    from tests.test_sync_worker import PER_PAGE, TOKEN, TOKEN_ENV

    with ApiServer(token=TOKEN) as api:
        source = slow_api_source(api)
        worker = celery_workers.start(pool="prefork", **{TOKEN_ENV: TOKEN})
        source_sync.delay(source.pk)
        wait_for(
            lambda: SyncRun.objects.filter(source=source, read__gte=2 * PER_PAGE).exists(),
            timeout=60,
            what="a run with two pages landed",
        )
        for child in children(worker.pid):  # the pool: the task's process among them
            os.kill(child, signal.SIGKILL)
        killed_at = time.monotonic()
        done = wait_for(
            lambda: SyncRun.objects.filter(source=source, status=RunStatus.SUCCEEDED).first(),
            timeout=120,
            what="the redelivered task to finish the run",
        )
        recovered = time.monotonic() - killed_at
    print(f"pool killed: recovered {recovered:.1f} s after the kill")
    dead = SyncRun.objects.exclude(pk=done.pk).get(source=source)
    assert (dead.status, dead.error) == (RunStatus.FAILED, runs.REDELIVERED)
    assert done.task_id == dead.task_id
    assert done.cursor_from == dead.cursor_to  # from the saved cursor
    assert_exactly_the_api_rows(source)
    assert worker.poll() is None
    assert recovered < 120


@LONG
def test_a_worker_killed_whole_is_restarted_and_beat_carries_its_run_on(celery_workers, tmp_path):
    """kill -9 of the whole worker (main process and pool): its message stays unacked
    until the visibility timeout (an hour), so the supervisor restarts the worker
    (scripts/systemd, RestartSec=5) and beat's next dispatch finds the run's heartbeat
    stale (SYNC_STALE_SECONDS) and starts the source again from its cursor."""
    from tests.test_celery_worker import start_beat as start_test_beat
    from tests.test_sync_worker import PER_PAGE, TOKEN, TOKEN_ENV

    env = {TOKEN_ENV: TOKEN}
    with ApiServer(token=TOKEN) as api:
        source = slow_api_source(api)
        worker = celery_workers.start(pool="prefork", **env)
        beat = start_test_beat(tmp_path, **env)
        try:
            source_sync.delay(source.pk)
            wait_for(
                lambda: SyncRun.objects.filter(source=source, read__gte=2 * PER_PAGE).exists(),
                timeout=60,
                what="a run with two pages landed",
            )
            pool = children(worker.pid)
            worker.send_signal(signal.SIGKILL)
            for child in pool:
                os.kill(child, signal.SIGKILL)
            worker.wait()
            time.sleep(5)  # the supervisor's RestartSec
            celery_workers.start(pool="prefork", **env)
            restarted_at = time.monotonic()
            wait_for(
                lambda: SyncRun.objects.filter(source=source, status=RunStatus.SUCCEEDED).exists(),
                timeout=180,
                what="beat to carry the dead run on",
            )
            recovered = time.monotonic() - restarted_at
        finally:
            stop(beat)
    print(f"worker killed whole: recovered {recovered:.1f} s after the restart")
    dead = SyncRun.objects.filter(source=source, status=RunStatus.FAILED).get()
    assert dead.error == runs.NO_HEARTBEAT
    assert_exactly_the_api_rows(source)
    assert recovered < 120


# --- 6. The legacy database unreachable for 60 s ------------------------------------------------


@LONG
def test_a_legacy_outage_of_a_minute_is_ridden_out_by_the_retries(
    workdir, postgres_cluster, celery_workers
):
    """The order-entry PostgreSQL goes away for 60 s mid-run: each attempt fails and says
    when it retries, the back-off (production settings) outlasts the outage, and the
    first attempt after it finishes from the saved cursor."""
    postgres_cluster.query("CREATE DATABASE legacy", database="postgres")
    postgres_cluster.query(
        "CREATE TABLE orders (id int PRIMARY KEY, cust text, cust_name text, no text,"
        " status text, placed timestamptz, total numeric, updated_at timestamptz)",
        database="legacy",
    )
    postgres_cluster.query(
        "INSERT INTO orders SELECT i, 'OE-' || mod(i, 50), 'Customer OE-' || mod(i, 50),"
        " 'SO-' || i, 'open', %s::timestamptz + i * interval '1 minute', 10.00,"
        " %s::timestamptz + i * interval '1 minute' FROM generate_series(1, %s) AS i",
        [T0, T0, ROWS],
        database="legacy",
    )
    source = order_source()
    worker = celery_workers.start(**{DSN_ENV: postgres_cluster.url("legacy")})
    result = source_sync.delay(source.pk)
    wait_for(
        lambda: SyncRun.objects.filter(source=source, read__gte=4 * BATCH).exists(),
        timeout=60,
        what="a run with four batches landed",
    )
    postgres_cluster.stop("fast")
    time.sleep(60)
    postgres_cluster.start()
    back = time.monotonic()
    summary = result.get(timeout=240)
    recovered = time.monotonic() - back
    print(f"legacy down 60 s: recovered {recovered:.1f} s after it came back")
    assert summary["status"] == RunStatus.SUCCEEDED, summary
    history = list(SyncRun.objects.filter(source=source).order_by("started_at"))
    assert history[-1].status == RunStatus.SUCCEEDED
    assert len(history) >= 3  # the outage met more than one attempt
    for attempt, run in enumerate(history[:-1], start=1):
        assert run.status == RunStatus.FAILED
        assert run.error.startswith("Will retry in about "), run.error
        assert f"(attempt {attempt} of " in run.error
    orders = Order.objects.filter(source=source)
    assert orders.count() == orders.values("external_id").distinct().count() == ROWS
    assert not SyncRun.objects.filter(status=RunStatus.RUNNING).exists()
    assert worker.poll() is None
    assert recovered < 120


# --- 7. Drop files replaced and still being written, through a real worker ----------------------


def test_drop_files_replaced_or_still_being_written_land_whole_and_once(workdir, celery_workers):
    """A CSV replaced under its name (atomic rename) while a run reads it, and one still
    being written in place (a pause between its rows): every row of both lands, exactly
    once, none cut; nothing is archived unread."""
    drop = workdir / "drop"
    drop.mkdir()
    source = SourceSystem.objects.create(
        name="Billing drop",
        system="billing",
        department="billing",
        kind="csv",
        entity="orders",
        config={"path": str(drop), "batch_size": 50, "settle_seconds": 2, "fields": FIELDS},
    )
    first = csv_rows(1, 2000)
    (drop / "orders.csv").write_text(first)
    for path in drop.iterdir():  # settled long ago
        os.utime(path, (time.time() - 60, time.time() - 60))
    celery_workers.start()
    source_sync.delay(source.pk)
    wait_for(
        lambda: SyncRun.objects.filter(source=source, read__gte=100).exists(),
        timeout=60,
        what="the run to be reading orders.csv",
    )
    # The next export under the same name, atomically, while the run reads the first.
    (drop / "orders.csv.part").write_text(csv_rows(2001, 3000))
    os.replace(drop / "orders.csv.part", drop / "orders.csv")
    # And one written in place, its last row cut mid-value ("70" of 700.87) for now.
    late = drop / "late.csv"
    with late.open("w") as out:
        out.write(csv_rows(3001, 3020)[:-5])
        out.flush()
        wait_for(
            lambda: SyncRun.objects.filter(source=source).exclude(status="running").exists(),
            timeout=120,
            what="the first run to end",
        )
        out.write(csv_rows(3001, 3020)[-5:])
    for _ in range(5):  # beat's next dispatches: each a run of what is complete by then
        if not list(drop.glob("*.csv")) and not list(drop.glob("processing/*")):
            break
        time.sleep(2.5)
        source_sync.delay(source.pk).get(timeout=120)
    orders = Order.objects.filter(source=source)
    assert orders.count() == orders.values("external_id").distinct().count() == 3020
    assert set(orders.values_list("total", flat=True)) == {Decimal("700.87")}
    assert len(list((drop / "archive").iterdir())) == 3  # both orders.csv, late.csv
    assert not list(drop.glob("*.csv"))
    assert not list((drop / "processing").glob("*"))
    assert not SyncRun.objects.filter(status=RunStatus.RUNNING).exists()


def csv_rows(first: int, last: int) -> str:
    header = "id,no,cust,cust_name,status,placed,total\n" if first in (1, 2001, 3001) else ""
    return header + "".join(
        f"{i},SO-{i},OE-{i % 50},Customer OE-{i % 50},open,2025-06-02T08:00:00+00:00,700.87\n"
        for i in range(first, last + 1)
    )
