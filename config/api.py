"""The REST API's shared parts: pagination, throttles, permissions, error bodies.

Each app keeps its own endpoints in `<app>/api.py` and serializers in
`<app>/serializers.py`; they call the same selectors and services as the
screens, so the API and the pages answer the same way under the same policy.
"""

import functools
import json
import logging

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.views import defaults
from redis.exceptions import RedisError
from rest_framework import exceptions, pagination, permissions, throttling

logger = logging.getLogger(__name__)

# Nothing here may import rest_framework.views at import time: DRF's settings
# import these classes while APIView is being defined.

# --- Pagination --------------------------------------------------------------------------------


class CursorPagination(pagination.CursorPagination):
    """Stable pages over large, growing lists: no OFFSET, no COUNT(*)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def cursor_pagination(*ordering: str) -> type[CursorPagination]:
    """Cursor pages in this default order (the first field is the cursor's position)."""
    return type("CursorPagination", (CursorPagination,), {"ordering": ordering})


def rendered(document: str, status: int = 200) -> HttpResponse:
    """A response of JSON already rendered (by PostgreSQL: see portal/serializers.py)."""
    return HttpResponse(document, status=status, content_type="application/json")


def rendered_page(paginator: CursorPagination, documents: list[str]) -> HttpResponse:
    """A page as CursorPagination's response has it, of documents already rendered."""
    links = {"next": paginator.get_next_link(), "previous": paginator.get_previous_link()}
    links = json.dumps(links, separators=(",", ":"))  # compact, as DRF renders JSON
    return rendered(f'{links[:-1]},"results":[{",".join(documents)}]}}')


# --- Throttles ---------------------------------------------------------------------------------


class _CountingRateMixin:
    """A request counter per user (or anonymous address) and window, in the cache (Redis).

    DRF's own throttles keep every request's timestamp in one cached list, read and
    written back whole on each request: at 600 a minute that is a 600-item list
    unpickled and pickled twice per request. Here a window opens at the first
    request and the counter lives until it closes: one round trip, whatever the rate.

    The rate is read from settings on each request, so it can be tuned per
    deployment. Without Redis the API still answers, unthrottled for that moment,
    like the pages: a limit is not worth an outage.
    """

    setting = ""

    def get_rate(self):
        return getattr(settings, self.setting)

    def allow_request(self, request, view):
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        try:
            hits, self.retry_after = count_request(key, self.duration)
        except RedisError:
            logger.warning("API rate limit not applied: the cache is not answering")
            return True
        return hits <= self.num_requests

    def wait(self):
        return self.retry_after


@functools.cache
def _redis_client(location: str) -> redis.Redis:
    """One client, with its connection pool, per process and Redis server."""
    # A Redis that hangs instead of refusing must not hang the API: the limit is skipped.
    timeout = settings.REDIS_SOCKET_TIMEOUT
    return redis.Redis.from_url(location, socket_timeout=timeout, socket_connect_timeout=timeout)


def count_request(key: str, window: int) -> tuple[int, int]:
    """Count one request under `key`; returns (requests in this window, seconds it has left)."""
    cache = caches["default"]
    if not isinstance(cache, RedisCache):  # the embedded default (in-process), or any other
        cache.add(key, 0, window)
        try:
            return cache.incr(key), window
        except ValueError:  # a cache that keeps nothing (DummyCache): this request is the first
            return 1, window
    key = cache.make_and_validate_key(key)
    pipeline = _redis_client(settings.CACHES["default"]["LOCATION"]).pipeline(transaction=False)
    pipeline.set(key, 0, ex=window, nx=True)  # opens the window unless one is open
    pipeline.incr(key)
    pipeline.ttl(key)
    _, hits, seconds_left = pipeline.execute()
    return hits, max(seconds_left, 1)


class UserRateThrottle(_CountingRateMixin, throttling.UserRateThrottle):
    setting = "API_RATE_USER"


class AnonRateThrottle(_CountingRateMixin, throttling.AnonRateThrottle):
    setting = "API_RATE_ANON"


# --- Permissions -------------------------------------------------------------------------------


class IsEmployee(permissions.BasePermission):
    """Staff screens of the API (an AM's accounts): customers are refused."""

    message = "Only staff may use this endpoint."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_employee)


# --- Errors ------------------------------------------------------------------------------------

ERROR_TYPES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    415: "unsupported_media_type",
    429: "throttled",
}


def exception_handler(exc, context):
    """Every error has one body shape: {"type", "detail", "errors"}.

    `errors` maps field names to messages ("non_field_errors" for the rest), so
    a client shows a bad field next to that field. Django's own ValidationError
    and PermissionDenied, raised by the services the screens share, are
    translated here instead of in every view.
    """
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_errors(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a server error: Django's 500 handling and logging take it
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        errors = {field: list(_messages(found)) for field, found in errors.items()}
        detail = "Some fields are not valid."
    else:
        errors = {}
        detail = data.get("detail", "") if isinstance(data, dict) else str(data)
    response.data = {
        "type": ERROR_TYPES.get(response.status_code, "error"),
        "detail": str(detail),
        "errors": errors,
    }
    return response


def _messages(found, where: str = ""):
    """A field's messages as one flat list of text, as the schema promises: the errors of
    a list's items or a nested object (DRF nests them) come out as "0: ..." or "name: ..."."""
    if isinstance(found, dict):
        for key, inner in found.items():
            yield from _messages(inner, f"{where}{key}: ")
    elif isinstance(found, list | tuple):
        for inner in found:
            yield from _messages(inner, where)
    else:
        yield f"{where}{found}"


def _django_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): messages
            for field, messages in exc.message_dict.items()
        }
    return {"non_field_errors": exc.messages}


def page_not_found(request, exception):
    """Django's 404 page, or under /api/ the API's JSON error body (no HTML to a client)."""
    if request.path.startswith("/api/"):
        body = {"type": "not_found", "detail": "Not found.", "errors": {}}
        return JsonResponse(body, status=404)
    return defaults.page_not_found(request, exception)
