"""gunicorn hooks for the page benchmark: each request's CPU milliseconds in its worker.

`bench_pages.py` starts sync workers with `-c scripts/gunicorn_cpu.py` and
BENCH_CPU_DIR set; each worker appends one line per request to `<pid>.ms` there, from which
the benchmark takes the median (a sync worker serves one request at a time, so its
process CPU time is that request's), with the request's kept-content hits and misses
(accounts.platform.page_cache.counts), its wall-clock milliseconds in the worker and the
kind of request the load generator named in X-Bench-Kind (bench_load.py: URL-quoted, so one
word) after it."""

import os
import time


def _cache_counts() -> tuple[int, int]:
    from accounts.platform import page_cache

    counts = page_cache.counts.values()
    return sum(c["hit"] for c in counts), sum(c["miss"] for c in counts)


def pre_request(worker, req):
    worker.bench_cpu_started = time.process_time()
    worker.bench_wall_started = time.perf_counter()
    worker.bench_cache_counts = _cache_counts()


def post_request(worker, req, environ, resp):
    used_ms = (time.process_time() - worker.bench_cpu_started) * 1000
    wall_ms = (time.perf_counter() - worker.bench_wall_started) * 1000
    before, after = worker.bench_cache_counts, _cache_counts()
    hits, misses = after[0] - before[0], after[1] - before[1]
    path = os.path.join(os.environ["BENCH_CPU_DIR"], f"{os.getpid()}.ms")
    kind = next((v for k, v in req.headers if k == "X-BENCH-KIND"), "")
    with open(path, "a") as log:
        log.write(f"{used_ms:.3f} {hits} {misses} {wall_ms:.3f} {kind}".rstrip() + "\n")
