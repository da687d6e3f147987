"""Project-level endpoints that belong to no business area."""

from django.http import JsonResponse
from django.views.decorators.cache import never_cache


@never_cache
def ping(request):
    """A trivial JSON answer: the baseline the benchmarks compare real pages with."""
    return JsonResponse({"ok": True})
