"""Where a sync run's time goes, measured by the engine itself (SyncRun.timings).

Per batch and per step, never per record, so measuring costs nothing that shows.
Times are exclusive: a step inside another counts for the inner one only, and the
steps add up to no more than the run's wall time. Operators read them in admin;
the sync benchmark reports them (scripts/bench.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class PhaseTimes:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._inner: list[float] = []  # time of nested steps, per open step

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        self._inner.append(0.0)
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self.seconds[name] = self.seconds.get(name, 0.0) + elapsed - self._inner.pop()
            if self._inner:
                self._inner[-1] += elapsed

    def timed_iteration(self, name: str, items) -> Iterator:
        """Yield from `items`, the time spent producing each counted under `name`."""
        items = iter(items)
        while True:
            with self.phase(name):
                item = next(items, None)
            if item is None:
                return
            yield item

    def as_dict(self) -> dict[str, float]:
        """Seconds per step, to the millisecond, as SyncRun.timings keeps them."""
        return {name: round(seconds, 3) for name, seconds in self.seconds.items()}
