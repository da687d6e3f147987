"""Load test: `make bench`, or `python scripts/bench_load.py [options]`.

Customers and account managers browse realistic page mixes at the page benchmark's
scale (`manage.py bench_data`: 5,000 organisations, 1,000,000 orders, 200,000 tickets by
default) for a fixed time, against gunicorn with the production settings. Reports the
requests/s, p50/p95/p99 latency and the error count over the whole mix; any error
(non-2xx answer, socket error, timeout) makes the script exit non-zero.

Each simulated person has their own session. Customers are spread over the
organisations (the largest, the median and an even spread of ranks), account managers
are the first `--ams` of bench_data's AMs. Every request picks the next entry of a
shuffled list of (page, person) pairs weighted by the mixes below, so the load is a
blend of homes, lists, filters (htmx partials), detail pages and the AM's workspace.

The database, the data, gunicorn and the load generators are scripts/bench_pages.py's
(imported, not copied). Run it through scripts/with-services.sh:

    scripts/with-services.sh .venv/bin/python scripts/bench_load.py \
        --organisations 300 --orders 30000 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench import create_database, drop_database, say, server_url, write_figures
from bench_pages import (
    EMAIL_DOMAIN,
    Load,
    generate_estate,
    gunicorn_version,
    ping_ms,
    server_env,
    sessions_for,
    setup_django,
    start_server,
    wait_idle,
)

# What each role opens, and how often (relative weights). Customers mostly look at
# their home, orders and invoices; filters arrive as htmx partials, as in the browser.
CUSTOMER_MIX = {
    "home": 25,
    "orders": 15,
    "orders search (htmx)": 8,
    "orders by status (htmx)": 5,
    "order": 10,
    "invoices": 10,
    "deliveries": 5,
    "timeline": 6,
    "timeline kind (htmx)": 3,
    "tickets": 5,
    "ticket": 5,
    "tier": 3,
}
AM_MIX = {
    "my accounts": 30,
    "work queue": 20,
    "account": 15,
    "ticket queue": 10,
    "ticket": 10,
    "renewals": 10,
    "customer value (80/20)": 5,
    "tier fit": 5,
}


@dataclass(frozen=True)
class Request:
    kind: str  # "customer: home", "AM: work queue", ...
    path: str
    cookie: str
    htmx: bool = False


# --- The people and what they open ------------------------------------------------------------


def customer_ranks(organisations: int, count: int) -> list[int]:
    """The largest, the median and an even spread of ranks in between (1 is the largest)."""
    count = min(count, organisations)
    spread = {1 + round(i * (organisations - 1) / max(1, count - 1)) for i in range(count)}
    return sorted(spread | {1, organisations // 2 + 1})


def customer_requests(rank: int) -> dict[str, list[Request]]:
    from accounts.models import User
    from portal.records.models import Order
    from tickets.models import Ticket

    user = User.objects.get(email=f"customer-{rank:05d}@{EMAIL_DOMAIN}")
    organisation = user.memberships.get().organisation
    (cookie,) = sessions_for(user, 1)
    order = Order.objects.filter(organisation=organisation).order_by("-ordered_at").first()
    ticket = Ticket.objects.filter(organisation=organisation).order_by("-created_at").first()

    def page(kind: str, path: str, htmx: bool = False) -> Request:
        return Request(f"customer: {kind}", path, cookie, htmx)

    pages = {
        "home": [page("home", "/")],
        "orders": [page("orders", "/orders/")],
        "orders by status (htmx)": [
            page("orders by status (htmx)", "/orders/?status=shipped", True)
        ],
        "invoices": [page("invoices", "/invoices/")],
        "deliveries": [page("deliveries", "/shipments/")],
        "timeline": [page("timeline", "/timeline/")],
        "timeline kind (htmx)": [page("timeline kind (htmx)", "/timeline/?kind=order", True)],
        "tickets": [page("tickets", "/tickets/")],
        "tier": [page("tier", "/tier/")],
    }
    if order is not None:
        # A search on the start of an order number, as typed into the box.
        query = order.number[: len(order.number) - 2]
        pages["order"] = [page("order", f"/orders/{order.pk}/")]
        pages["orders search (htmx)"] = [
            page("orders search (htmx)", f"/orders/?search={query}", True)
        ]
    if ticket is not None:
        pages["ticket"] = [page("ticket", f"/tickets/{ticket.pk}/")]
    return pages


def am_requests(number: int) -> dict[str, list[Request]]:
    from accounts.models import AccountAssignment, User
    from tickets.models import Ticket

    user = User.objects.get(email=f"am-{number:03d}@{EMAIL_DOMAIN}")
    (cookie,) = sessions_for(user, 1)
    accounts = AccountAssignment.objects.filter(user=user, ended_at__isnull=True)
    # The AM's largest account (lowest customer number) and one ticket of it.
    first = accounts.order_by("organisation__customer_number").values_list(
        "organisation_id", flat=True
    )[:1]
    ticket = Ticket.objects.filter(organisation__in=first).order_by("-created_at").first()

    def page(kind: str, path: str) -> Request:
        return Request(f"AM: {kind}", path, cookie)

    pages = {
        "my accounts": [page("my accounts", "/")],
        "work queue": [page("work queue", "/workspace/queue/")],
        "ticket queue": [page("ticket queue", "/tickets/queue/")],
        "renewals": [page("renewals", "/workspace/renewals/")],
        "customer value (80/20)": [page("customer value (80/20)", "/tier/value/")],
        "tier fit": [page("tier fit", "/tier/value/fit/")],
    }
    if first:
        pages["account"] = [page("account", f"/workspace/accounts/{first[0]}/")]
    if ticket is not None:
        pages["ticket"] = [page("ticket", f"/tickets/{ticket.pk}/")]
    return pages


def request_plan(args, rng: random.Random) -> list[Request]:
    """A shuffled list of requests whose kinds follow the mixes and the people's shares."""
    people: list[tuple[dict[str, int], dict[str, list[Request]]]] = []
    for rank in customer_ranks(args.organisations, args.customers):
        people.append((CUSTOMER_MIX, customer_requests(rank)))
    for number in range(1, args.ams + 1):
        people.append((AM_MIX, am_requests(number)))
    customers = len(people) - args.ams
    plan: list[Request] = []
    for index, (mix, pages) in enumerate(people):
        is_customer = index < customers
        share = args.customer_share if is_customer else 100 - args.customer_share
        per_person = args.plan_size * share / 100 / (customers if is_customer else args.ams)
        total = sum(weight for kind, weight in mix.items() if kind in pages)
        for kind, weight in mix.items():
            for request in pages.get(kind, []):
                plan += [request] * max(1, round(per_person * weight / total))
    rng.shuffle(plan)
    return plan


# --- The load ---------------------------------------------------------------------------------

# bench_pages.py's wrk script, extended: the requests come from a file (one per line: path,
# cookie, htmx flag), each thread starts at its own place in the list, and the first few
# non-2xx statuses are reported with their paths (wrk's response() does not say which
# request it answers, so the paths are those sent most recently by that thread).
WRK_MIX_SCRIPT = r"""
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  paths = {}
  for line in io.lines(args[1]) do
    local path, cookie, htmx = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)$")
    local headers = {["Cookie"] = cookie}
    if htmx == "1" then headers["HX-Request"] = "true" end
    table.insert(requests, wrk.format("GET", path, headers))
    table.insert(paths, path)
  end
  position = math.floor((id - 1) * #requests / 4)
  think = tonumber(args[2] or "0")
  last = ""
  bad = 0
  seen = ""
end

-- Think time: each connection pauses 0 to twice the mean (ms) before its next request.
function delay()
  if think > 0 then return math.random(0, 2 * think) end
  return 0
end

function request()
  position = position % #requests + 1
  last = paths[position]
  return requests[position]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    bad = bad + 1
    if bad <= 5 then seen = seen .. " " .. status .. "@" .. last end
  end
end

function done(summary, latency, requests)
  local non2xx = 0
  local statuses = ""
  for _, thread in ipairs(threads) do
    non2xx = non2xx + thread:get("bad")
    statuses = statuses .. thread:get("seen")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "seconds": %f, "p50_ms": %f, "p95_ms": %f, "p99_ms": %f,'
    .. ' "max_ms": %f, "non2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(95) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3,
    non2xx, e.connect + e.read + e.write + e.timeout))
  io.write("WRK_BAD" .. statuses .. "\n")
end
"""


@dataclass
class MixResult:
    load: Load
    bad: list[str]  # "302@/orders/" for the first few failures
    by_kind: dict[str, tuple[int, float]]  # kind -> (requests, p95 ms); Python client only


def load_wrk(
    args, port: int, plan_file: Path, script: Path, seconds: float, users: int, think_ms: int
) -> MixResult:
    command = [
        shutil.which("wrk") or "wrk",
        f"--threads={min(2, users)}",
        f"--connections={users}",
        f"--duration={seconds:g}s",
        "--timeout=60s",
        f"--script={script}",
        f"http://127.0.0.1:{port}/",
        "--",
        str(plan_file),
        str(think_ms),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    load, bad = None, []
    for line in done.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            load = Load(**json.loads(line.removeprefix("WRK_JSON ")))
        elif line.startswith("WRK_BAD"):
            bad = line.removeprefix("WRK_BAD").split()
    if load is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return MixResult(load, bad, {})


def load_python(
    args, port: int, plan: list[Request], seconds: float, users: int, think_ms: int
) -> MixResult:
    """The fallback without wrk: a closed loop of httpx clients walking the same plan.

    It shares the CPUs with the server and costs far more per request than wrk, so
    requests/s come out lower; it does give each kind of page its own p95.
    """
    import httpx

    async def run() -> MixResult:
        latencies: dict[str, list[float]] = {}
        bad: list[str] = []
        errors = 0
        limits = httpx.Limits(max_connections=users)
        rng = random.Random(args.seed)  # noqa: S311 - not security
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits) as c:
            deadline = time.perf_counter() + seconds

            async def client(index: int) -> None:
                nonlocal errors
                position = index * len(plan) // users
                while time.perf_counter() < deadline:
                    if think_ms:
                        await asyncio.sleep(rng.uniform(0, 2 * think_ms) / 1000)
                    request = plan[position % len(plan)]
                    position += 1
                    headers = {"Cookie": request.cookie}
                    if request.htmx:
                        headers["HX-Request"] = "true"
                    started = time.perf_counter()
                    try:
                        response = await c.get(request.path, headers=headers, timeout=60)
                    except httpx.HTTPError:
                        errors += 1
                        continue
                    latencies.setdefault(request.kind, []).append(time.perf_counter() - started)
                    if not 200 <= response.status_code < 300:
                        bad.append(f"{response.status_code}@{request.path}")

            started = time.perf_counter()
            await asyncio.gather(*(client(i) for i in range(users)))
            elapsed = time.perf_counter() - started
        every = sorted(x for values in latencies.values() for x in values)
        load = Load(
            requests=len(every),
            seconds=elapsed,
            p50_ms=percentile(every, 50) * 1000,
            p95_ms=percentile(every, 95) * 1000,
            p99_ms=percentile(every, 99) * 1000,
            max_ms=max(every, default=0) * 1000,
            non2xx=len(bad),
            socket_errors=errors,
        )
        by_kind = {
            kind: (len(values), percentile(sorted(values), 95) * 1000)
            for kind, values in latencies.items()
        }
        return MixResult(load, bad[:5], by_kind)

    return asyncio.run(run())


def percentile(ordered: list[float], p: int) -> float:
    if len(ordered) < 2:
        return ordered[0] if ordered else 0.0
    return statistics.quantiles(ordered, n=100)[p - 1]


def check(port: int, request: Request) -> float:
    """Each distinct page answers 200 before the load: a wrong plan fails at once.

    Returns the milliseconds the request took, alone on an idle server.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Cookie": request.cookie}
    if request.htmx:
        headers["HX-Request"] = "true"
    started = time.perf_counter()
    try:
        connection.request("GET", request.path, headers=headers)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status != 200:
        raise RuntimeError(f"{request.kind} {request.path}: {response.status}, {body[:300]!r}")
    if request.htmx and b"<html" in body:
        raise RuntimeError(f"{request.kind} {request.path}: a whole page, not the htmx partial")
    return elapsed


# --- The runner -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organisations", type=int, default=5000, help="(5000)")
    parser.add_argument("--orders", type=int, default=1_000_000, help="(1000000)")
    parser.add_argument("--tickets", type=int, default=200_000, help="(200000)")
    parser.add_argument("--lines-per-order", type=int, default=2, help="(2)")
    parser.add_argument("--customers", type=int, default=40, help="customers browsing (40)")
    parser.add_argument("--ams", type=int, default=8, help="account managers browsing (8)")
    parser.add_argument(
        "--customer-share", type=int, default=75, help="per cent of requests by customers (75)"
    )
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (60)")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of warm-up (5)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument(
        "--think-ms", type=int, default=1000, help="mean think time of the second run (1000)"
    )
    parser.add_argument(
        "--think-users", type=int, default=200, help="people of the think-time run (200)"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (4)")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per worker (1: sync, as bench_pages)"
    )
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--plan-size", type=int, default=5000, help="requests in the plan")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db-name", default="portal_bench_load", help="throwaway database")
    args = parser.parse_args(argv)
    if args.organisations < 2 or args.customers < 1 or not 1 <= args.ams <= 50:
        parser.error("--organisations at least 2, --customers at least 1, --ams 1 to 50")
    if not 0 < args.customer_share < 100 or args.concurrency < 1 or args.duration <= 0:
        parser.error("--customer-share 1 to 99, --concurrency at least 1, --duration positive")
    if args.client == "auto":
        args.client = "wrk" if shutil.which("wrk") else "python"
        if args.client == "python":
            say("bench_load: wrk is not installed (apt-get install wrk): using the Python client")
    elif args.client == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (Debian: apt-get install wrk)")
    return args


@dataclass(frozen=True)
class Run:
    """One load run: `users` connections, each pausing a random 0 to 2 x `think_ms`
    before each request (0: a closed loop, the most the server gives)."""

    label: str
    users: int
    think_ms: int


def runs(args) -> list[Run]:
    closed = Run("no think time", args.concurrency, 0)
    if not args.think_ms:
        return [closed]
    thinking = Run(f"think time {args.think_ms:,} ms on average", args.think_users, args.think_ms)
    return [closed, thinking]


def run_load(
    args, port: int, plan: list[Request], workdir: Path, seconds: float, run: Run
) -> MixResult:
    if args.client == "python":
        return load_python(args, port, plan, seconds, run.users, run.think_ms)
    plan_file, script = workdir / "plan.tsv", workdir / "mix.lua"
    if not plan_file.exists():
        plan_file.write_text(
            "".join(f"{r.path}\t{r.cookie}\t{int(r.htmx)}\n" for r in plan), encoding="utf-8"
        )
        script.write_text(WRK_MIX_SCRIPT)
    return load_wrk(args, port, plan_file, script, seconds, run.users, run.think_ms)


def report(
    args,
    plan: list[Request],
    results: list[tuple[Run, MixResult]],
    alone_ms: dict[str, list[float]],
    generation: float,
) -> list[str]:
    mode = f"{args.threads} threads" if args.threads > 1 else "sync"
    lines = [
        f"== load: {args.organisations:,} organisations, {args.orders:,} orders,"
        f" {args.tickets:,} tickets (generated in {generation:.0f} s); gunicorn {args.workers}"
        f" workers x {mode}; {args.client}; each run {args.duration:g} s after"
        f" {args.warmup:g} s of warm-up",
        f"   {args.customers} customers and {args.ams} AMs,"
        f" {args.customer_share} % of requests by customers",
        "",
        "| run | connections | requests | requests/s | p50 ms | p95 ms | p99 ms | max ms"
        " | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run, result in results:
        load = result.load
        lines.append(
            f"| {run.label} | {run.users} | {load.requests:,} | {load.rps:,.1f}"
            f" | {load.p50_ms:,.1f} | {load.p95_ms:,.1f} | {load.p99_ms:,.1f}"
            f" | {load.max_ms:,.1f} | {load.errors} |"
        )
    result = results[0][1]
    lines += [
        "",
        "The mix: each kind's share of the plan; one request alone on the idle server (median"
        " and slowest over the people)" + (", and p95 under load:" if result.by_kind else ":"),
    ]
    counts = Counter(request.kind for request in plan)
    for kind, count in sorted(counts.items(), key=lambda item: -item[1]):
        alone = alone_ms[kind]
        line = (
            f"  {kind:<34} {100 * count / len(plan):5.1f} %"
            f"  alone {statistics.median(alone):7,.1f} ms (max {max(alone):7,.1f})"
        )
        if kind in result.by_kind:
            done, p95 = result.by_kind[kind]
            line += f"  {done:6,} requests  p95 {p95:8,.1f} ms"
        lines.append(line)
    for run, result in results:
        if result.bad:
            lines.append(f"\n{run.label}, first failures (status@path): {' '.join(result.bad)}")
    return lines


def load_json(args, plan, results: list, alone_ms: dict, generation: float) -> dict:
    """The same figures as data (var/bench/load.json), to compare run to run."""
    result = results[0][1]
    counts = Counter(request.kind for request in plan)
    kinds = {}
    for kind, count in counts.items():
        kinds[kind] = {
            "share_percent": round(100 * count / len(plan), 1),
            "alone_median_ms": round(statistics.median(alone_ms[kind]), 1),
            "alone_max_ms": round(max(alone_ms[kind]), 1),
        }
        if kind in result.by_kind:
            done, p95 = result.by_kind[kind]
            kinds[kind] |= {"requests": done, "p95_ms": round(p95, 1)}
    return {
        "estate": {"organisations": args.organisations, "orders": args.orders,
                   "tickets": args.tickets, "generated_s": round(generation, 1)},
        "people": {"customers": args.customers, "ams": args.ams,
                   "customer_share_percent": args.customer_share},
        "server": {"workers": args.workers, "threads": args.threads, "client": args.client,
                   "connections": args.concurrency, "seconds": args.duration},
        "runs": [
            {"run": run.label, "connections": run.users, "think_ms_mean": run.think_ms,
             "requests": r.load.requests, "rps": round(r.load.rps, 2),
             "p50_ms": round(r.load.p50_ms, 1), "p95_ms": round(r.load.p95_ms, 1),
             "p99_ms": round(r.load.p99_ms, 1), "max_ms": round(r.load.max_ms, 1),
             "errors": r.load.errors}
            for run, r in results
        ],
        "kinds": kinds,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    url = server_url()
    if urlsplit(url).path.lstrip("/") == args.db_name:
        sys.exit(f"bench_load: DATABASE_URL already names {args.db_name!r}; it would be dropped.")
    total = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    env = server_env(url, args.db_name, workdir)
    server = None
    create_database(url, args.db_name)
    try:
        setup_django(env)
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        say(
            f"bench_load: {os.cpu_count()} CPUs, Python {platform.python_version()},"
            f" gunicorn {gunicorn_version()}; generating the data ..."
        )
        generation = generate_estate(args)
        plan = request_plan(args, random.Random(args.seed))  # noqa: S311 - not security
        server = start_server(args, env, workdir)
        distinct = {(r.path, r.cookie): r for r in plan}
        say(f"bench_load: checking {len(distinct)} distinct pages, then the load ...")
        alone_ms: dict[str, list[float]] = {}
        for request in distinct.values():
            alone_ms.setdefault(request.kind, []).append(check(server.port, request))
        baseline_ms = min(ping_ms(server.port) for _ in range(20))
        results = []
        for run in runs(args):
            if args.warmup:
                run_load(args, server.port, plan, workdir, args.warmup, run)
                wait_idle(server.port, baseline_ms)
            results.append((run, run_load(args, server.port, plan, workdir, args.duration, run)))
            wait_idle(server.port, baseline_ms)
        server.stop()
        if server.process.returncode not in (0, -signal.SIGTERM):
            say(f"bench_load: gunicorn stopped with {server.process.returncode}")
        errors_logged = server.log_tail(200)
    finally:
        if server is not None:
            server.stop()
        drop_database(url, args.db_name)
        shutil.rmtree(workdir, ignore_errors=True)
    say("")
    say("\n".join(report(args, plan, results, alone_ms, generation)))
    write_figures("load", load_json(args, plan, results, alone_ms, generation))
    if errors_logged.strip():
        say(f"\ngunicorn's error log:\n{errors_logged}")
    say(f"\nbench_load: done in {time.perf_counter() - total:.0f} s")
    failed = sum(result.load.errors for _, result in results)
    if failed:
        sys.exit(f"bench_load: {failed} requests failed.")


if __name__ == "__main__":
    main()
