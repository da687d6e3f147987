from django.shortcuts import render

from accounts.decorators import customer_screen
from tiers import selectors

PAGE_SIZE = 50


@customer_screen
def my_tier(request):
    tier = selectors.current_tier(organisation=request.organisation)
    return render(
        request,
        "tiers/mine.html",
        {
            "tier": tier,
            "targets": selectors.sla_targets(tier=tier) if tier else [],
            "hours": (
                selectors.support_hours(tier=tier, organisation=request.organisation)
                if tier
                else None
            ),
            "history": selectors.tier_history(organisation=request.organisation),
        },
    )
