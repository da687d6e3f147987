"""Load test: `make bench`, or `python scripts/bench_load.py [options]`.

Hundreds of distinct people walk journeys through the portal at the page benchmark's
scale (`manage.py bench_data`) against gunicorn with the production settings, while
writes happen: a sync batch through the real sync engine every minute, the SLA scan every
minute, and ticket replies posted through the web form by the people browsing.

A customer's journey: home, orders, a search typed into the box (one htmx partial per
pause in the typing), sometimes a status filter, an order, invoices, sometimes
deliveries, the timeline and a kind tab, their tickets, a ticket, and sometimes a reply
(POST with the form's CSRF token, the redirect followed). An AM's: My accounts, work
queue, an account, the ticket queue, a ticket, sometimes a public reply, then renewals,
80/20 or tier fit. Each person has their own session (made as bench_pages makes them)
and thinks between pages (exponential, `--think-s` on average, capped). On their first
page a person fetches the page's static files (WhiteNoise's hashed URLs: once per
person, then kept) and any htmx request the page makes on load, as a browser does.

Reports requests/s, p50/p95/p99 per kind of request and overall, errors (any non-2xx
other than a POST's redirect, socket errors, timeouts: they fail the run), kept-content
hits and misses per kind and the hit rate, the server's CPU per request, the writes done
and their durations, and the load generator's own CPU; with kept content on and off
(`--page-cache both`) side by side. The database, the data, gunicorn and the CPU
accounting are scripts/bench_pages.py's (imported, not copied). Run it through
scripts/with-services.sh:

    scripts/with-services.sh .venv/bin/python scripts/bench_load.py \
        --organisations 300 --orders 30000 --tickets 6000 --duration 120
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import queue
import random
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

from bench import create_database, drop_database, say, server_url, with_database, write_figures
from bench_pages import (
    EMAIL_DOMAIN,
    OUR_SERVERS,
    cpu_seconds,
    gunicorn_version,
    our_servers,
    ping_ms,
    server_env,
    sessions_for,
    setup_django,
    start_server,
    wait_idle,
)

# --- Journeys: who opens what, in which order ----------------------------------------------


@dataclass(frozen=True)
class Person:
    role: str  # "customer" or "AM"
    name: str  # their email
    cookie: str  # "sessionid=...; csrftoken=..." as sessions_for makes it
    order: str = ""  # paths of things of theirs a journey opens ("" when they have none)
    ticket: str = ""
    account: str = ""
    search: str = ""  # what a customer types into the orders search box


@dataclass(frozen=True)
class Step:
    kind: str  # "customer: home", ...: what the figures are grouped by
    path: str
    think: float = 0.0  # seconds the person pauses before this step
    htmx: bool = False
    reply: bool = False  # a POST of the ticket form on the page before; its redirect followed


def think_time(rng: random.Random, mean: float, cap: float) -> float:
    """A person reading a page: exponential with the given mean, capped."""
    return min(cap, rng.expovariate(1 / mean)) if mean > 0 else 0.0


def typed(text: str, rng: random.Random) -> list[str]:
    """What the search box sends while someone types `text`: htmx fires after each pause of
    400 ms, so a few growing prefixes (at least 3 characters), the whole text last."""
    stops = sorted(rng.sample(range(3, len(text)), k=min(2, max(0, len(text) - 3))))
    return [text[:n] for n in stops] + [text]


def customer_journey(person: Person, rng: random.Random, think, reply_share: float) -> list[Step]:
    """Home, then some of what a customer comes for, each with the probability here."""

    def page(kind: str, path: str, **extra) -> Step:
        return Step(f"customer: {kind}", path, think=extra.pop("think", think()), **extra)

    def orders() -> list[Step]:
        steps = [page("orders", "/orders/")]
        for n, prefix in enumerate(typed(person.search, rng) if person.search else []):
            pause = think() if n == 0 else rng.uniform(0.4, 1.5)  # typing, not reading
            steps.append(page("orders search (htmx)", f"/orders/?search={quote(prefix)}",
                              think=pause, htmx=True))  # fmt: skip
        if rng.random() < 0.3:
            steps.append(page("orders by status (htmx)", "/orders/?status=shipped", htmx=True))
        return steps + ([page("order", person.order)] if person.order else [])

    def timeline() -> list[Step]:
        steps = [page("timeline", "/timeline/")]
        if rng.random() < 0.4:
            steps.append(page("timeline kind (htmx)", "/timeline/?kind=order", htmx=True))
        return steps

    def tickets() -> list[Step]:
        if not person.ticket:
            return [page("tickets", "/tickets/")]
        steps = [page("tickets", "/tickets/"), page("ticket", person.ticket)]
        if rng.random() < reply_share:
            steps.append(page("ticket reply (POST)", f"{person.ticket}reply/", reply=True))
        return steps

    visits = [(0.7, orders), (0.5, lambda: [page("invoices", "/invoices/")]),
              (0.3, lambda: [page("deliveries", "/shipments/")]), (0.4, timeline),
              (0.5, tickets), (0.1, lambda: [page("tier", "/tier/")])]  # fmt: skip
    chosen = [visit for chance, visit in visits if rng.random() < chance] or [orders]
    return [page("home", "/"), *(step for visit in chosen for step in visit())]


def am_journey(person: Person, rng: random.Random, think, reply_share: float) -> list[Step]:
    def page(kind: str, path: str, **extra) -> Step:
        return Step(f"AM: {kind}", path, think=think(), **extra)

    steps = [page("my accounts", "/"), page("work queue", "/workspace/queue/")]
    if person.account:
        steps.append(page("account", person.account))
    steps.append(page("ticket queue", "/tickets/queue/"))
    if person.ticket:
        steps.append(page("ticket", person.ticket))
        if rng.random() < reply_share:
            steps.append(page("ticket reply (POST)", f"{person.ticket}reply/", reply=True))
    pages = [("renewals", "/workspace/renewals/"), ("customer value (80/20)", "/tier/value/"),
             ("tier fit", "/tier/value/fit/")]  # fmt: skip
    steps.append(page(*rng.choice(pages)))
    return steps


def journey(person: Person, rng: random.Random, args) -> list[Step]:
    """One walk through the portal; a person walks one after another until the end."""

    def think() -> float:
        return think_time(rng, args.think_s, args.think_cap_s)

    walk = customer_journey if person.role == "customer" else am_journey
    return walk(person, rng, think, args.reply_share)


# --- The people ---------------------------------------------------------------------------------


def customer_ranks(organisations: int, count: int) -> list[int]:
    """The largest, the median and an even spread of ranks in between (1 is the largest)."""
    count = min(count, organisations)
    spread = {1 + round(i * (organisations - 1) / max(1, count - 1)) for i in range(count)}
    return sorted(spread | {1, organisations // 2 + 1})


def newest_open_ticket(organisations):
    from tickets.choices import OPEN_STATUSES
    from tickets.models import Ticket

    return (
        Ticket.objects.filter(organisation__in=organisations, status__in=OPEN_STATUSES)
        .order_by("-created_at")
        .values_list("pk", flat=True)
        .first()
    )


def customer(rank: int) -> Person:
    from accounts.models import User
    from portal.records.models import Order

    user = User.objects.get(email=f"customer-{rank:05d}@{EMAIL_DOMAIN}")
    organisation = user.memberships.get().organisation
    (cookie,) = sessions_for(user, 1)
    order = Order.objects.filter(organisation=organisation).order_by("-ordered_at").first()
    ticket = newest_open_ticket([organisation])
    return Person(
        "customer",
        user.email,
        cookie,
        order=f"/orders/{order.pk}/" if order else "",
        ticket=f"/tickets/{ticket}/" if ticket else "",
        # The start of an order number, as someone looking for it types it.
        search=order.number[: len(order.number) - 2] if order else "",
    )


def account_manager(number: int) -> Person:
    from accounts.models import AccountAssignment, User

    user = User.objects.get(email=f"am-{number:03d}@{EMAIL_DOMAIN}")
    (cookie,) = sessions_for(user, 1)
    accounts = AccountAssignment.objects.filter(user=user, ended_at__isnull=True)
    # The AM's largest account (lowest customer number) and an open ticket of it.
    first = list(
        accounts.order_by("organisation__customer_number").values_list(
            "organisation_id", flat=True
        )[:1]
    )
    ticket = newest_open_ticket(first) if first else None
    return Person(
        "AM",
        user.email,
        cookie,
        account=f"/workspace/accounts/{first[0]}/" if first else "",
        ticket=f"/tickets/{ticket}/" if ticket else "",
    )


def people(args) -> list[Person]:
    from accounts.models import User

    ams = User.objects.filter(email__startswith="am-", email__endswith=EMAIL_DOMAIN).count()
    crowd = [customer(rank) for rank in customer_ranks(args.organisations, args.customers)]
    return crowd + [account_manager(n) for n in range(1, min(args.ams, ams) + 1)]


# --- A browser's requests ---------------------------------------------------------------------

ASSET = re.compile(rb'<(?:link|script)\b[^>]*\b(?:href|src)="(/static/[^"]+)"')
ON_LOAD = re.compile(rb'<[^>]*\bhx-trigger="[^"]*\bload\b[^"]*"[^>]*>')
HX_GET = re.compile(rb'\bhx-get="([^"]+)"')
CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Answer:
    status: int
    headers: dict[str, list[str]]
    body: bytes


async def http(port: int, method: str, path: str, headers: dict, body: bytes = b"") -> Answer:
    """One request on its own connection (gunicorn's sync workers close each one)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        raw = await reader.read(-1)
    finally:
        writer.close()
    head, _, content = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    answer = Answer(int(status_line.split()[1]), {}, content)
    for line in header_lines:
        name, _, value = line.partition(":")
        answer.headers.setdefault(name.strip().lower(), []).append(value.strip())
    if answer.headers.get("transfer-encoding") == ["chunked"]:
        answer.body = unchunk(content)
    return answer


def unchunk(data: bytes) -> bytes:
    out, position = bytearray(), 0
    while True:
        end = data.index(b"\r\n", position)
        size = int(data[position:end].split(b";")[0], 16)
        if not size:
            return bytes(out)
        out += data[end + 2 : end + 2 + size]
        position = end + 2 + size + 2


@dataclass
class Tally:
    """What the people's requests did, by kind; only requests started in the measured run."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # "500 customer: home /" and the like
    steps: int = 0
    replies: int = 0
    measuring: bool = False
    deadline: float = float("inf")  # time.monotonic() at which the people stop

    def record(self, kind: str, seconds: float, problem: str = "") -> None:
        if problem:  # the warm-up's errors count too
            self.errors.append(f"{problem} ({kind})")
        if self.measuring:
            self.latencies.setdefault(kind, []).append(seconds)


class Browser:
    """One person's browser: their cookies, the static files they keep, their requests."""

    def __init__(self, person: Person, port: int, tally: Tally, timeout: float):
        self.person, self.port, self.tally, self.timeout = person, port, tally, timeout
        self.cookies = dict(
            part.strip().split("=", 1) for part in person.cookie.split(";") if part.strip()
        )
        self.kept: set[str] = set()
        self.last_page = b""

    def headers(self, kind: str, htmx: bool) -> dict[str, str]:
        headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "Accept": "text/html,*/*",
            "User-Agent": "bench_load",
            # The server's CPU log (scripts/gunicorn_cpu.py) files each request under it.
            "X-Bench-Kind": quote(kind),
        }
        if htmx:
            headers["HX-Request"] = "true"
        return headers

    async def request(self, kind: str, path: str, *, htmx=False, post: bytes | None = None):
        """Returns the answer, or None after recording an error."""
        headers = self.headers(kind, htmx)
        method, started = "GET", time.perf_counter()
        if post is not None:
            method = "POST"
            origin = f"http://127.0.0.1:{self.port}"
            headers |= {"Content-Type": "application/x-www-form-urlencoded",
                        "Origin": origin, "Referer": origin + path}  # fmt: skip
        try:
            answer = await asyncio.wait_for(
                http(self.port, method, path, headers, post or b""), self.timeout
            )
        except (OSError, TimeoutError, ValueError, IndexError) as error:
            self.tally.record(kind, time.perf_counter() - started, f"{error!r} {path}")
            return None
        self.keep_cookies(answer)
        expected = (302, 303) if post is not None else (200,)
        problem = "" if answer.status in expected else f"{answer.status} {method} {path}"
        self.tally.record(kind, time.perf_counter() - started, problem)
        return None if problem else answer

    def keep_cookies(self, answer: Answer) -> None:
        for line in answer.headers.get("set-cookie", []):
            name, _, rest = line.partition("=")
            value, *attributes = rest.split(";")
            gone = any(a.strip().lower() in ("max-age=0",) for a in attributes) or not value
            if gone:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value.strip('"')

    async def open(self, step: Step) -> None:
        if step.reply:
            await self.reply(step)
            return
        answer = await self.request(step.kind, step.path, htmx=step.htmx)
        if answer is None:
            return
        if not step.htmx:
            self.last_page = answer.body
        await self.as_a_browser_does(step, answer.body)

    async def as_a_browser_does(self, step: Step, body: bytes) -> None:
        """The static files the page names that this browser does not keep yet (hashed
        URLs: kept for good), and the htmx requests the page makes when it loads."""
        role = step.kind.split(":")[0]
        assets = [unquote(a.decode()) for a in ASSET.findall(body)]
        new = [a for a in dict.fromkeys(assets) if a not in self.kept]
        self.kept.update(new)
        loads = [m.group(1).decode() for tag in ON_LOAD.findall(body) if (m := HX_GET.search(tag))]
        await asyncio.gather(
            *(self.request(f"{role}: static file", path) for path in new),
            *(self.request(f"{role}: htmx on load", path, htmx=True) for path in loads),
        )

    async def reply(self, step: Step) -> None:
        """The reply form of the ticket page just opened, posted; the redirect followed."""
        token = CSRF_FIELD.search(self.last_page)
        if token is None:
            self.tally.record(step.kind, 0.0, f"no reply form on the page before {step.path}")
            return
        fields = {"csrfmiddlewaretoken": token.group(1).decode(), "kind": "reply",
                  "body": "Thank you, any news on this? (bench_load)"}  # fmt: skip
        answer = await self.request(step.kind, step.path, post=urlencode(fields).encode())
        if answer is None:
            return
        if self.tally.measuring:
            self.tally.replies += 1
        location = urlsplit(answer.headers["location"][0])
        after = location.path + (f"?{location.query}" if location.query else "")
        await self.open(Step(step.kind.replace("reply (POST)", "after a reply"), after))


async def walk(person: Person, args, port: int, tally: Tally, seed: int):
    rng = random.Random(seed)  # noqa: S311 - not security
    browser = Browser(person, port, tally, args.timeout)
    # People arrive over the first think times, not all at once.
    await asyncio.sleep(rng.uniform(0, args.think_cap_s))
    while time.monotonic() < tally.deadline:
        for step in journey(person, rng, args):
            await asyncio.sleep(step.think)
            if time.monotonic() >= tally.deadline:
                return
            try:
                await browser.open(step)
            except Exception as error:  # a page the browser could not read: an error too
                tally.record(step.kind, 0.0, f"{error!r} {step.path}")
            if tally.measuring:
                tally.steps += 1


async def browse(crowd: list[Person], args, port: int, tally: Tally, ready, on_measure) -> float:
    """Everyone walks for the warm-up (and until `ready` returns: the writers are set up)
    and the measured run; returns the measured seconds."""
    walkers = [
        asyncio.ensure_future(walk(p, args, port, tally, args.seed * 100_003 + i))
        for i, p in enumerate(crowd)
    ]
    await asyncio.gather(asyncio.sleep(args.warmup), asyncio.to_thread(ready))
    tally.measuring = True
    on_measure()
    measured = time.monotonic()
    tally.deadline = measured + args.duration
    await asyncio.sleep(args.duration)
    tally.measuring = False
    elapsed = time.monotonic() - measured
    # The last requests in flight end within the timeout; they no longer count.
    await asyncio.wait(walkers, timeout=args.timeout)
    for walker in walkers:
        walker.cancel()
    return elapsed


# --- The writes: separate processes, as beat's tasks and a sync worker would be ---------------

LEGACY_DSN_ENV = "BENCH_LOAD_LEGACY_DSN"
LEGACY_DDL = """
CREATE TABLE orders (
    id text PRIMARY KEY, cust_no text NOT NULL, cust_name text NOT NULL,
    order_no text NOT NULL, status text NOT NULL, placed timestamptz NOT NULL,
    currency text NOT NULL, total numeric(12, 2) NOT NULL, updated_at timestamptz NOT NULL
);
CREATE INDEX ON orders (updated_at, id);
"""
NEXT_STATUS = {"processing": "shipped", "shipped": "delivered"}


def orders_source_feed(legacy_url: str) -> int:
    """bench_data's orders source, pointed at a legacy table the writer fills each minute
    (set up before the servers start: the source's save is not a write under load)."""
    import psycopg

    from portal.sync.choices import Entity
    from portal.sync.models import SourceSystem

    with psycopg.connect(legacy_url, autocommit=True) as connection:
        connection.execute(LEGACY_DDL)
    source = SourceSystem.objects.get(system=f"bench-{Entity.ORDERS.value}")
    source.config = {
        "dsn_env": LEGACY_DSN_ENV,
        "table": "orders",
        "cursor_column": "updated_at",
        "key_column": "id",
        "customer_ids_are_ours": True,
        "fields": {
            "external_id": "id",
            "customer_id": "cust_no",
            "customer_name": "cust_name",
            "number": "order_no",
            "status": "status",
            "ordered_at": {"from": "placed", "type": "datetime"},
            "currency": {"from": "currency", "type": "currency"},
            "total": {"from": "total", "type": "decimal", "min": 0},
        },
    }
    source.save(update_fields=["config"])
    return source.pk


def sync_batch(source_id: int, legacy_url: str, batch: int, share: float, seed: int) -> dict:
    """Order entry changes `share` of the organisations: two new orders each, and their
    orders on the way (processing, shipped) move on a status; then the source's Celery
    task runs here, as a worker would run it."""
    import psycopg
    from django.db import connection
    from django.utils import timezone

    from accounts.models import Organisation
    from portal.sync import tasks

    rng = random.Random(seed * 7919 + batch)  # noqa: S311 - not security
    organisations = list(Organisation.objects.values_list("pk", flat=True))
    chosen = rng.sample(organisations, max(1, round(len(organisations) * share)))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.external_id, org.customer_number, org.name, o.number, o.status,"
            " o.ordered_at, o.currency, o.total"
            " FROM unnest(%s::bigint[]) AS c(id) JOIN accounts_organisation org ON org.id = c.id"
            " CROSS JOIN LATERAL (SELECT * FROM portal_order WHERE organisation_id = c.id"
            " AND deleted_at IS NULL AND status = ANY(%s) ORDER BY ordered_at DESC LIMIT 3) o",
            [chosen, list(NEXT_STATUS)],
        )
        rows = [(*row[:4], NEXT_STATUS[row[4]], *row[5:]) for row in cursor]
        cursor.execute(
            "SELECT customer_number, name FROM accounts_organisation WHERE id = ANY(%s)", [chosen]
        )
        for number, name in cursor.fetchall():
            for n in range(2):
                key = f"{seed}-{batch}-{n}"
                rows.append((f"{number}-load-{key}", number, name, f"SO-{number[2:]}-L{key}",
                             "processing", timezone.now(), "GBP", 99))  # fmt: skip
    with psycopg.connect(legacy_url, autocommit=True) as legacy, legacy.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO orders VALUES (%s, %s, %s, %s, %s, %s, %s, %s, clock_timestamp())"
            " ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status,"
            " updated_at = EXCLUDED.updated_at",
            rows,
        )
    started = time.perf_counter()
    result = tasks.source_sync.apply(args=[source_id]).get()
    return {"organisations": len(chosen), "rows_offered": len(rows),
            "seconds": round(time.perf_counter() - started, 2), **result}  # fmt: skip


def sla_scan() -> dict:
    from tickets import tasks

    started = time.perf_counter()
    result = tasks.sla_scan.apply().get()
    return {"seconds": round(time.perf_counter() - started, 3), **result}


def writer(what: str, env: dict, config: dict, signals, results) -> None:
    """A writer process: `what` ("sync" or "sla scan") every `every` seconds from `offset`
    after the measured run begins (`signals.go`, at `signals.start`) until `signals.stop`;
    each write's figures go to `results`, then this process's CPU."""
    setup_django(env)  # during the warm-up: the writes keep their schedule
    os.environ[LEGACY_DSN_ENV] = config["legacy_url"]
    results.put({"what": what, "ready": True})
    signals.go.wait()
    done = 0
    while not signals.stop.wait(max(0.0, signals.start.value + config["offset"]
                                    + done * config["every"] - time.monotonic())):  # fmt: skip
        try:
            if what == "sync":
                figures = sync_batch(config["source_id"], config["legacy_url"], done,
                                     config["share"], config["seed"])  # fmt: skip
            else:
                figures = sla_scan()
        except Exception as error:  # reported and counted as a failed write
            figures = {"error": repr(error)}
        results.put({"what": what, **figures})
        done += 1
    results.put({"what": what, "cpu_s": time.process_time()})


@dataclass
class Signals:
    go: Any  # multiprocessing Events, and a shared double: time.monotonic() of the start
    stop: Any
    start: Any


class Writers:
    """The sync batches and the SLA scans of one measured run, each in its own process,
    started (Django set up) during the warm-up and let go when the measured run begins."""

    def __init__(self, env: dict, args, source_id: int, legacy_url: str, seed: int):
        context = multiprocessing.get_context("spawn")  # a fresh Django each, no shared sockets
        self.signals = Signals(context.Event(), context.Event(), context.Value("d", 0.0))
        self.results = context.Queue()
        common = {"every": args.write_every, "legacy_url": legacy_url, "seed": seed}
        # A sync batch a tenth of the period in, the scan past the middle: 6 and 36 s.
        sync = {"offset": args.write_every / 10, "source_id": source_id, "share": args.sync_share}
        scan = {"offset": args.write_every * 0.6}
        self.processes = [
            context.Process(
                target=writer,
                args=(what, env, {**common, **extra}, self.signals, self.results),
                daemon=True,
            )
            for what, extra in (("sync", sync), ("sla scan", scan))
        ]
        for process in self.processes:
            process.start()

    def ready(self) -> None:
        """Wait until every writer has set up Django (seconds on a busy machine)."""
        waiting = len(self.processes)
        while waiting:
            item = self.results.get(timeout=300)
            if not item.get("ready"):
                raise RuntimeError(f"a writer failed before it was ready: {item}")
            waiting -= 1

    def begin(self) -> None:
        self.signals.start.value = time.monotonic()  # one clock for all processes (Linux)
        self.signals.go.set()

    def finish(self) -> list[dict]:
        self.signals.go.set()
        self.signals.stop.set()
        out: list[dict] = []
        ended = 0
        while ended < len(self.processes):
            try:
                item = self.results.get(timeout=5)
            except queue.Empty:
                if any(p.is_alive() for p in self.processes):
                    continue  # a sync batch still running
                out.append({"what": "writer", "error": "a writer process died", "cpu_s": 0})
                break
            ended += "cpu_s" in item
            out.append(item)
        for process in self.processes:
            process.join(timeout=30)
        return out


# --- A measured run ----------------------------------------------------------------------------


@dataclass
class Run:
    mode: str  # kept content "on" or "off"
    seconds: float
    tally: Tally
    writes: list[dict]
    client_cpu_s: float
    cpu_ms: dict[str, float]  # per request: server, PostgreSQL, Redis (means)
    by_kind: dict[str, dict[str, float]]  # server CPU median, hits, misses (server's log)

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.tally.latencies.values())


def server_log(folder: Path) -> dict[str, dict[str, float]]:
    """Per kind of request, from the server's log (scripts/gunicorn_cpu.py): the median CPU
    and wall-clock ms in the worker (the rest of a request's latency is waiting for a
    worker), and the kept-content hits and misses."""
    cpu: dict[str, list[float]] = {}
    wall: dict[str, list[float]] = {}
    hits, misses = Counter(), Counter()
    for log in folder.glob("*.ms"):
        for line in log.read_text().splitlines():
            parts = line.split()
            if len(parts) < 5:
                continue
            kind = unquote(parts[4])
            cpu.setdefault(kind, []).append(float(parts[0]))
            wall.setdefault(kind, []).append(float(parts[3]))
            hits[kind] += int(parts[1])
            misses[kind] += int(parts[2])
    return {
        kind: {"cpu_median_ms": statistics.median(v),
               "wall_median_ms": statistics.median(wall[kind]),
               "hits": hits[kind], "misses": misses[kind]}
        for kind, v in cpu.items()
    }  # fmt: skip


def measured_run(args, mode: str, server, crowd, env, source_id, legacy_url) -> Run:
    cpu_folder = server.log.parent / "cpu"
    tally = Tally()
    # Each run's batches their own (new orders, other organisations).
    writers = Writers(env, args, source_id, legacy_url, args.seed * 10 + ["on", "off"].index(mode))
    before: dict = {}

    def on_measure() -> None:  # the warm-up's requests and CPU do not count
        for log in cpu_folder.glob("*.ms"):
            log.unlink()
        writers.begin()
        before.update(cpu=cpu_seconds(server.process.pid), client=time.process_time())

    seconds = asyncio.run(browse(crowd, args, server.port, tally, writers.ready, on_measure))
    after, client = cpu_seconds(server.process.pid), time.process_time()
    writes = writers.finish()
    requests = sum(len(v) for v in tally.latencies.values()) or 1
    cpu_ms = {p: (after[p] - before["cpu"][p]) * 1000 / requests for p in after}
    return Run(mode, seconds, tally, writes, client - before["client"], cpu_ms,
               server_log(cpu_folder))  # fmt: skip


# --- The report ------------------------------------------------------------------------------


def percentile(ordered: list[float], p: int) -> float:
    if len(ordered) < 2:
        return ordered[0] if ordered else 0.0
    return statistics.quantiles(ordered, n=100)[p - 1]


def kind_rows(run: Run) -> dict[str, dict]:
    """Per kind and overall ("all"): requests, p50/p95/p99 ms, server CPU, hits/misses."""
    groups = {**run.tally.latencies, "all": [x for v in run.tally.latencies.values() for x in v]}
    rows = {}
    for kind, values in sorted(groups.items(), key=lambda item: (item[0] == "all", item[0])):
        ordered = sorted(values)
        server = run.by_kind.get(kind, {})
        if kind == "all":
            server = {"hits": sum(k["hits"] for k in run.by_kind.values()),
                      "misses": sum(k["misses"] for k in run.by_kind.values())}  # fmt: skip
        rows[kind] = {
            "requests": len(ordered),
            "p50_ms": round(percentile(ordered, 50) * 1000, 1),
            "p95_ms": round(percentile(ordered, 95) * 1000, 1),
            "p99_ms": round(percentile(ordered, 99) * 1000, 1),
            "server_cpu_median_ms": server.get("cpu_median_ms"),
            "server_wall_median_ms": server.get("wall_median_ms"),
            "hits": server.get("hits", 0),
            "misses": server.get("misses", 0),
        }
    return rows


def hit_rate(hits: int, misses: int) -> str:
    return f"{hits / (hits + misses):.0%}" if hits + misses else "-"


def writes_summary(writes: list[dict]) -> dict:
    def of(what: str) -> list[dict]:
        return [w for w in writes if w["what"] == what and "cpu_s" not in w]

    syncs, scans = of("sync"), of("sla scan")
    return {
        "sync_batches": len(syncs),
        "sync_failed": sum("error" in w or w.get("status") != "succeeded" for w in syncs),
        "sync_organisations": sum(w.get("organisations", 0) for w in syncs),
        "sync_rows_read": sum(w.get("read", 0) for w in syncs),
        "sync_rows_written": sum(w.get("created", 0) + w.get("updated", 0) for w in syncs),
        "sync_seconds": [w.get("seconds") for w in syncs],
        "sla_scans": len(scans),
        "sla_failed": sum("error" in w for w in scans),
        "sla_breached": sum(w.get("breached", 0) for w in scans),
        "sla_warned": sum(w.get("warned", 0) for w in scans),
        "sla_seconds": [w.get("seconds") for w in scans],
        "writer_cpu_s": round(sum(w["cpu_s"] for w in writes if "cpu_s" in w), 1),
        "errors": [w["error"] for w in writes if "error" in w],
    }


def report(args, crowd: list[Person], runs: list[Run], generation: float) -> list[str]:
    roles = Counter(p.role for p in crowd)
    lines = [
        f"== load: {args.organisations:,} organisations, {args.orders:,} orders,"
        f" {args.tickets:,} tickets (generated in {generation:.0f} s); gunicorn {args.workers}"
        f" sync workers; {args.duration:g} s measured after {args.warmup:g} s of warm-up",
        f"   {roles['customer']} customers and {roles['AM']} AMs, each their own session;"
        f" think time {args.think_s:g} s on average (exponential, at most"
        f" {args.think_cap_s:g} s); replies on {args.reply_share:.0%} of ticket visits;"
        f" a sync batch of {args.sync_share:.0%} of the organisations and an SLA scan"
        f" every {args.write_every:g} s",
        "",
        "| kept content | requests | requests/s | p50 ms | p95 ms | p99 ms | errors | hits /"
        " misses (rate) | CPU ms a request: server, PostgreSQL, Redis | load generator CPU |",
        "| --- |" + " ---: |" * 9,
    ]
    for run in runs:
        every = kind_rows(run)["all"]
        cpu = ", ".join(f"{ms:.1f}" for ms in run.cpu_ms.values())
        lines.append(
            f"| {run.mode} | {every['requests']:,} | {every['requests'] / run.seconds:,.1f}"
            f" | {every['p50_ms']:,.1f} | {every['p95_ms']:,.1f} | {every['p99_ms']:,.1f}"
            f" | {len(run.tally.errors)} | {every['hits']:,} / {every['misses']:,}"
            f" ({hit_rate(every['hits'], every['misses'])}) | {cpu}"
            f" | {run.client_cpu_s:.1f} s ({100 * run.client_cpu_s / run.seconds:.0f} % of a"
            f" core, {1000 * run.client_cpu_s / max(1, every['requests']):.2f} ms a request) |"
        )
    lines += ["", "By kind of request (kept content " + " | ".join(r.mode for r in runs) + "):",
              "", "| kind | " + " | ".join(
                  f"{r.mode}: requests | p50 ms | p95 ms | p99 ms | in the worker: CPU /"
                  f" wall median ms | hits / misses" for r in runs) + " |",
              "| --- |" + " ---: |" * 6 * len(runs)]  # fmt: skip
    tables = [kind_rows(run) for run in runs]
    kinds = [*sorted({k for table in tables for k in table} - {"all"}), "all"]
    for kind in kinds:
        cells = []
        for table in tables:
            row = table.get(kind)
            if row is None:
                cells.append(" - |" * 6)
                continue
            cpu, wall = row["server_cpu_median_ms"], row["server_wall_median_ms"]
            cells.append(
                f" {row['requests']:,} | {row['p50_ms']:,.1f} | {row['p95_ms']:,.1f}"
                f" | {row['p99_ms']:,.1f} | {'-' if cpu is None else f'{cpu:.1f} / {wall:.1f}'}"
                f" | {row['hits']:,} / {row['misses']:,} ({hit_rate(row['hits'], row['misses'])}) |"
            )
        lines.append(f"| {kind} |" + "".join(cells))
    for run in runs:
        w = writes_summary(run.writes)
        lines += [
            "",
            f"Writes with kept content {run.mode}: {w['sync_batches']} sync batches"
            f" ({w['sync_failed']} failed) over {w['sync_organisations']} organisations,"
            f" {w['sync_rows_read']:,} rows read, {w['sync_rows_written']:,} written, seconds"
            f" {w['sync_seconds']}; {w['sla_scans']} SLA scans ({w['sla_failed']} failed),"
            f" {w['sla_breached']} breaches marked, {w['sla_warned']} warned, seconds"
            f" {w['sla_seconds']}; {run.tally.replies} replies posted; writers' CPU"
            f" {w['writer_cpu_s']} s",
        ]
        if run.tally.errors:
            lines.append(f"First errors: {'; '.join(run.tally.errors[:8])}")
        if w["errors"]:
            lines.append(f"Write errors: {'; '.join(w['errors'][:4])}")
    return lines


def load_json(args, crowd: list[Person], runs: list[Run], generation: float) -> dict:
    """The same figures as data (var/bench/load.json), to compare run to run."""
    roles = Counter(p.role for p in crowd)
    return {
        "estate": {"organisations": args.organisations, "orders": args.orders,
                   "tickets": args.tickets, "generated_s": round(generation, 1)},
        "people": {"customers": roles["customer"], "ams": roles["AM"],
                   "think_s_mean": args.think_s, "think_s_cap": args.think_cap_s,
                   "reply_share": args.reply_share},
        "server": {"workers": args.workers, "seconds": args.duration, "warmup": args.warmup},
        "runs": [
            {"page_cache": run.mode, "seconds": round(run.seconds, 1),
             "rps": round(run.requests / run.seconds, 2), "errors": len(run.tally.errors),
             "first_errors": run.tally.errors[:20], "steps": run.tally.steps,
             "replies": run.tally.replies, "client_cpu_s": round(run.client_cpu_s, 2),
             "cpu_ms_per_request": {k: round(v, 2) for k, v in run.cpu_ms.items()},
             "kinds": kind_rows(run), "writes": writes_summary(run.writes)}
            for run in runs
        ],
    }  # fmt: skip


# --- The runner -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organisations", type=int, default=5000, help="(5000)")
    parser.add_argument("--orders", type=int, default=1_000_000, help="(1000000)")
    parser.add_argument("--tickets", type=int, default=200_000, help="(200000)")
    parser.add_argument("--lines-per-order", type=int, default=2, help="(2)")
    parser.add_argument("--customers", type=int, default=300, help="customers browsing (300)")
    parser.add_argument("--ams", type=int, default=30, help="account managers browsing (30)")
    parser.add_argument("--think-s", type=float, default=10, help="mean think time, s (10)")
    parser.add_argument("--think-cap-s", type=float, default=30, help="longest think, s (30)")
    parser.add_argument(
        "--reply-share", type=float, default=0.2, help="ticket visits ending in a reply (0.2)"
    )
    parser.add_argument(
        "--sync-share", type=float, default=0.05, help="organisations a sync batch touches (0.05)"
    )
    parser.add_argument(
        "--write-every", type=float, default=60, help="seconds between sync batches and scans (60)"
    )
    parser.add_argument("--duration", type=float, default=180, help="measured seconds (180)")
    parser.add_argument("--warmup", type=float, default=30, help="seconds of warm-up (30)")
    parser.add_argument("--timeout", type=float, default=60, help="a request's timeout, s (60)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (4)")
    parser.add_argument(
        "--page-cache", choices=["both", "on", "off"], default="both",
        help="kept content on, off (PAGE_CACHE: every page built), or both in turn (both)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db-name", default="portal_bench_load", help="throwaway database")
    args = parser.parse_args(argv)
    if args.organisations < 2 or args.customers < 1 or args.ams < 1:
        parser.error("--organisations at least 2, --customers and --ams at least 1")
    if args.duration <= 0 or args.warmup < 0 or args.think_s < 0 or args.write_every <= 0:
        parser.error("--duration and --write-every positive, --warmup and --think-s not negative")
    if not 0 <= args.reply_share <= 1 or not 0 < args.sync_share <= 1:
        parser.error("--reply-share 0 to 1, --sync-share above 0 up to 1")
    args.threads = 1  # sync workers: each request's CPU and hits are logged
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    url = server_url()
    if urlsplit(url).path.lstrip("/") in (args.db_name, f"{args.db_name}_legacy"):
        sys.exit(f"bench_load: DATABASE_URL already names {args.db_name!r}; it would be dropped.")
    total = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    env = server_env(url, args.db_name, workdir)
    legacy_url = with_database(url, f"{args.db_name}_legacy")
    servers, runs, errors_logged = {}, [], ""
    create_database(url, args.db_name)
    create_database(url, f"{args.db_name}_legacy")
    try:
        setup_django(env)
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", interactive=False, verbosity=0)
        say(
            f"bench_load: {os.cpu_count()} CPUs, Python {platform.python_version()},"
            f" gunicorn {gunicorn_version()}; generating the data ..."
        )
        from bench_pages import generate_estate

        generation = generate_estate(args)
        OUR_SERVERS.update(our_servers())
        source_id = orders_source_feed(legacy_url)
        crowd = people(args)
        connection.close()  # the writers and servers have their own
        modes = ["on", "off"] if args.page_cache == "both" else [args.page_cache]
        for mode in modes:
            folder = workdir / f"page-cache-{mode}"
            folder.mkdir()
            servers[mode] = start_server(args, {**env, "PAGE_CACHE": mode}, folder)
        baselines = {mode: min(ping_ms(s.port) for _ in range(20)) for mode, s in servers.items()}
        for mode, server in servers.items():
            wait_idle(server.port, baselines[mode])
            say(f"bench_load: kept content {mode}: {len(crowd)} people walking ...")
            run = measured_run(args, mode, server, crowd, env, source_id, legacy_url)
            every = kind_rows(run)["all"]
            say(
                f"  {run.requests:,} requests, {run.requests / run.seconds:.1f} req/s,"
                f" p95 {every['p95_ms']:.0f} ms, {len(run.tally.errors)} errors,"
                f" hits {hit_rate(every['hits'], every['misses'])}"
            )
            runs.append(run)
        for server in servers.values():
            server.stop()
            if server.process.returncode not in (0, -signal.SIGTERM):
                say(f"bench_load: gunicorn stopped with {server.process.returncode}")
            errors_logged += server.log_tail(200)
    finally:
        for server in servers.values():
            server.stop()
        drop_database(url, args.db_name)
        drop_database(url, f"{args.db_name}_legacy")
        shutil.rmtree(workdir, ignore_errors=True)
    say("")
    say("\n".join(report(args, crowd, runs, generation)))
    write_figures("load", load_json(args, crowd, runs, generation))
    if errors_logged.strip():
        say(f"\ngunicorn's error log:\n{errors_logged}")
    say(f"\nbench_load: done in {time.perf_counter() - total:.0f} s")
    failed = sum(len(run.tally.errors) for run in runs)
    failed += sum(len(writes_summary(run.writes)["errors"]) for run in runs)
    if failed:
        sys.exit(f"bench_load: {failed} requests or writes failed.")


if __name__ == "__main__":
    main()
