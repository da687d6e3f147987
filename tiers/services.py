"""Writes for tiers: giving an organisation its tier, keeping the history."""

from django.db import transaction
from django.utils import timezone

from accounts.choices import AuditAction
from accounts.models import Organisation, User
from accounts.services import audit_record
from tiers.models import ServiceTier, TierAssignment
from tiers.signals import tier_changed


@transaction.atomic
def tier_assign(
    *, organisation: Organisation, tier: ServiceTier, by: User | None, reason: str = ""
) -> TierAssignment:
    """Make `tier` the organisation's current tier; the previous one ends now."""
    current = (
        TierAssignment.objects.select_for_update()
        .filter(organisation=organisation, ended_at__isnull=True)
        .select_related("tier")
        .first()
    )
    if current and current.tier_id == tier.pk:
        return current
    now = timezone.now()
    if current:
        current.ended_at = now
        current.save(update_fields=["ended_at"])
    assignment = TierAssignment.objects.create(
        organisation=organisation, tier=tier, started_at=now, changed_by=by, reason=reason
    )
    tier_changed.send(sender=TierAssignment, organisation=organisation, tier=tier, at=now)
    audit_record(
        actor=by,
        action=AuditAction.TIER_CHANGED,
        organisation=organisation,
        target=tier.name,
        detail={"from": current.tier.name if current else None, "reason": reason},
    )
    return assignment
