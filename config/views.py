"""Project-level endpoints that belong to no business area, and helpers the apps' pages share."""

import logging

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 2  # the load balancer's check must answer before its own timeout


@never_cache
def ping(request):
    """A trivial JSON answer: the baseline the benchmarks compare real pages with."""
    return JsonResponse({"ok": True})


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis() -> None:
    if not settings.REDIS_URL:
        return  # the embedded default: tasks run inline, nothing to reach
    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    finally:
        client.close()


CHECKS = {"database": _database, "redis": _redis}


@never_cache
def health(request):
    """For the load balancer: 200 when PostgreSQL and Redis answer, 503 naming what failed.

    No login and no details beyond "ok"/"unavailable" per part: the reason
    (host names, errors) goes to the log, not to whoever asks.
    """
    checks = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception:
            logger.warning("health check: %s unavailable", name, exc_info=True)
            checks[name] = "unavailable"
        else:
            checks[name] = "ok"
    healthy = all(state == "ok" for state in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


# --- Helpers of the apps' pages -----------------------------------------------------------------


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
