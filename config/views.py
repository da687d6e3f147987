"""Project-level endpoints that belong to no business area, and helpers the apps' pages share."""

import logging

from django.conf import settings
from django.core.paginator import Paginator
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache

from config import heartbeat

logger = logging.getLogger(__name__)


@never_cache
def ping(request):
    """A trivial JSON answer: the baseline the benchmarks compare real pages with."""
    return JsonResponse({"ok": True})


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis_and_background(checks: dict[str, str]) -> None:
    """Redis answers; and (HEALTH_HEARTBEAT_STALE_SECONDS > 0) the worker's and beat's
    heartbeats in it are recent. One connection, one PING and one MGET."""
    if not settings.REDIS_URL:
        return  # the embedded default: tasks run inline, nothing to reach
    stale_after = settings.HEALTH_HEARTBEAT_STALE_SECONDS
    client = heartbeat.client()
    try:
        client.ping()
        checks["redis"] = "ok"
        if stale_after:
            for part, age in heartbeat.ages(client).items():
                checks[part] = "ok" if age is not None and age <= stale_after else "stale"
                if checks[part] != "ok":
                    logger.warning("health check: %s heartbeat %s s old", part, age)
    except Exception:
        logger.warning("health check: redis unavailable", exc_info=True)
        checks["redis"] = "unavailable"
        if stale_after:
            checks.update(dict.fromkeys(heartbeat.PARTS, "unavailable"))
    finally:
        client.close()


@never_cache
def health(request):
    """For the load balancer: 200 when PostgreSQL and Redis answer and the worker and
    beat are alive (their heartbeats), 503 naming what failed.

    No login and no details beyond "ok"/"unavailable"/"stale" per part: the reason
    (host names, errors) goes to the log, not to whoever asks.
    """
    checks = {"database": "ok", "redis": "ok"}
    try:
        _database()
    except Exception:
        logger.warning("health check: database unavailable", exc_info=True)
        checks["database"] = "unavailable"
    _redis_and_background(checks)
    healthy = all(state == "ok" for state in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


# --- Helpers of the apps' pages -----------------------------------------------------------------


def paginate(objects, number, *, per_page: int, count: int | None = None):
    """The page `number` of `objects`; `count`, when the caller knows it (a stored tally,
    portal/records/tallies.py), spares the COUNT of every row the list has."""
    paginator = Paginator(objects, per_page)
    if count is not None:
        paginator.count = count  # a cached_property: set, it is never computed
    return paginator.get_page(number)


def page_or_fragment(request, page: str, fragment: str, context: dict):
    """The whole page, or only the part htmx swaps in place.

    History restores get the whole page, and the answer varies on HX-Request so a
    browser's cache never shows a bare fragment on Back.
    """
    partial = request.htmx and not request.htmx.history_restore_request
    response = render(request, fragment if partial else page, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def query_without_page(request, *also: str) -> str:
    """The current filters as a query string, for pagination links (and, without the
    parameters named in `also`, for links that set those themselves, e.g. a sort)."""
    params = request.GET.copy()
    for name in ("page", *also):
        params.pop(name, None)
    return params.urlencode()
