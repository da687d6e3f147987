"""Tiers: one current tier per organisation, with history, shown to the customer."""

from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.urls import reverse

from accounts.models import AuditEvent
from tiers.choices import Clock
from tiers.models import ServiceTier, TierAssignment
from tiers.selectors import current_tier
from tiers.services import tier_assign


@pytest.fixture
def premium(db):
    return ServiceTier.objects.create(
        name="Premium",
        rank=5,
        annual_fee=Decimal("12000"),
        list_price_discount_percent=Decimal("10"),
        perks="Named account manager\n\n24/7 clock \n",
        clock=Clock.ALWAYS,
        review_every_days=90,
        executive_sponsor_promised=True,
        sponsor_contact_every_days=60,
    )


def test_changing_tier_keeps_history_with_who_and_why(world, premium):
    tier_assign(organisation=world.org_a, tier=premium, by=world.am_a, reason="Grew 40 %")
    rows = TierAssignment.objects.filter(organisation=world.org_a).order_by("started_at")
    assert [(r.tier.name, r.ended_at is None) for r in rows] == [
        ("Standard", False),
        ("Premium", True),
    ]
    assert rows[1].changed_by == world.am_a
    assert rows[1].reason == "Grew 40 %"
    assert rows[0].ended_at == rows[1].started_at
    assert current_tier(organisation=world.org_a) == premium
    event = AuditEvent.objects.get(action="tier.changed")
    assert event.detail == {"from": "Standard", "reason": "Grew 40 %"}


def test_assigning_the_current_tier_again_changes_nothing(world):
    tier_assign(organisation=world.org_a, tier=world.tier, by=world.admin)
    assert TierAssignment.objects.filter(organisation=world.org_a).count() == 1


def test_the_database_refuses_two_current_tiers(world, premium):
    with pytest.raises(IntegrityError):
        TierAssignment.objects.create(
            organisation=world.org_a, tier=premium, started_at=world.org_a.created_at
        )


def test_customer_sees_tier_perks_promises_and_targets(client, world, premium):
    tier_assign(organisation=world.org_a, tier=premium, by=world.admin)
    client.force_login(world.member_a)
    page = client.get(reverse("tiers:mine")).content.decode()
    assert "Premium" in page
    assert "12,000 GBP" in page
    assert "10 % off list prices" in page
    assert "<li>Named account manager</li>" in page
    assert "<li>24/7 clock</li>" in page
    assert "executive sponsor in touch at least every 60 days" in page
    assert "A business review with you every 90 days" in page
    assert "24 hours a day, 7 days a week" in page
    home = client.get(reverse("home")).content.decode()
    assert "Premium" in home


def test_customer_of_b_does_not_see_a_tier_change_of_a(client, world, premium):
    tier_assign(organisation=world.org_a, tier=premium, by=world.admin, reason="secret deal")
    client.force_login(world.member_b)
    page = client.get(reverse("tiers:mine")).content.decode()
    assert "Premium" not in page
    assert "secret deal" not in page


def test_business_hours_label_reads_naturally(world):
    assert world.tier.hours_label == "Mon–Fri 09:00–17:00"
    world.tier.business_days = "024"
    assert world.tier.hours_label == "Mon, Wed, Fri 09:00–17:00"


def test_sla_target_response_times_render_in_hours(client, world):
    client.force_login(world.member_a)
    page = client.get(reverse("tiers:mine")).content.decode()
    assert "<td>Normal</td><td>1 h</td><td>8 h</td>" in page


def test_admin_changes_tier_through_the_history_keeping_service(client, world, premium):
    client.force_login(world.admin)
    response = client.post(
        reverse("admin:tiers_tierassignment_add"),
        {"organisation": world.org_a.pk, "tier": premium.pk, "reason": "Upgrade"},
    )
    assert response.status_code == 302
    assert TierAssignment.objects.filter(organisation=world.org_a).count() == 2
    assert current_tier(organisation=world.org_a) == premium
