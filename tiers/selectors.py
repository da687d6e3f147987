"""Reads for tiers: an organisation's tier, its SLA targets, its tier history."""

from accounts.models import Organisation
from tiers.models import ServiceTier, SlaTarget, TierAssignment


def current_tier(*, organisation: Organisation) -> ServiceTier | None:
    assignment = (
        TierAssignment.objects.current()
        .filter(organisation=organisation)
        .select_related("tier")
        .first()
    )
    return assignment.tier if assignment else None


def sla_targets(*, tier: ServiceTier) -> list[SlaTarget]:
    return list(tier.sla_targets.all())


def tier_history(*, organisation: Organisation):
    return TierAssignment.objects.filter(organisation=organisation).select_related(
        "tier", "changed_by"
    )
