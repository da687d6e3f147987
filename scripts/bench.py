"""Benchmarks against real PostgreSQL: `make bench`, or `python scripts/bench.py [NAME ...]`.

Each benchmark is one function registered in BENCHMARKS; name some on the command
line to run only those (all by default). The runner creates a throwaway database
(`portal_bench` by default) on the server DATABASE_URL points at, migrates it, runs
the benchmarks (flushing the tables between them), prints each one's figures and
drops the database at the end, also when something fails.

Run it through scripts/with-services.sh, which provides DATABASE_URL:

    scripts/with-services.sh .venv/bin/python scripts/bench.py sla_scan --tickets 50000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql", "postgis"}

Rows = list[tuple[str, str]]
BENCHMARKS: dict[str, Callable[[argparse.Namespace], Rows]] = {}


def benchmark(function: Callable[[argparse.Namespace], Rows]):
    """Register a benchmark under its function name (without a `bench_` prefix)."""
    BENCHMARKS[function.__name__.removeprefix("bench_")] = function
    return function


def say(message: str) -> None:
    print(message, flush=True)


FIGURES = Path(__file__).resolve().parent.parent / "var" / "bench"


def write_figures(name: str, figures: dict) -> Path:
    """Keep a benchmark's figures as var/bench/<name>.json, to compare run to run."""
    FIGURES.mkdir(parents=True, exist_ok=True)
    path = FIGURES / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    say(f"bench: figures written to {path}")
    return path


# --- The throwaway database ---------------------------------------------------------------


def server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit(
            "bench: DATABASE_URL is not set. The benchmarks need PostgreSQL: run `make bench`,"
            " or `scripts/with-services.sh .venv/bin/python scripts/bench.py`."
        )
    if urlsplit(url).scheme not in POSTGRES_SCHEMES:
        sys.exit(f"bench: DATABASE_URL must point at PostgreSQL, not {urlsplit(url).scheme!r}.")
    return url


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def admin_execute(url: str, statement: str, name: str) -> None:
    """Run CREATE/DROP DATABASE `name` from the database the URL names (autocommit)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql.SQL(statement).format(sql.Identifier(name)))


def create_database(url: str, name: str) -> None:
    admin_execute(url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name)
    admin_execute(url, "CREATE DATABASE {}", name)


def drop_database(url: str, name: str) -> None:
    try:
        from django.db import connections

        connections.close_all()
    except Exception as error:  # dropping must still be tried
        say(f"bench: closing Django connections failed: {error}")
    admin_execute(url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name)


def setup_django(url: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ["DATABASE_URL"] = url
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        sys.exit(f"bench: the settings use {engine}, not PostgreSQL.")


def flush() -> None:
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)


# --- Helpers shared by benchmarks -----------------------------------------------------------


def copy_rows(model, rows) -> int:
    """COPY dicts (keyed by attname) into the model's table; missing fields get their default.

    Derived from the model, so a new field with a default does not break the benchmark.
    """
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults = {f.attname: f.get_default() for f in fields}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
        # Table and column names come from the model, quoted; the values go through COPY.
        with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row.get(name, defaults[name]) for name in defaults])
                count += 1
    return count


def vacuum_analyze(model) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(model._meta.db_table)}")


def explain_summary(sql: str) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) a captured statement in a rolled-back transaction.

    Returns the plan nodes, rows removed by filters, the buffers and the execution time.
    """
    from django.db import connection, transaction

    class Rollback(Exception):
        pass

    lines: list[str] = []
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # `sql` is a statement Django just ran (parameters already bound).
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            lines = [line for (line,) in cursor.fetchall()]
            raise Rollback
    except Rollback:
        pass
    keep = [lines[0].strip()] if lines else []
    for line in lines[1:]:
        text = line.strip()
        if text.startswith("->"):  # a plan node
            keep.append(text.removeprefix("->").strip())
        else:
            # Buffers only for the whole statement (right under the top node).
            wanted = text.startswith(("Rows Removed", "Sort Method", "Execution Time"))
            if wanted or (text.startswith("Buffers") and len(keep) == 1):
                keep.append(text)
    return keep


def statement_times(queries) -> str:
    """'UPDATE 40 ms, SELECT 230 ms': each captured statement's verb and duration."""
    return ", ".join(
        f"{q['sql'].split(None, 1)[0]} {float(q['time']) * 1000:.0f} ms" for q in queries
    )


def table(rows: Rows) -> str:
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"  {label:<{width}}  {value}" for label, value in rows)


# --- Benchmark: the SLA scan ------------------------------------------------------------------

# Business-hours targets, as in conftest.business_hours_tier: (first response, resolution).
SLA_MINUTES = {"low": (240, 2400), "normal": (60, 480), "high": (30, 240), "urgent": (15, 120)}
PRIORITY_WEIGHTS = {"low": 20, "normal": 55, "high": 20, "urgent": 5}
# Business minutes to wall-clock: 8 business hours take about a day. The scan only
# compares timestamps, so the generator spreads them arithmetically rather than
# walking the tier's calendar for every ticket.
WALL_CLOCK_FACTOR = 3


def measure(label: str, function, repeat: int, describe=str) -> tuple[Rows, str]:
    """Time `function` `repeat` times: table rows, and the slowest statement's SQL (to EXPLAIN)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, result, queries = [], None, []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            result = function()
            times.append(time.perf_counter() - start)
        queries = captured.captured_queries
    main = max(queries, key=lambda q: float(q["time"]))
    rows = [
        (
            label,
            f"median {statistics.median(times) * 1000:,.0f} ms"
            f" (min {min(times) * 1000:,.0f}, max {max(times) * 1000:,.0f}, {repeat} runs)",
        ),
        (f"{label}: statements", f"{len(queries)}: {statement_times(queries)}"),
        (f"{label}: result", describe(result)),
    ]
    return rows, main["sql"]


def run_in_throwaway_database(db_name: str, title: str, run: Callable[[], Rows]) -> None:
    """Migrate a fresh database, `run` there, drop it (also on failure), print the table."""
    url = server_url()
    if urlsplit(url).path.lstrip("/") == db_name:
        sys.exit(f"bench: DATABASE_URL already names {db_name!r}; it would be dropped.")
    total = time.perf_counter()
    create_database(url, db_name)
    try:
        setup_django(with_database(url, db_name))
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        rows = run()
    finally:
        drop_database(url, db_name)
    print(f"\n== {title}")
    print(table(rows))
    print(f"\nbench: done in {time.perf_counter() - total:.0f} s")


def sla_ticket_rows(count: int, now: datetime, organisation_ids, tier_id, seed: int = 1):
    """Open tickets: 90 % on track, 5 % newly at risk, 5 % newly breaching at `now`.

    Kinds by position: i % 20 == 0 breaches (already warned earlier), i % 20 == 1 is at
    risk (warning passed, not warned yet), the rest are on track. Half of the at-risk
    and breaching ones are on the first-response clock (status new, no reply), half on
    the resolution clock (replied to). On-track tickets are new, open or waiting.
    """
    from django.conf import settings

    from tickets.choices import CATEGORY_DEPARTMENT, Category, Status

    rng = random.Random(seed)  # noqa: S311 - benchmark data, not security
    categories = list(Category)
    priorities = list(PRIORITY_WEIGHTS)
    weights = list(PRIORITY_WEIGHTS.values())
    on_track_statuses = [Status.NEW, Status.OPEN, Status.WAITING_ON_CUSTOMER]
    fraction = settings.SLA_WARNING_FRACTION
    for i in range(count):
        priority = rng.choices(priorities, weights)[0]
        first_min, resolution_min = SLA_MINUTES[priority]
        first = timedelta(minutes=first_min * WALL_CLOCK_FACTOR)
        resolution = timedelta(minutes=resolution_min * WALL_CLOCK_FACTOR)
        kind = i % 20
        on_first_clock = (i // 20) % 2 == 0
        paused_at = warned_at = responded_at = None
        if kind == 0:  # breaching now
            if on_first_clock:
                status, elapsed = Status.NEW, first * rng.uniform(1.0, 1.5)
                warned_at = now - elapsed + first * fraction
            else:
                status, elapsed = Status.OPEN, resolution * rng.uniform(1.0, 1.5)
                warned_at = now - elapsed + resolution * fraction
        elif kind == 1:  # at risk now
            if on_first_clock:
                status, elapsed = Status.NEW, first * rng.uniform(fraction, 0.99)
            else:
                status, elapsed = Status.OPEN, resolution * rng.uniform(fraction, 0.99)
        else:  # on track
            status = rng.choices(on_track_statuses, [3, 5, 2])[0]
            clock = first if status == Status.NEW else resolution
            elapsed = clock * rng.uniform(0.01, fraction - 0.01)
        created = now - elapsed
        if status != Status.NEW:
            responded_at = created + min(first, elapsed) * rng.uniform(0.1, 0.9)
        if status == Status.WAITING_ON_CUSTOMER:
            paused_at = responded_at + (now - responded_at) * rng.uniform(0.1, 0.9)
        category = rng.choice(categories)
        yield {
            "organisation_id": organisation_ids[i % len(organisation_ids)],
            "subject": f"Benchmark ticket {i}",
            # Plain values: psycopg would write an Enum's name, not its value.
            "category": category.value,
            "priority": priority,
            "status": status.value,
            "department": CATEGORY_DEPARTMENT[category].value,
            "created_at": created,
            "updated_at": max(created, responded_at or created, paused_at or created),
            "tier_id": tier_id,
            "first_response_due_at": created + first,
            "first_response_warn_at": created + first * fraction,
            "first_responded_at": responded_at,
            "resolution_due_at": created + resolution,
            "resolution_warn_at": created + resolution * fraction,
            "sla_paused_at": paused_at,
            "sla_warned_at": warned_at,
        }


def sla_world(tickets: int, organisations: int, now: datetime) -> None:
    from accounts.models import Organisation
    from tickets.models import Ticket
    from tiers.choices import Clock
    from tiers.models import ServiceTier, SlaTarget, TierAssignment

    tier = ServiceTier.objects.create(
        name="Standard", rank=1, annual_fee=0, clock=Clock.BUSINESS_HOURS
    )
    SlaTarget.objects.bulk_create(
        SlaTarget(tier=tier, priority=p, first_response_minutes=f, resolution_minutes=r)
        for p, (f, r) in SLA_MINUTES.items()
    )
    orgs = Organisation.objects.bulk_create(
        Organisation(name=f"Bench Org {n:04d}", customer_number=f"B-{n:05d}")
        for n in range(organisations)
    )
    TierAssignment.objects.bulk_create(
        TierAssignment(organisation=o, tier=tier, started_at=now - timedelta(days=365))
        for o in orgs
    )
    copy_rows(Ticket, sla_ticket_rows(tickets, now, [o.pk for o in orgs], tier.pk))
    vacuum_analyze(Ticket)


@benchmark
def bench_sla_scan(args: argparse.Namespace) -> Rows:
    """tickets.services.sla_scan over N open tickets: the first scan, then the steady state.

    The warning e-mails go to the broker unsent (no worker here): this measures the
    scan's SQL, not rendering and sending mail.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from tickets import services
    from tickets.choices import OPEN_STATUSES
    from tickets.models import Ticket

    now = timezone.now().replace(microsecond=0)
    say(f"sla_scan: generating {args.tickets:,} open tickets over {args.organisations} orgs ...")
    start = time.perf_counter()
    sla_world(args.tickets, args.organisations, now)
    generation = time.perf_counter() - start
    say(f"  generated and analysed in {generation:.1f} s")

    # The warning mails are queued on the broker (REDIS_URL) as in production, and no
    # worker runs here to send them: this measures the scan's SQL, not mail. Celery's own
    # setting, instead of the test settings' inline tasks.
    from celery import current_app

    current_app.conf.update(task_always_eager=False, CELERY_TASK_ALWAYS_EAGER=False)
    enqueued: list[int] = []

    def scan():
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            result = services.sla_scan(now=now)
            elapsed = time.perf_counter() - started
        if result["warned"]:
            enqueued.append(result["warned"])  # one warning batch per scan that warned
        return result, elapsed, queries.captured_queries

    first, first_s, first_queries = scan()
    say(f"  first scan: {first} in {first_s * 1000:.0f} ms, {len(first_queries)} statements")
    # Scan until there is nothing left, so the steady state is measured on its own.
    catch_up: list[float] = []
    catch_up_warned = 0
    while True:
        result, elapsed, _ = scan()
        if not (result["breached"] or result["warned"]):
            break
        catch_up.append(elapsed)
        catch_up_warned += result["warned"]
    say(f"  catch-up scans: {len(catch_up)}, warned {catch_up_warned}")
    steady = [scan() for _ in range(args.repeat)]
    if any(result != {"breached": 0, "warned": 0} for result, _, _ in steady):
        raise RuntimeError(f"the steady-state scans still found work: {steady}")
    steady_ms = [elapsed * 1000 for _, elapsed, _ in steady]
    steady_queries = steady[-1][2]

    say("  steady-state statements, EXPLAIN (ANALYZE, BUFFERS):")
    for query in steady_queries:
        say(f"    {query['sql'][:150]}{' ...' if len(query['sql']) > 150 else ''}")
        for line in explain_summary(query["sql"]):
            say(f"      {line}")

    expected_at_risk = args.tickets // 20 + (1 if args.tickets % 20 > 1 else 0)
    open_count = Ticket.objects.filter(status__in=OPEN_STATUSES).count()
    return [
        ("open tickets", f"{open_count:,}"),
        ("generation (COPY + VACUUM ANALYZE)", f"{generation:.1f} s"),
        (
            "first scan",
            f"{first_s:.2f} s (breached {first['breached']:,}, warned {first['warned']:,}"
            f" of {expected_at_risk:,} at risk)",
        ),
        ("first scan statements", f"{len(first_queries)}: {statement_times(first_queries)}"),
        (
            "catch-up scans",
            f"{len(catch_up)} ({', '.join(f'{s * 1000:.0f} ms' for s in catch_up) or '-'}),"
            f" warned {catch_up_warned:,}",
        ),
        (
            f"steady scan median of {args.repeat}",
            f"{statistics.median(steady_ms):.1f} ms"
            f" (min {min(steady_ms):.1f}, max {max(steady_ms):.1f})",
        ),
        ("steady scan statements", f"{len(steady_queries)}: {statement_times(steady_queries)}"),
        ("warning batches enqueued", ", ".join(str(n) for n in enqueued) or "-"),
    ]


# --- Benchmark: the sync engine, SQL source of order lines ----------------------------------

LEGACY_DSN_ENV = "BENCH_LEGACY_DSN"
# The legacy order-entry table, as the demo estate's order lines source reads it.
LEGACY_DDL = """
    CREATE TABLE {table} (
        id bigint PRIMARY KEY,
        order_id bigint NOT NULL,
        sku text NOT NULL,
        description text,
        qty integer NOT NULL,
        price numeric NOT NULL,
        lot text,
        updated_at timestamptz NOT NULL
    )
"""
# Four lines an order, 20,000 products, a tenth without a description, a third without a lot.
LEGACY_FILL = """
    INSERT INTO {table}
    SELECT g, (g + 3) / 4, 'SKU-' || lpad(((g * 7919) %% 20000)::text, 5, '0'),
           CASE WHEN g %% 10 = 0 THEN NULL ELSE 'Widget, grade ' || (g %% 997) END,
           1 + g %% 24, round(((g * 37) %% 100000) / 100.0 + 0.5, 2),
           CASE WHEN g %% 3 = 0 THEN NULL ELSE 'LOT-' || (g %% 5000) END,
           timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second'
    FROM generate_series(1, %s::bigint) AS g
"""
# The demo estate's order lines mapping (portal/demo_estate.py, source_configs).
LEGACY_FIELDS = {
    "external_id": "id",
    "order_id": "order_id",
    "product_code": "sku",
    "product_name": {"from": "description", "required": False},
    "quantity": {"from": "qty", "type": "decimal", "min": 0},
    "unit_price": {"from": "price", "type": "decimal", "min": 0},
    "lot": {"from": "lot", "required": False},
}
# The columns the engine stages for an order line (runs.Plan.fields, content_hash aside),
# and how the raw loader fills them from a legacy row (id, order_id, sku, description,
# qty, price, lot, updated_at); the content hash is computed in SQL from the data columns.
RAW_COLUMNS = [
    "source_id", "external_id", "organisation_id", "synced_at", "deleted_at",
    "order_id_external", "product_code", "product_name", "quantity", "unit_price",
    "currency", "lot",
]  # fmt: skip
RAW_DATA = RAW_COLUMNS[5:]


def legacy_tables(url: str, sizes: list[int]) -> None:
    """One table of `size` lines each, `order_lines_<size>`, indexed as the connector reads."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        for size in sizes:
            table = f"order_lines_{size}"
            connection.execute(LEGACY_DDL.format(table=table))
            connection.execute(LEGACY_FILL.format(table=table), [size])
            connection.execute(f"CREATE INDEX ON {table} (updated_at, id)")
            connection.execute(f"VACUUM (ANALYZE) {table}")


def sync_source(size: int):
    from portal.sync.models import SourceSystem

    return SourceSystem.objects.create(
        name=f"Bench order lines ({size:,})",
        system="bench-order-entry",
        department="sales",
        kind="sql",
        entity="order_lines",
        config={
            "dsn_env": LEGACY_DSN_ENV,
            "table": f"order_lines_{size}",
            "cursor_column": "updated_at",
            "key_column": "id",
            "fields": LEGACY_FIELDS,
        },
    )


class Statements:
    """Wall time of the run's SQL statements by kind, through Django's public
    execute_wrapper hook. The engine times its own steps (SyncRun.timings, see
    portal/sync/timings.py); this splits the statements inside them: compare (the lookup
    of stored hashes), upsert, link, seen keys and so on.
    """

    # Statement prefixes (upsert.py, identity.link_children, runs) -> kind.
    KINDS: tuple[tuple[str, str], ...] = (
        ("SELECT k.external_id, t.content_hash", "compare"),
        ('INSERT INTO "portal_orderline"', "upsert"),
        ('WITH written AS (INSERT INTO "portal_orderline"', "upsert"),
        ('UPDATE "portal_orderline" SET order_id', "link"),
        ('CREATE TEMPORARY TABLE "sync_seen_', "seen keys"),
        ("CREATE TEMPORARY TABLE", "stage reset"),
        ('TRUNCATE "sync_stage_', "stage reset"),
        ("COPY ", "stage COPY"),
        ('ANALYZE (SKIP_LOCKED) "portal_orderline"', "analyze"),
        ('INSERT INTO "sync_seen_', "seen keys"),
        ('UPDATE "portal_orderline" SET deleted_at', "mark deleted"),
        ('ANALYZE "sync_seen_', "mark deleted"),
        ('TRUNCATE "sync_seen_', "mark deleted"),
        ('UPDATE "portal_quarantinedrecord"', "quarantine"),
        ('DELETE FROM "portal_quarantinedrecord"', "quarantine"),
        ('INSERT INTO "portal_quarantinedrecord"', "quarantine"),
    )

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def execute(self, execute, sql, params, many, context):
        kind = next((k for prefix, k in self.KINDS if sql.startswith(prefix)), "other SQL")
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds[kind] = self.seconds.get(kind, 0.0) + time.perf_counter() - started

    @contextmanager
    def recording(self):
        from django.db import connection

        with connection.execute_wrapper(self.execute):
            yield self


def phases_summary(timings: dict[str, float], statements: Statements, total: float) -> str:
    """The engine's steps (its own timings), the rest of the run, then the SQL by kind."""
    steps = sorted(timings.items(), key=lambda item: -item[1])
    other = total - sum(timings.values())
    engine = ", ".join(f"{name} {seconds:.1f}" for name, seconds in [*steps, ("other", other)])
    sql = sorted(statements.seconds.items(), key=lambda item: -item[1])
    return engine + "; SQL: " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in sql)


def child_sync(args: argparse.Namespace) -> None:
    """The worker: one source_sync in this fresh process, figures as JSON lines on stdout.

    One line after each batch (so a run stopped at the timeout still tells how far it
    got), then the run's figures. Its peak RSS (VmHWM) is the whole process's: Django
    and the imports, then the run.
    """
    import json

    setup_django(os.environ["DATABASE_URL"])
    from django.db import connection

    from portal.sync import runs
    from portal.sync.models import SourceSystem

    def progress(run) -> None:
        seconds = time.perf_counter() - started
        line = {"read": run.read, "seconds": seconds, "peak_kib": memory_kib("VmHWM")}
        summary = phases_summary(run.timings, statements, seconds)
        print(json.dumps({**line, "phases": summary}), flush=True)

    source = SourceSystem.objects.get(pk=args.child_sync)
    baseline = memory_kib("VmRSS")
    with Statements().recording() as statements:
        started = time.perf_counter()
        run = runs.source_sync(source=source, full=args.child_full, progress=progress)
        seconds = time.perf_counter() - started
    peak = memory_kib("VmHWM")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_total_relation_size(to_regclass(%s))", ["sync_stage_portal_orderline"]
        )
        (stage_bytes,) = cursor.fetchone()
        if connection.pg_version >= 150000:
            # Stats reach pg_stat_user_tables when the backend is next idle; make it now.
            cursor.execute("SELECT pg_stat_force_next_flush()")
    figures = {
        "seconds": seconds,
        "baseline_kib": baseline,
        "peak_kib": peak,
        "stage_bytes": stage_bytes or 0,
        "phases": phases_summary(run.timings, statements, seconds),
        **{k: getattr(run, k) for k in ("status", "error", "read", "created", "updated")},
        **{k: getattr(run, k) for k in ("unchanged", "quarantined", "deleted")},
    }
    print(json.dumps(figures), flush=True)


def memory_kib(field: str) -> int:
    """This process's VmRSS (now) or VmHWM (peak RSS) in KiB, from /proc/self/status.

    Not getrusage's ru_maxrss: it keeps the high-water mark of the process before exec,
    i.e. of the benchmark that spawned the worker, so a small worker reports the parent's.
    """
    import resource

    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # no /proc: the best there is


WORKER_APP_NAME = "bench-sync-worker"


def run_child(source_id: int, *, full: bool, env: dict[str, str], timeout: float) -> dict:
    """source_sync in a fresh process, so its peak RSS is the worker's for that run alone.

    A run that overruns `timeout` is stopped; its figures are then those of its last
    batch, with "timeout" and the statement its database session was still running.
    """
    import json
    import subprocess

    command = [sys.executable, __file__, "--child-sync", str(source_id)]
    if full:
        command.append("--child-full")
    try:
        done = subprocess.run(  # noqa: S603 - this script, with our own arguments
            command,
            env={**env, "PGAPPNAME": WORKER_APP_NAME},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        output = expired.stdout or ""
        if isinstance(output, bytes):
            output = output.decode()
        lines = output.strip().splitlines()
        figures = json.loads(lines[-1]) if lines else {"read": 0}
        figures["timeout"] = timeout
        figures["running"] = stop_worker_session()
        return figures
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise RuntimeError(f"the sync worker failed with exit status {done.returncode}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    if figures["status"] != "succeeded":
        raise RuntimeError(f"the sync run did not succeed: {figures['error']}")
    return figures


def stop_worker_session() -> str:
    """End the killed worker's session (it would go on with its statement); say what it ran."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, state, now() - query_start, query FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = %s",
            [WORKER_APP_NAME],
        )
        sessions = cursor.fetchall()
        for pid, *_ in sessions:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    running = [
        f"{shorten(query)} (running for {duration.total_seconds():.0f} s)"
        for _, state, duration, query in sessions
        if state == "active"
    ]
    return "; ".join(running) or "no statement"


def shorten(statement: str, head: int = 50, tail: int = 110) -> str:
    """A long statement's beginning and end (where the WHERE clause tends to be)."""
    text = " ".join(statement.split())
    return text if len(text) <= head + tail + 5 else f"{text[:head]} ... {text[-tail:]}"


def tuples_written(table: str) -> int:
    """Rows inserted, updated (HOT or not) and deleted in `table`, per pg_stat_user_tables."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables"
            " WHERE relid = to_regclass(%s)",
            [table],
        )
        return cursor.fetchone()[0]


def xid_mark(cursor) -> str:
    """The current transaction id (32 bits): row versions written later are younger."""
    cursor.execute("SELECT pg_current_xact_id()::text")
    return str(int(cursor.fetchone()[0]) % 2**32)


def row_versions(cursor, table: str, mark: str) -> dict[str, int]:
    """The rows of `table`, those whose version was written after `mark` (any INSERT or
    UPDATE makes a new version, even with the same values), and those locked (xmax set:
    ON CONFLICT DO UPDATE locks the conflicting row even when its WHERE skips it).
    """
    cursor.execute(
        f"SELECT count(*), count(*) FILTER (WHERE age(xmin) < age(%s::xid)),"  # noqa: S608
        f" count(*) FILTER (WHERE xmax <> '0'::xid) FROM {table}",
        [mark],
    )
    return dict(zip(("rows", "newer", "locked"), cursor.fetchone(), strict=True))


def raw_table(name: str, like: str) -> None:
    """`name` shaped as `like`: columns, defaults, indexes, and its foreign keys too."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(f"CREATE TABLE {name} (LIKE {like} INCLUDING ALL)")
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = to_regclass(%s) AND contype = 'f'",
            [like],
        )
        for (definition,) in cursor.fetchall():
            cursor.execute(f"ALTER TABLE {name} ADD {definition}")


def raw_pass(target_url: str, legacy_url: str, size: int, source_id: int, batch: int):
    """The ceiling: psycopg alone reads the legacy rows and COPY-and-upserts them.

    Same rows, same query and server-side cursor as the connector, batches of the same
    size, each in one transaction: COPY the engine's columns into a temporary stage,
    then one INSERT ... ON CONFLICT DO UPDATE that skips rows whose hash did not change.
    Returns (seconds, row_versions of the target).
    """
    import psycopg
    from django.utils import timezone

    columns = ", ".join(RAW_COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in [*RAW_COLUMNS[2:], "content_hash"])
    content = f"md5(ROW({', '.join(RAW_DATA)})::text)"
    with (
        psycopg.connect(legacy_url, options="-c TimeZone=UTC") as legacy,
        psycopg.connect(target_url) as target,
    ):
        legacy.read_only = True
        target.execute(
            f"CREATE TEMPORARY TABLE raw_stage ON COMMIT DELETE ROWS AS "  # noqa: S608
            f"SELECT {columns} FROM raw_orderline WHERE false"
        )
        mark = xid_mark(target.cursor())
        target.commit()
        started = time.perf_counter()
        with legacy.cursor(name="bench_raw") as rows_in:
            rows_in.execute(f"SELECT * FROM order_lines_{size} ORDER BY updated_at, id")  # noqa: S608
            while rows := rows_in.fetchmany(batch):
                now = timezone.now()
                with target.cursor().copy(f"COPY raw_stage ({columns}) FROM STDIN") as copy:
                    for i, order, sku, description, qty, price, lot, _ in rows:
                        copy.write_row(
                            (source_id, i, None, now, None, order, sku, description or "",
                             qty, price, "", lot or "")
                        )  # fmt: skip
                target.execute(
                    f"INSERT INTO raw_orderline ({columns}, content_hash) "  # noqa: S608
                    f"SELECT {columns}, {content} FROM raw_stage "
                    f"ON CONFLICT (source_id, external_id) DO UPDATE SET {updates} "
                    f"WHERE raw_orderline.content_hash <> EXCLUDED.content_hash "
                    f"OR raw_orderline.deleted_at IS NOT NULL"
                )
                target.commit()
        seconds = time.perf_counter() - started
        versions = row_versions(target.cursor(), "raw_orderline", mark)
    if versions["rows"] != size:
        raise RuntimeError(f"the raw loader left {versions['rows']:,} rows, not {size:,}")
    return seconds, versions


def vacuum_analyze_table(name: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {name}")


def mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def rate(seconds: float, lines: int) -> str:
    return f"{seconds:.1f} s, {lines / seconds:,.0f} rows/s"


def run_summary(figures: dict, size: int) -> str:
    if "timeout" not in figures:
        return f"{rate(figures['seconds'], size)}, peak {mib(figures['peak_kib'])}"
    read = figures["read"]
    got = f"{read:,} rows landed in {rate(figures['seconds'], read)}" if read else "no batch"
    return f"did not finish in {figures['timeout']:.0f} s: {got}; then {figures['running']}"


def sync_size(args, size: int, urls: tuple[str, str], env: dict[str, str]) -> dict:
    """Raw ceiling (first pass, unchanged pass), then the engine (first sync, full re-sync)."""
    from django.db import connection

    from portal.records.models import OrderLine
    from portal.sync.connectors import DEFAULT_BATCH_SIZE

    bench_url, legacy_url = urls
    lines = OrderLine._meta.db_table
    source = sync_source(size)
    out: dict = {"size": size}

    raw_table("raw_orderline", lines)
    raw = (bench_url, legacy_url, size, source.pk, DEFAULT_BATCH_SIZE)
    out["raw_first_s"], _ = raw_pass(*raw)
    out["raw_load"] = load()
    vacuum_analyze_table("raw_orderline")
    out["raw_again_s"], out["raw_again"] = raw_pass(*raw)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE raw_orderline")
    say(
        f"  {size:,} lines, raw COPY-and-upsert: {rate(out['raw_first_s'], size)};"
        f" unchanged pass {rate(out['raw_again_s'], size)}"
    )

    first = run_child(source.pk, full=False, env=env, timeout=args.sync_timeout)
    out["first"] = first
    first["load"] = load()
    say(f"  {size:,} lines, first sync: {run_summary(first, size)} ({first.get('phases')})")
    if "timeout" in first:
        return out
    if first["created"] != size:
        raise RuntimeError(f"the first sync created {first['created']:,} of {size:,} lines")

    # The machine may be shared: the ceiling again, right after the first sync, shows a
    # change of load in between. The ratio is taken to the mean of the two passes.
    raw_table("raw_orderline", lines)
    out["raw_after_s"], _ = raw_pass(*raw)
    out["raw_after_load"] = load()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE raw_orderline")
    say(f"  {size:,} lines, raw COPY-and-upsert again: {rate(out['raw_after_s'], size)}")

    # No ANALYZE here: the full re-sync runs right after the first sync, as it may in
    # production; the engine analyses the table itself at the end of a run that grew it.
    with connection.cursor() as cursor:
        mark = xid_mark(cursor)
    stats_before = tuples_written(lines)
    # A re-sync slower than 1.5 times the first sync has missed its target (1.5 times
    # faster) by more than twice: stop it there rather than wait for it.
    timeout = min(args.sync_timeout, max(60, 1.5 * first["seconds"]))
    out["again"] = again = run_child(source.pk, full=True, env=env, timeout=timeout)
    again["load"] = load()
    say(f"  {size:,} lines, unchanged re-sync: {run_summary(again, size)} ({again.get('phases')})")
    if connection.pg_version < 150000:
        time.sleep(1)  # no pg_stat_force_next_flush: give the stats collector its interval
    out["again_stats"] = tuples_written(lines) - stats_before
    with connection.cursor() as cursor:
        out["again_versions"] = row_versions(cursor, lines, mark)
    if any(again.get(k) for k in ("created", "updated", "deleted")):
        raise RuntimeError(f"the unchanged re-sync wrote rows: {again}")
    return out


def load() -> float:
    """The machine's 1-minute load average, to read the figures of a shared machine by."""
    return os.getloadavg()[0]


def sync_rows(results: list[dict], generation: float) -> Rows:
    """The table: per size, the raw ceiling, the two syncs and the targets; then memory."""
    rows: Rows = [("legacy lines generated", f"{generation:.1f} s")]
    for r in results:
        size, first, again = r["size"], r["first"], r.get("again")
        raw_again = r["raw_again"]
        rows += [
            (f"[{size:,} lines]", ""),
            ("raw COPY-and-upsert", f"{rate(r['raw_first_s'], size)} (load {r['raw_load']:.1f})"),
            ("first sync", f"{run_summary(first, size)} (load {first['load']:.1f})"),
        ]
        if "timeout" in first:
            continue
        rows.append(
            (
                "raw COPY-and-upsert again",
                f"{rate(r['raw_after_s'], size)} (load {r['raw_after_load']:.1f})",
            )
        )
        before, after = (r[k] / first["seconds"] for k in ("raw_first_s", "raw_after_s"))
        ratio = (before + after) / 2
        rows.append(
            (
                "  / raw (target >= 0.50)",
                f"{ratio:.2f} ({verdict(ratio >= 0.5)}); to the pass before {before:.2f},"
                f" after {after:.2f}",
            )
        )
        rows.append(
            (
                "raw unchanged pass",
                f"{rate(r['raw_again_s'], size)} (new row versions {raw_again['newer']:,},"
                f" rows locked {raw_again['locked']:,})",
            )
        )
        rows.append(("unchanged re-sync", f"{run_summary(again, size)} (load {again['load']:.1f})"))
        if "timeout" in again:
            speedup = f"< {first['seconds'] / again['timeout']:.2f} (MISSED)"
        else:
            x = first["seconds"] / again["seconds"]
            speedup = f"{x:.2f} ({verdict(x >= 1.5)}); / raw unchanged pass"
            speedup += f" {r['raw_again_s'] / again['seconds']:.2f}"
        rows.append(("  / first sync (target >= 1.5)", speedup))
        versions = r["again_versions"]
        written = versions["newer"] + again.get("created", 0) + again.get("updated", 0)
        rows.append(
            (
                "  rows written (must be 0)",
                f"{written:,} (run: created {again.get('created', '-')},"
                f" updated {again.get('updated', '-')}; pg_stat ins+upd+del +{r['again_stats']:,};"
                f" new row versions {versions['newer']:,} of {versions['rows']:,});"
                f" rows locked {versions['locked']:,}",
            )
        )
        if r is not results[-1]:
            continue  # where the time goes: for the largest size only
        for name, label in (("first", "first sync"), ("again", "re-sync")):
            rows.append((f"{label} phases (s)", r[name].get("phases", "-")))
            if r[name].get("stage_bytes"):
                stage = f"{r[name]['stage_bytes'] / 2**20:,.0f} MiB"
                rows.append(("  stage table at the end", f"{stage} (holds one batch)"))
    rows.append(("[worker peak RSS]", ""))
    for r in results:
        peaks = [
            f"{label} {'>= ' if 'timeout' in r[name] else ''}{mib(r[name]['peak_kib'])}"
            for name, label in (("first", "first sync"), ("again", "re-sync"))
            if r.get(name, {}).get("peak_kib")
        ]
        before = r["first"].get("baseline_kib")
        rows.append(
            (
                f"{r['size']:,} lines",
                ", ".join(peaks) + (f" ({mib(before)} before the run)" if before else ""),
            )
        )
    small, large = results[0], results[-1]
    if small is not large:
        ratios = [
            (label, large[name]["peak_kib"] / small[name]["peak_kib"])
            for name, label in (("first", "first sync"), ("again", "re-sync"))
            if small.get(name, {}).get("peak_kib") and large.get(name, {}).get("peak_kib")
        ]
        rows.append(
            (
                f"{large['size']:,} / {small['size']:,} (target <= 1.3)",
                ", ".join(f"{label} {x:.2f}" for label, x in ratios)
                + f" ({verdict(all(x <= 1.3 for _, x in ratios))})",
            )
        )
    return rows


@benchmark
def bench_sync(args: argparse.Namespace) -> Rows:
    """source_sync of a SQL source of order lines: first sync, unchanged re-sync, worker RSS.

    Each size is measured against a raw psycopg COPY-and-upsert of the same rows in the
    same run. Each sync runs in a fresh worker process (see child_sync).
    """
    bench_url = os.environ["DATABASE_URL"]  # setup_django pointed it at the bench database
    legacy_name = f"{args.db_name}_legacy"
    legacy_url = with_database(bench_url, legacy_name)
    sizes = sorted({args.base_lines, args.lines})
    env = {**os.environ, "DATABASE_URL": bench_url, LEGACY_DSN_ENV: legacy_url}
    say(f"sync: generating {' and '.join(f'{n:,}' for n in sizes)} legacy order lines ...")
    create_database(bench_url, legacy_name)
    try:
        start = time.perf_counter()
        legacy_tables(legacy_url, sizes)
        generation = time.perf_counter() - start
        say(f"  generated, indexed and analysed in {generation:.1f} s")
        results = []
        for index, size in enumerate(sizes):
            if index:
                flush()
            results.append(sync_size(args, size, (bench_url, legacy_url), env))
    finally:
        admin_execute(bench_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", legacy_name)
    return sync_rows(results, generation)


# --- Reading an Excel workbook ----------------------------------------------------------------


def xlsx_read(path: Path) -> dict:
    """Read one workbook as the drop connector does; seconds, rows and peak traced memory."""
    import tracemalloc

    from portal.sync.connectors import file_formats

    tracemalloc.start()
    start = time.perf_counter()
    rows = file_formats.workbook_rows(path, sheet="Invoices", header_row=1)
    next(rows)  # the header
    count = sum(1 for _ in rows)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"rows": count, "seconds": seconds, "peak_bytes": peak, "bytes": path.stat().st_size}


def write_excel_style(path: Path, items: list, style: str) -> Path:
    """The estate's invoices as Excel itself writes a workbook: every text in the shared-
    strings table (XlsxWriter), which openpyxl's write-only mode does not use."""
    import xlsxwriter

    from portal.demo import landing_estate

    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Invoices")
    sheet.write_row(0, 0, landing_estate.HEADER)
    for number, row in enumerate(landing_estate.rows(items, style), start=1):
        for column, value in enumerate(row):
            sheet.write_string(number, column, value)
    book.close()
    return path


@benchmark
def bench_xlsx(args: argparse.Namespace) -> Rows:
    """Invoices of the landing estate (portal/demo/landing_estate.py) in .xlsx read as the
    drop connector reads them: peak memory (tracemalloc) of --xlsx-rows against 10,000,
    for a workbook with inline text (openpyxl's write-only mode) and one as Excel writes
    them (shared strings)."""
    import tempfile

    from portal.demo import landing_estate

    writers = {
        "inline text": lambda path, items: landing_estate.write_xlsx(
            path, items, "accounting_parentheses"
        ),
        "shared strings": lambda path, items: write_excel_style(
            path, items, "accounting_parentheses"
        ),
    }
    sizes = sorted({10_000, args.xlsx_rows})
    figures: dict[str, dict] = {}
    rows: Rows = []
    with tempfile.TemporaryDirectory() as folder:
        for kind, write in writers.items():
            measured = figures[kind] = {}
            for size in sizes:
                say(f"xlsx ({kind}): writing {size:,} invoices ...")
                path = write(Path(folder) / f"invoices_{size}.xlsx", landing_estate.invoices(size))
                measured[str(size)] = f = xlsx_read(path)
                path.unlink()
                rows.append(
                    (
                        f"{kind}: read {size:,} rows ({f['bytes'] / 2**20:.1f} MiB)",
                        f"{f['seconds']:.1f} s, {size / f['seconds']:,.0f} rows/s,"
                        f" peak {f['peak_bytes'] / 2**20:.1f} MiB",
                    )
                )
            ratio = measured[str(sizes[-1])]["peak_bytes"] / measured[str(sizes[0])]["peak_bytes"]
            measured["peak_ratio"] = ratio
            rows.append(
                (
                    f"  {kind}: peak {sizes[-1]:,} / {sizes[0]:,} (target <= 1.3)",
                    f"{ratio:.2f} ({verdict(ratio <= 1.3)})",
                )
            )
    write_figures("xlsx", figures)
    return rows


# --- The runner -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--tickets", type=int, default=200_000, help="open tickets (200000)")
    parser.add_argument("--organisations", type=int, default=200, help="organisations (200)")
    parser.add_argument("--repeat", type=int, default=5, help="steady-state repetitions (5)")
    parser.add_argument("--lines", type=int, default=1_000_000, help="order lines (1000000)")
    parser.add_argument(
        "--base-lines",
        type=int,
        default=100_000,
        help="the smaller size the worker's memory is compared with (100000)",
    )
    parser.add_argument(
        "--sync-timeout", type=float, default=900, help="seconds one sync run may take (900)"
    )
    parser.add_argument(
        "--xlsx-rows", type=int, default=100_000, help="rows of the workbook read (100000)"
    )
    parser.add_argument("--db-name", default="portal_bench", help="throwaway database name")
    # The sync benchmark's worker process (bench_sync runs this script with them).
    parser.add_argument("--child-sync", type=int, metavar="SOURCE_ID", help=argparse.SUPPRESS)
    parser.add_argument("--child-full", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.tickets < 20 or args.organisations < 1 or args.repeat < 1:
        parser.error("--tickets must be at least 20, --organisations and --repeat at least 1")
    if not 1 <= args.base_lines <= args.lines:
        parser.error("--base-lines must be at least 1 and at most --lines")
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    args.names = args.names or list(BENCHMARKS)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child_sync is not None:
        child_sync(args)
        return
    url = server_url()
    if urlsplit(url).path.lstrip("/") == args.db_name:
        sys.exit(f"bench: DATABASE_URL already names {args.db_name!r}; it would be dropped.")
    total = time.perf_counter()
    create_database(url, args.db_name)
    try:
        setup_django(with_database(url, args.db_name))
        from django.core.management import call_command
        from django.db import connection

        start = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            (version,) = cursor.fetchone()
        say(f"bench: {version.split(' on ')[0]}, {os.cpu_count()} CPUs")
        say(f"bench: migrated {args.db_name} in {time.perf_counter() - start:.1f} s")
        results: dict[str, Rows] = {}
        for index, name in enumerate(args.names):
            if index:
                flush()
            results[name] = BENCHMARKS[name](args)
    finally:
        drop_database(url, args.db_name)
    print()
    for name, rows in results.items():
        print(f"== {name}")
        print(table(rows))
    print(f"\nbench: done in {time.perf_counter() - total:.0f} s")


if __name__ == "__main__":
    main()
