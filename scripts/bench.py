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
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from unittest import mock
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

    The warning e-mails (enqueued on commit) are replaced by a recorder: this measures
    the scan's SQL, not rendering and sending mail.
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

    enqueued: list[int] = []

    def scan():
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            result = services.sla_scan(now=now)
            elapsed = time.perf_counter() - started
        return result, elapsed, queries.captured_queries

    with mock.patch.object(
        services.tasks.notify_sla_warnings,
        "delay",
        side_effect=lambda ids: enqueued.append(len(ids)),
    ):
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


# --- The runner -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--tickets", type=int, default=200_000, help="open tickets (200000)")
    parser.add_argument("--organisations", type=int, default=200, help="organisations (200)")
    parser.add_argument("--repeat", type=int, default=5, help="steady-state repetitions (5)")
    parser.add_argument("--db-name", default="portal_bench", help="throwaway database name")
    args = parser.parse_args(argv)
    if args.tickets < 20 or args.organisations < 1 or args.repeat < 1:
        parser.error("--tickets must be at least 20, --organisations and --repeat at least 1")
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    args.names = args.names or list(BENCHMARKS)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
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
