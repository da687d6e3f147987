"""The REST API's shared parts: pagination, throttles, permissions, error bodies.

Each app keeps its own endpoints in `<app>/api.py` and serializers in
`<app>/serializers.py`; they call the same selectors and services as the
screens, so the API and the pages answer the same way under the same policy.
"""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
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


# --- Throttles ---------------------------------------------------------------------------------


class _SettingsRateMixin:
    """Read the rate from settings on each request, so it can be tuned per deployment.

    The counts live in the cache (Redis). Without Redis the API still answers,
    unthrottled for that moment, like the pages: a limit is not worth an outage.
    """

    setting = ""

    def get_rate(self):
        return getattr(settings, self.setting)

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except RedisError:
            logger.warning("API rate limit not applied: the cache is not answering")
            return True


class UserRateThrottle(_SettingsRateMixin, throttling.UserRateThrottle):
    setting = "API_RATE_USER"


class AnonRateThrottle(_SettingsRateMixin, throttling.AnonRateThrottle):
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
