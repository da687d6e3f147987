"""Page benchmarks: `make bench`, or `python scripts/bench_pages.py [options]`.

Measures the customer home and the AM workspace under concurrent load at scale
(5,000 organisations, 1,000,000 orders, 200,000 tickets by default), served by
gunicorn with the production settings on PostgreSQL, each as requests/s and p50/p95
latency and as a ratio to the trivial JSON view `/ping/` served by the same server in
the same run.

The runner creates a throwaway database (`portal_bench_pages`) on the server
DATABASE_URL points at, migrates it, fills it with `manage.py bench_data`, collects the
static files into a temporary directory, starts gunicorn on a free loopback port and
loads each URL with `wrk` (or, without wrk, a Python client). Then it stops gunicorn
and prints, for each page, its queries and EXPLAIN (ANALYZE, BUFFERS) of the slow ones,
taken through the Django test client against the same database. gunicorn is stopped
and the database dropped at the end, also when something fails.

Run it through scripts/with-services.sh, which provides DATABASE_URL and REDIS_URL:

    scripts/with-services.sh .venv/bin/python scripts/bench_pages.py --orders 100000
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

# The throwaway-database helpers are scripts/bench.py's (this script runs from scripts/).
from bench import (
    create_database,
    drop_database,
    say,
    server_url,
    with_database,
    write_figures,
)

ROOT = Path(__file__).resolve().parent.parent
EMAIL_DOMAIN = "bench.example"  # as in portal/management/commands/bench_data.py


def setup_django(env: dict[str, str]) -> None:
    """Django in this process, with the same settings and environment as the server."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- The server -------------------------------------------------------------------------------


def gunicorn_version() -> str:
    from importlib.metadata import version

    return version("gunicorn")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def credential_header(credential: str) -> dict[str, str]:
    """A session cookie ("sessionid=...") or a whole header ("Authorization: Bearer ...")."""
    if not credential:
        return {}
    name, separator, value = credential.partition(": ")
    return {name: value} if separator else {"Cookie": credential}


def http_get(port: int, path: str, cookie: str = "", timeout: float = 60) -> tuple[int, bytes]:
    """One GET without following redirects (a redirect to the login page is a failure)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers=credential_header(cookie))
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path
    command: list[str] = field(default_factory=list)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(args: argparse.Namespace, env: dict[str, str], workdir: Path) -> Server:
    port = free_port()
    log = workdir / "gunicorn.log"
    worker = ["--worker-class", "gthread", "--threads", str(args.threads)]
    if args.threads == 1:  # one request at a time: each one's CPU is logged (median)
        worker = ["--worker-class", "sync", "--config", str(ROOT / "scripts/gunicorn_cpu.py")]
        (workdir / "cpu").mkdir(exist_ok=True)
        env = {**env, "BENCH_CPU_DIR": str(workdir / "cpu")}
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi",
        "--workers",
        str(args.workers),
        *worker,
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "120",
        "--log-level",
        "warning",
    ]
    # gunicorn's and Django's logs (stderr) go to one file, shown at the end when not empty.
    with log.open("ab") as log_file:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, port, log, command)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if http_get(port, "/ping/", timeout=2)[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"gunicorn did not answer /ping/ within 60 s:\n{server.log_tail()}")


# --- The load ---------------------------------------------------------------------------------

# Rotates the session cookies over the requests (16 clients, 16 sessions: the session row
# each request saves is not one hot row), counts non-2xx answers (wrk itself counts only
# 4xx and 5xx: a redirect to the login page would pass) and prints the figures.
WRK_SCRIPT = r"""
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  for i, credential in ipairs(args) do
    local name, value = credential:match("^([%w-]+): (.*)$")
    if name then
      requests[i] = wrk.format(nil, nil, {[name] = value})
    else
      requests[i] = wrk.format(nil, nil, {["Cookie"] = credential})
    end
  end
  if #requests == 0 then requests[1] = wrk.format() end
  position = 0
  bad = 0
end

function request()
  position = position % #requests + 1
  return requests[position]
end

function response(status, headers, body)
  if status < 200 or status > 299 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local non2xx = 0
  for _, thread in ipairs(threads) do non2xx = non2xx + thread:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "seconds": %f, "p50_ms": %f, "p95_ms": %f, "p99_ms": %f,'
    .. ' "max_ms": %f, "non2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(95) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3,
    non2xx, e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    non2xx: int
    socket_errors: int
    # CPU milliseconds per request of the server's, the database's and the cache's
    # processes on this machine, filled in by `measure` (empty where /proc is missing).
    cpu_ms: dict[str, float] = field(default_factory=dict)
    server_median_ms: float | None = None  # sync workers only (scripts/gunicorn_cpu.py)
    # Kept-content hits and misses of the measured requests (sync workers only).
    cache_hits: int = 0
    cache_misses: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def errors(self) -> int:
        return self.non2xx + self.socket_errors


CPU_PROGRAMS = {"postgres": "PostgreSQL", "redis-server": "Redis"}
# The PostgreSQL and Redis this run uses (set by `main`): on a machine shared with other
# work, other servers' processes must not count.
OUR_SERVERS: dict[str, int | str] = {}


def our_servers() -> dict[str, int | str]:
    """The postmaster's pid (the parent of this process's backend) and Redis's port."""
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    stat = Path(f"/proc/{backend}/stat").read_text()
    postmaster = int(stat[stat.rindex(")") + 2 :].split()[1])
    return {"postgres": postmaster, "redis": str(urlsplit(settings.REDIS_URL).port or 6379)}


def _ours(program: str, pid: int, parent: int) -> bool:
    if program == "PostgreSQL" and "postgres" in OUR_SERVERS:
        return OUR_SERVERS["postgres"] in (pid, parent)
    if program == "Redis" and "redis" in OUR_SERVERS:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            return False
        return f":{OUR_SERVERS['redis']}" in command or f" {OUR_SERVERS['redis']}" in command
    return True


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the server (gunicorn's master and workers) and by the
    PostgreSQL and Redis processes of this run (`OUR_SERVERS`).

    Each process counts with its children that have ended (cutime, cstime): PostgreSQL
    serves each connection from a process of its own, and a connection that closes during
    the measurement would otherwise take its CPU out of the sum."""
    used = {"server": 0.0, **dict.fromkeys(CPU_PROGRAMS.values(), 0.0)}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # it ended meanwhile
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()  # state, parent, ...
        pid, parent = int(stat.parent.name), int(fields[1])
        program = "server" if server_pid in (pid, parent) else CPU_PROGRAMS.get(name)
        if program and _ours(program, pid, parent):
            used[program] += sum(map(int, fields[11:15])) / tick  # user, system, children's
    return used


def measure(load, args, server: Server, target: Target, script: Path) -> Load:
    """Load one URL for the measured duration, with the CPU each request cost: on average
    for each program, and the median of the server's (sync workers log each request's)."""
    logs = list((server.log.parent / "cpu").glob("*.ms"))
    for log in logs:
        log.unlink()  # the warm-up's and the earlier URLs' requests
    before = cpu_seconds(server.process.pid)
    result = load(args, server.port, target.path, target.cookies, args.duration, script)
    after = cpu_seconds(server.process.pid)
    if result.requests and Path("/proc/self/stat").exists():
        result.cpu_ms = {p: (after[p] - before[p]) * 1000 / result.requests for p in after}
    lines = [line.split() for log in (server.log.parent / "cpu").glob("*.ms") for line in
             log.read_text().splitlines() if line.strip()]  # fmt: skip
    if lines:
        result.server_median_ms = statistics.median(float(line[0]) for line in lines)
        result.cache_hits = sum(int(line[1]) for line in lines if len(line) >= 3)
        result.cache_misses = sum(int(line[2]) for line in lines if len(line) >= 3)
    return result


def load_wrk(args, port: int, path: str, cookies: list[str], seconds: float, script: Path):
    command = [
        shutil.which("wrk") or "wrk",
        f"--threads={min(2, args.concurrency)}",
        f"--connections={args.concurrency}",
        f"--duration={seconds:g}s",
        "--timeout=60s",
        f"--script={script}",
        f"http://127.0.0.1:{port}{path}",
        "--",
        *cookies,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    for line in done.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            return Load(**json.loads(line.removeprefix("WRK_JSON ")))
    raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def load_python(args, port: int, path: str, cookies: list[str], seconds: float, _script=None):
    """A closed-loop httpx client: `concurrency` clients, each with its own session.

    It runs in this process on the same CPUs as the server and costs far more per
    request than wrk: requests/s of fast URLs (/ping/) come out low, so the pages'
    ratios to /ping/ come out high.
    """
    import httpx

    async def run() -> Load:
        latencies: list[float] = []
        bad = errors = 0
        limits = httpx.Limits(max_connections=args.concurrency)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits) as c:
            deadline = time.perf_counter() + seconds

            async def client(index: int) -> None:
                nonlocal bad, errors
                headers = credential_header(cookies[index % len(cookies)]) if cookies else {}
                while time.perf_counter() < deadline:
                    started = time.perf_counter()
                    try:
                        response = await c.get(path, headers=headers, timeout=60)
                    except httpx.HTTPError:
                        errors += 1
                        continue
                    latencies.append(time.perf_counter() - started)
                    bad += not 200 <= response.status_code < 300

            started = time.perf_counter()
            await asyncio.gather(*(client(i) for i in range(args.concurrency)))
            elapsed = time.perf_counter() - started
        cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
        return Load(
            requests=len(latencies),
            seconds=elapsed,
            p50_ms=cuts[49] * 1000,
            p95_ms=cuts[94] * 1000,
            p99_ms=cuts[98] * 1000,
            max_ms=max(latencies, default=0) * 1000,
            non2xx=bad,
            socket_errors=errors,
        )

    return asyncio.run(run())


# --- The estate: who logs in, and their sessions -----------------------------------------------


@dataclass
class Target:
    label: str
    path: str
    # One per concurrent client: "sessionid=..." or a header ("Authorization: Bearer ...").
    cookies: list[str]
    expect: str  # text the page must contain: a wrong page fails the run
    note: str = ""


def sessions_for(user, count: int) -> list[str]:
    """Sessions created server-side, as a login would, as Cookie headers, each with the
    CSRF cookie a browser holds from the login page on.

    The production settings mark the session cookie Secure, so nothing would send it
    over plain HTTP: the clients send the header themselves.
    """
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.middleware.csrf import CSRF_SECRET_LENGTH
    from django.utils.crypto import get_random_string
    from django_otp import DEVICE_ID_SESSION_KEY

    from accounts.platform import sessions

    device = authenticator(user)
    keys = []
    for _ in range(count):
        session = sessions.SessionStore()  # the portal's (SESSION_ENGINE)
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        if device is not None:  # staff: signed in with their second factor, as a login ends
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        sessions.refreshed(session)
        session.create()
        csrf = get_random_string(CSRF_SECRET_LENGTH)
        keys.append(
            f"{settings.SESSION_COOKIE_NAME}={session.session_key};"
            f" {settings.CSRF_COOKIE_NAME}={csrf}"
        )
    return keys


def authenticator(user):
    """The confirmed authenticator of someone who must use two-factor sign-in (staff),
    made as if they had enrolled; None for the others."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.platform import two_factor

    if not two_factor.required_for(user):
        return None
    return two_factor.authenticator(user) or TOTPDevice.objects.create(
        user=user, name=two_factor.AUTHENTICATOR_NAME, confirmed=True
    )


def api_tokens_for(user, count: int) -> list[str]:
    """Personal API tokens, as Authorization headers."""
    from accounts.services import api_token_create

    tokens = [api_token_create(user=user, name=f"bench {i}")[1] for i in range(count)]
    return [f"Authorization: Bearer {token}" for token in tokens]


def targets(args) -> list[Target]:
    """The pages of the issue's CPU budget, the largest and a typical customer's, an AM
    with 100 accounts and one with 500; then the API."""
    from accounts.models import AccountAssignment, User
    from portal.records.models import Order
    from tickets.choices import OPEN_STATUSES
    from tickets.models import Ticket

    def customer(rank: int) -> tuple[User, list[str], str]:
        user = User.objects.get(email=f"customer-{rank:05d}@{EMAIL_DOMAIN}")
        organisation = user.memberships.get().organisation
        orders = Order.objects.filter(organisation=organisation).count()
        tickets = Ticket.objects.filter(organisation=organisation).count()
        note = f"{organisation.customer_number}: {orders:,} orders, {tickets:,} tickets"
        return user, sessions_for(user, args.concurrency), note

    def am_note(am) -> str:
        ids = AccountAssignment.objects.filter(user=am, ended_at__isnull=True).values(
            "organisation_id"
        )
        return (
            f"{ids.count()} accounts, {Order.objects.filter(organisation__in=ids).count():,}"
            f" orders, {Ticket.objects.filter(organisation__in=ids).count():,} tickets"
        )

    largest_user, largest, largest_note = customer(1)
    _, typical, typical_note = customer(args.organisations // 2 + 1)
    organisation = largest_user.memberships.get().organisation
    order = Order.objects.filter(organisation=organisation).order_by("-ordered_at").first()
    ticket = Ticket.objects.filter(organisation=organisation).order_by("-created_at").first()
    am = User.objects.get(email=f"am-001@{EMAIL_DOMAIN}")
    big_am = am_with_accounts(args, 500)
    am_sessions, big_am_sessions = (
        sessions_for(am, args.concurrency),
        sessions_for(big_am, args.concurrency),
    )
    account = (
        AccountAssignment.objects.filter(user=am, ended_at__isnull=True)
        .order_by("organisation__customer_number")
        .values_list("organisation_id", flat=True)
        .first()
    )
    am_ticket = (
        Ticket.objects.filter(organisation_id=account, status__in=OPEN_STATUSES)
        .order_by("-created_at")
        .first()
    )
    pages = [
        Target("customer home, largest organisation", "/", largest, "Your service tier",
               largest_note),
        Target("customer home, typical organisation", "/", typical, "Your service tier",
               typical_note),
        Target("orders", "/orders/", largest, 'data-testid="orders"', largest_note),
        Target("invoices", "/invoices/", largest, "Invoices", largest_note),
        Target("deliveries", "/shipments/", largest, "Deliveries", largest_note),
        Target("timeline", "/timeline/", largest, "Timeline", largest_note),
        Target("a ticket", f"/tickets/{ticket.pk}/", largest, ticket.reference, largest_note),
        Target("an order", f"/orders/{order.pk}/", largest, order.number, largest_note),
        Target("AM workspace (My accounts)", "/", am_sessions, "My accounts", am_note(am)),
        Target("My accounts, 500 accounts", "/", big_am_sessions, "My accounts",
               am_note(big_am)),
        Target("work queue", "/workspace/queue/", am_sessions, "Work queue", am_note(am)),
        Target("work queue, 500 accounts", "/workspace/queue/", big_am_sessions, "Work queue",
               am_note(big_am)),
        Target("account health page", f"/workspace/accounts/{account}/", am_sessions,
               "Health", "the AM's largest account"),
        Target("renewals", "/workspace/renewals/", am_sessions, "Renewals", am_note(am)),
        Target("80/20 (customer value)", "/tier/value/", am_sessions, "Customer value",
               am_note(am)),
        Target("tier fit", "/tier/value/fit/", am_sessions, "Tier fit", am_note(am)),
        # The page an AM opens from the work queue: the newest open ticket of their largest
        # account, as bench_load's AMs open it (its merge list holds every open ticket).
        Target("a ticket, account manager", f"/tickets/{am_ticket.pk}/", am_sessions,
               am_ticket.reference, "the AM's largest account, its newest open ticket"),
        # The API's busiest list: a customer's system paging through its orders with its
        # own API tokens.
        Target(
            "API orders list, 50 a page",
            "/api/v1/orders/?page_size=50",
            api_tokens_for(largest_user, args.concurrency),
            '"results":[{',
            f"{largest_note}; lines embedded",
        ),
        # The floor under every API call: token, rate limit, policy, DRF, one small row.
        Target(
            "API organisations list, 1 row",
            "/api/v1/organisations/",
            api_tokens_for(largest_user, args.concurrency),
            '"results":[{',
            "the API's cost per request without the orders",
        ),
    ]  # fmt: skip
    if args.only:
        pages = [page for page in pages if args.only.lower() in page.label.lower()]
    ping = Target("/ping/ (trivial JSON)", "/ping/", [], '"ok": true')
    again = Target("/ping/ again (drift check)", "/ping/", [], '"ok": true')
    return [ping, *pages, again]


def am_with_accounts(args, count: int):
    """An account manager (backup AM) of `count` organisations spread over the sizes, as
    bench_data spreads its AMs' accounts: to compare with am-001's 100."""
    from django.db import connection
    from django.utils import timezone

    from accounts.choices import TeamRole, UserKind
    from accounts.models import AccountAssignment, Organisation, User

    user = User.objects.create_user(
        email=f"am-{count}@{EMAIL_DOMAIN}",
        full_name=f"AM of {count}",
        kind=UserKind.ACCOUNT_MANAGER,
    )
    step = max(1, args.organisations // count)
    organisations = Organisation.objects.order_by("customer_number").values_list("pk", flat=True)
    AccountAssignment.objects.bulk_create(
        AccountAssignment(
            organisation_id=pk, user=user, role=TeamRole.BACKUP_AM, started_at=timezone.now()
        )
        for pk in list(organisations)[::step][:count]
    )
    # As a live database would know this AM (bench_data ends with VACUUM ANALYZE): 500 new
    # rows stay under autovacuum's threshold, and the planner would take them for a few.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {AccountAssignment._meta.db_table}")
    return user


def ping_ms(port: int) -> float:
    started = time.perf_counter()
    http_get(port, "/ping/")
    return (time.perf_counter() - started) * 1000


def wait_idle(port: int, baseline_ms: float, timeout: float = 120) -> float:
    """Wait until the server has finished the requests the last load left in flight.

    wrk stops at the deadline, but the server still works through the requests it has
    accepted (seconds of work for a slow page), which would be billed to the next URL.
    Idle: no active query on the database and /ping/ as fast as before any load, three
    times in a row. Returns the seconds waited.
    """
    from django.db import connection

    start = time.monotonic()
    quiet = 0
    while quiet < 3 and time.monotonic() - start < timeout:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND state = 'active' AND pid <> pg_backend_pid()"
            )
            (active,) = cursor.fetchone()
        fast = not active and ping_ms(port) < max(5.0, 3 * baseline_ms)
        quiet = quiet + 1 if fast else 0
        time.sleep(0.1)
    return time.monotonic() - start


def check(port: int, target: Target) -> int:
    """The page answers 200 with the expected content; returns its size in bytes."""
    status, body = http_get(port, target.path, target.cookies[0] if target.cookies else "")
    if status != 200 or target.expect.encode() not in body:
        raise RuntimeError(f"{target.label}: {status}, {body[:300]!r}: not the expected page")
    return len(body)


# --- Why a page is slow -----------------------------------------------------------------------


def explain_pages(pages: list[Target], threshold_ms: float) -> tuple[list[str], dict]:
    """Each page through the test client, built (the kept content cleared first) and
    kept: its time and queries each way, and EXPLAIN of the built one's slow queries.
    Returns the report and, by label, the figures."""
    from django.core.cache import cache
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    class Rollback(Exception):
        pass

    def explain(sql: str) -> list[str]:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                lines = [line for (line,) in cursor.fetchall()]
                raise Rollback
        except Rollback:
            pass
        # The plan nodes, and under them what says where the time goes.
        details = ("->", "Rows Removed", "Sort Method", "Execution Time", "Index Cond", "Filter")
        return [
            "    " + line.rstrip()
            for i, line in enumerate(lines)
            if not i or line.strip().startswith(details)
        ]

    def timed(client, path: str):
        with CaptureQueriesContext(connection) as captured:
            started, cpu = time.perf_counter(), time.process_time()
            response = client.get(path)
            elapsed = (time.perf_counter() - started) * 1000
            cpu = (time.process_time() - cpu) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{target.label}: the test client got {response.status_code}")
        return elapsed, cpu, captured.captured_queries

    out: list[str] = []
    figures: dict[str, dict] = {}
    for target in pages:
        header = credential_header(target.cookies[0])
        client = Client(
            HTTP_HOST="127.0.0.1", headers={k: v for k, v in header.items() if k != "Cookie"}
        )
        if "Cookie" in header:
            client.cookies.load(header["Cookie"])
        client.get(target.path)  # the connection, the templates, the session warm
        cache.clear()  # the kept content (and its versions): built afresh
        built_ms, built_cpu, captured = timed(client, target.path)
        kept_ms, kept_cpu, kept_queries = timed(client, target.path)
        # Slowest first, each with its place in the request (#1 ran first).
        queries = sorted(
            ({**q, "n": n} for n, q in enumerate(captured, 1)),
            key=lambda q: -float(q["time"]),
        )
        sql_ms = sum(float(q["time"]) for q in queries) * 1000
        figures[target.label] = {
            "built_ms": round(built_ms, 1),
            "built_python_cpu_ms": round(built_cpu, 1),
            "built_queries": len(queries),
            "built_sql_ms": round(sql_ms, 1),
            "kept_ms": round(kept_ms, 1),
            "kept_python_cpu_ms": round(kept_cpu, 1),
            "kept_queries": len(kept_queries),
        }
        out.append(
            f"== {target.label}: built {built_ms:.0f} ms ({built_cpu:.0f} ms Python CPU),"
            f" {len(queries)} queries, {sql_ms:.0f} ms in SQL; kept {kept_ms:.1f} ms"
            f" ({kept_cpu:.1f} ms Python CPU), {len(kept_queries)} queries"
        )
        for query in queries:
            ms = float(query["time"]) * 1000
            if ms < threshold_ms:
                break
            sql = query["sql"]
            out.append(
                f"  #{query['n']} {ms:.0f} ms  {sql[:300]}{' ...' if len(sql) > 300 else ''}"
            )
            out.extend(explain(query["sql"]))
        fastest = [
            f"{float(q['time']) * 1000:.1f}"
            for q in queries
            if float(q["time"]) * 1000 < threshold_ms
        ]
        if fastest:
            out.append(f"  the other {len(fastest)} queries (ms): {', '.join(fastest)}")
    return out, figures


# --- The runner -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organisations", type=int, default=5000, help="(5000)")
    parser.add_argument("--orders", type=int, default=1_000_000, help="(1000000)")
    parser.add_argument("--tickets", type=int, default=200_000, help="(200000)")
    parser.add_argument(
        "--lines-per-order", type=int, default=2, help="order lines, in the API's orders (2)"
    )
    parser.add_argument("--duration", type=float, default=15, help="seconds per URL (15)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per URL (3)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients (16)")
    # As the README runs it in production: sync workers. Threaded workers keep each
    # keep-alive connection on the worker that accepted it, so one of two workers often
    # served most of the 16 connections (on one page 75 req/s, 128 with an even share).
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (4)")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per worker (1: sync workers)"
    )
    parser.add_argument(
        "--client",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load generator: wrk, or a Python httpx client (auto: wrk when installed)",
    )
    parser.add_argument(
        "--explain-ms",
        type=float,
        default=10,
        help="EXPLAIN the pages' queries slower than this (10; 0 explains all)",
    )
    parser.add_argument("--db-name", default="portal_bench_pages", help="throwaway database")
    parser.add_argument("--only", default="", help="only the URLs whose label contains this")
    parser.add_argument(
        "--page-cache",
        choices=["both", "on", "off"],
        default="both",
        help="kept content on, off (PAGE_CACHE: every page built), or both side by side (both)",
    )
    args = parser.parse_args(argv)
    if args.organisations < 2 or args.concurrency < 1 or args.workers < 1 or args.threads < 1:
        parser.error("--organisations must be at least 2; --concurrency, --workers, --threads 1")
    if args.duration <= 0 or args.warmup < 0:
        parser.error("--duration must be positive and --warmup not negative")
    if args.client == "auto":
        args.client = "wrk" if shutil.which("wrk") else "python"
        if args.client == "python":
            say("bench_pages: wrk is not installed (apt-get install wrk): using the Python client")
    elif args.client == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (Debian: apt-get install wrk)")
    return args


# Each result: the URL, its page's size, its load, and "on" or "off" (kept content).
Result = tuple[Target, int, Load, str]


def ping_baseline(results: list[Result], mode: str) -> float:
    """The mean of the two /ping/ runs (before and after) of one server."""
    return statistics.mean(
        load.rps for target, _, load, m in results if target.path == "/ping/" and m == mode
    )


def hit_rate(load: Load) -> str:
    looked = load.cache_hits + load.cache_misses
    return f"{load.cache_hits / looked:.0%}" if looked else "-"


def figures(results: list[Result]) -> list[str]:
    """A Markdown table; the ratio is to the mean of the two /ping/ runs (before and after)
    of the same server (kept content on, or off)."""
    rows = [
        "| URL | kept content | requests | requests/s | p50 ms | p95 ms | p99 ms | errors"
        " | rps / ping | CPU ms a request: median server + PostgreSQL"
        " | mean server + PostgreSQL | means: server, PostgreSQL, Redis | hits / misses"
        " | page | data |",
        "| --- | --- |" + " ---: |" * 12 + " --- |",
    ]
    for target, size, load, mode in results:
        cpu = ", ".join(f"{ms:.2f}" for ms in load.cpu_ms.values()) or "-"
        median = median_budget(load)
        median = f"{median:.1f}" if median is not None else None
        rows.append(
            f"| {target.label} | {mode} | {load.requests:,} | {load.rps:,.1f}"
            f" | {load.p50_ms:.1f} | {load.p95_ms:.1f} | {load.p99_ms:.1f} | {load.errors}"
            f" | {load.rps / ping_baseline(results, mode):.4f}"
            f" | {median if median is not None else '-'}"
            f" | {server_and_database(load):.1f} | {cpu}"
            f" | {load.cache_hits:,} / {load.cache_misses:,} ({hit_rate(load)})"
            f" | {size / 1024:.1f} KiB | {target.note} |"
        )
    pings = [load.rps for target, _, load, _ in results if target.path == "/ping/"]
    drift = max(pings) / min(pings)
    rows.append(f"\n/ping/ runs differ up to {drift:.2f}x (1.00: a quiet machine).")
    return rows


def server_and_database(load: Load) -> float:
    """The issue's CPU budget: gunicorn's and PostgreSQL's CPU ms per request (means)."""
    return load.cpu_ms.get("server", 0) + load.cpu_ms.get("PostgreSQL", 0)


def median_budget(load: Load) -> float | None:
    """The median request's gunicorn CPU plus PostgreSQL's mean (its processes serve many
    requests each, so only their mean is known)."""
    if load.server_median_ms is None:
        return None
    return load.server_median_ms + load.cpu_ms.get("PostgreSQL", 0)


def figures_json(args, results: list[Result], mode: str, generation, one_request: dict) -> dict:
    """The same figures as data (var/bench/pages.json), to compare run to run; with each
    page's single request built and kept (`one_request`, explain_pages)."""
    modes = sorted({m for *_, m in results})
    return {
        "estate": {"organisations": args.organisations, "orders": args.orders,
                   "tickets": args.tickets, "generated_s": round(generation, 1)},
        "server": {"workers": args.workers, "threads": mode, "client": args.client,
                   "connections": args.concurrency, "seconds_per_url": args.duration},
        "ping_rps": {m: round(ping_baseline(results, m), 1) for m in modes},
        "urls": [
            {
                "label": target.label,
                "path": target.path,
                "page_cache": kept,
                "cache_hits": load.cache_hits,
                "cache_misses": load.cache_misses,
                "requests": load.requests,
                "rps": round(load.rps, 2),
                "p50_ms": round(load.p50_ms, 1),
                "p95_ms": round(load.p95_ms, 1),
                "p99_ms": round(load.p99_ms, 1),
                "errors": load.errors,
                "ratio_to_ping": round(load.rps / ping_baseline(results, kept), 4),
                "cpu_ms_per_request": {k: round(v, 2) for k, v in load.cpu_ms.items()},
                "cpu_ms_server_and_database": round(server_and_database(load), 2),
                "cpu_ms_median_server_plus_database_mean": (
                    None if median_budget(load) is None else round(median_budget(load), 2)
                ),
                "page_kib": round(size / 1024, 1),
                "one_request": one_request.get(target.label, {}),
            }
            for target, size, load, kept in results
        ],
    }  # fmt: skip


def server_env(url: str, db_name: str, workdir: Path) -> dict[str, str]:
    """gunicorn's environment, which this process shares to prepare the database."""
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),  # the server and this process share it
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback, no proxy in front
        "DATABASE_URL": with_database(url, db_name),
        "STATIC_ROOT": str(workdir / "static"),
        "LOG_LEVEL": "WARNING",
        # The API's per-user limit would turn the load into 429s: measure the work instead.
        "API_RATE_USER": "100000000/minute",
    }


def generate_estate(args: argparse.Namespace) -> float:
    """Fill the migrated database with `bench_data` at the sizes asked and collect the
    static files; returns the seconds the data took."""
    from django.core.management import call_command

    start = time.perf_counter()
    call_command(
        "bench_data",
        organisations=args.organisations,
        orders=args.orders,
        tickets=args.tickets,
        lines_per_order=args.lines_per_order,
    )
    generation = time.perf_counter() - start
    call_command("collectstatic", interactive=False, verbosity=0)
    return generation


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    url = server_url()
    if urlsplit(url).path.lstrip("/") == args.db_name:
        sys.exit(f"bench_pages: DATABASE_URL already names {args.db_name!r}; it would be dropped.")
    total = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    env = server_env(url, args.db_name, workdir)
    servers: dict[str, Server] = {}
    results: list[Result] = []
    create_database(url, args.db_name)
    try:
        setup_django(env)
        from django.core.management import call_command
        from django.db import connection

        start = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            (version,) = cursor.fetchone()
        say(
            f"bench_pages: {version.split(' on ')[0]}, {os.cpu_count()} CPUs,"
            f" Python {platform.python_version()}, gunicorn {gunicorn_version()}"
        )
        say(f"bench_pages: migrated {args.db_name} in {time.perf_counter() - start:.1f} s")
        generation = generate_estate(args)
        OUR_SERVERS.update(our_servers())
        plan = targets(args)
        # One server per setting of kept content, each URL loaded on one then the other,
        # so both see the machine as it is at that moment.
        modes = ["on", "off"] if args.page_cache == "both" else [args.page_cache]
        for kept in modes:
            folder = workdir / f"page-cache-{kept}"
            folder.mkdir()
            servers[kept] = start_server(args, {**env, "PAGE_CACHE": kept}, folder)
        mode = f"{args.threads} threads" if args.threads > 1 else "sync"
        say(
            f"bench_pages: gunicorn {args.workers} workers x {mode} per server, kept content"
            f" {' and '.join(modes)}; {args.client}, {args.concurrency} connections,"
            f" {args.warmup:g} s warm-up + {args.duration:g} s per URL"
        )
        load = load_wrk if args.client == "wrk" else load_python
        script = workdir / "bench.lua"
        script.write_text(WRK_SCRIPT)
        baselines = {kept: min(ping_ms(s.port) for _ in range(20)) for kept, s in servers.items()}
        for target in plan:
            for kept, server in servers.items():
                waited = max(wait_idle(s.port, baselines[k]) for k, s in servers.items())
                if waited > 1:
                    say(f"  (waited {waited:.0f} s for the servers to finish earlier requests)")
                size = check(server.port, target)
                if args.warmup:
                    load(args, server.port, target.path, target.cookies, args.warmup, script)
                result = measure(load, args, server, target, script)
                say(
                    f"  {target.label:<38} kept {kept:<3} {result.rps:9,.1f} req/s"
                    f"  p50 {result.p50_ms:7.1f} ms  p95 {result.p95_ms:7.1f} ms"
                    f"  errors {result.errors}  hits {hit_rate(result)}"
                )
                results.append((target, size, result, kept))
        errors_logged = ""
        for server in servers.values():
            server.stop()
            if server.process.returncode not in (0, -signal.SIGTERM):
                say(f"bench_pages: gunicorn stopped with {server.process.returncode}")
            errors_logged += server.log_tail(2000)
        report, one_request = explain_pages([t for t in plan if t.cookies], args.explain_ms)
        say("\n".join(report))
    finally:
        for server in servers.values():
            server.stop()
        drop_database(url, args.db_name)
        shutil.rmtree(workdir, ignore_errors=True)
    say("")
    say(
        f"== pages: {args.organisations:,} organisations, {args.orders:,} orders,"
        f" {args.tickets:,} tickets (generated in {generation:.0f} s); gunicorn {args.workers}"
        f" workers x {mode}; {args.client}, {args.concurrency} connections, {args.duration:g} s"
    )
    say("\n".join(figures(results)))
    write_figures("pages", figures_json(args, results, mode, generation, one_request))
    failed = sum(load.errors for _, _, load, _ in results)
    if errors_logged.strip():
        say(f"\ngunicorn's error log:\n{errors_logged}")
    say(f"\nbench_pages: done in {time.perf_counter() - total:.0f} s")
    if failed:
        sys.exit(f"bench_pages: {failed} requests failed: the figures are not valid.")


if __name__ == "__main__":
    main()
