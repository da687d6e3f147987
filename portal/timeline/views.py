"""The customer's timeline."""

from accounts.decorators import customer_screen
from config.views import page_or_fragment
from portal.timeline import selectors


@customer_screen
def timeline(request):
    kind = request.GET.get("kind", "")
    events = selectors.timeline(organisation=request.organisation, kind=kind, limit=100)
    context = {"timeline": events, "kind": kind, "kinds": selectors.TIMELINE_KINDS}
    return page_or_fragment(request, "portal/timeline.html", "portal/timeline_panel.html", context)
