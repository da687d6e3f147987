"""The customer's timeline."""

from accounts.decorators import customer_screen
from accounts.platform.page_cache import page_cache
from config.views import page_or_fragment
from portal.timeline import selectors


@customer_screen
def timeline(request):
    context = {"page_cache": page_cache(request, "timeline", lambda: _timeline(request))}
    return page_or_fragment(request, "portal/timeline.html", "portal/timeline_panel.html", context)


def _timeline(request) -> dict:
    kind = request.GET.get("kind", "")
    events = selectors.timeline(organisation=request.organisation, kind=kind, limit=100)
    return {"timeline": events, "kind": kind, "kinds": selectors.TIMELINE_KINDS}
