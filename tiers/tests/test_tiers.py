"""Tiers: one current tier per organisation, with history, shown to the customer."""

from datetime import date, time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from accounts.models import AuditEvent
from tiers.choices import Clock
from tiers.models import BusinessHoursWindow, Holiday, ServiceTier, SupportCalendar, TierAssignment
from tiers.selectors import current_tier, support_hours
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


def uk_office(**fields) -> SupportCalendar:
    """Mon-Fri 09:00-12:00 and 13:00-17:00, Sat 09:00-12:00."""
    calendar = SupportCalendar.objects.create(name="UK office hours", **fields)
    hours = [(day, time(9, 0), time(12, 0)) for day in range(6)]
    hours += [(day, time(13, 0), time(17, 0)) for day in range(5)]
    BusinessHoursWindow.objects.bulk_create(
        BusinessHoursWindow(calendar=calendar, weekday=day, opens=opens, closes=closes)
        for day, opens, closes in hours
    )
    return calendar


def test_business_hours_label_reads_naturally(world):
    assert world.tier.hours_label == "Mon–Fri 09:00–17:00"  # no calendar: the office week
    world.tier.support_calendar = uk_office()
    assert world.tier.hours_label == "Mon–Fri 09:00–12:00, 13:00–17:00; Sat 09:00–12:00"
    world.tier.clock = Clock.ALWAYS
    assert world.tier.hours_label == "24 hours a day, 7 days a week"


def test_customer_sees_the_windows_and_the_next_holidays(client, world):
    world.tier.support_calendar = calendar = uk_office()
    world.tier.save()
    for day, name in [
        (date(2020, 12, 25), "Long ago"),
        (date(2099, 12, 25), "Christmas Day"),
        (date(2099, 12, 26), "Christmas Day"),
        (date(2099, 12, 28), "Staff day"),
    ]:
        Holiday.objects.create(calendar=calendar, date=day, name=name)
    hours = support_hours(tier=world.tier, organisation=world.org_a, today=date(2099, 1, 1))
    assert [(h.first, h.last, h.name) for h in hours.holidays] == [
        (date(2099, 12, 25), date(2099, 12, 26), "Christmas Day"),
        (date(2099, 12, 28), date(2099, 12, 28), "Staff day"),
    ]
    client.force_login(world.member_a)
    page = client.get(reverse("tiers:mine")).content.decode()
    assert "Mon–Fri 09:00–12:00, 13:00–17:00; Sat 09:00–12:00 (Europe/London)" in page
    assert "Long ago" not in page  # past holidays are not shown (nor those a year away)


def test_next_holidays_are_a_few_groups_within_a_year(world):
    world.tier.support_calendar = calendar = uk_office(time_zone="Asia/Tokyo")
    Holiday.objects.bulk_create(
        Holiday(calendar=calendar, date=date(2030, month, 1), name=f"Month {month}")
        for month in range(1, 13)
    )
    Holiday.objects.create(calendar=calendar, date=date(2031, 6, 1), name="Next year")
    hours = support_hours(tier=world.tier, organisation=world.org_a, today=date(2030, 1, 1))
    assert [h.name for h in hours.holidays] == [f"Month {m}" for m in range(1, 6)]
    assert hours.time_zone == "Asia/Tokyo"  # the calendar's own zone, not the customer's


def test_a_calendar_with_its_own_time_zone_runs_the_clock_there(world):
    world.tier.support_calendar = uk_office(time_zone="America/New_York")
    clock = world.tier.calendar("Europe/London")
    assert str(clock.tz) == "America/New_York"
    world.tier.support_calendar.time_zone = ""
    assert str(world.tier.calendar("Europe/London").tz) == "Europe/London"


def test_calendar_refuses_an_unknown_time_zone(db):
    with pytest.raises(ValidationError, match="Unknown time zone Europe/Atlantis"):
        SupportCalendar(name="Lost", time_zone="Europe/Atlantis").full_clean()


def test_window_and_holiday_rules_read_well(db):
    calendar = uk_office()
    with pytest.raises(ValidationError, match="A window must open before it closes"):
        BusinessHoursWindow(
            calendar=calendar, weekday=0, opens=time(18, 0), closes=time(17, 0)
        ).full_clean()
    with pytest.raises(ValidationError, match="already opens at that time on that day"):
        BusinessHoursWindow(
            calendar=calendar, weekday=0, opens=time(9, 0), closes=time(10, 0)
        ).full_clean()
    Holiday.objects.create(calendar=calendar, date=date(2026, 12, 25))
    with pytest.raises(ValidationError, match="already has a holiday on that date"):
        Holiday(calendar=calendar, date=date(2026, 12, 25), name="Again").full_clean()


def test_a_calendar_in_use_cannot_be_deleted(world):
    from django.db.models import ProtectedError

    world.tier.support_calendar = calendar = uk_office()
    world.tier.save()
    with pytest.raises(ProtectedError):
        calendar.delete()


def _calendar_form(calendar_name: str, windows, holidays=()) -> dict:
    data = {
        "name": calendar_name,
        "time_zone": "",
        "windows-TOTAL_FORMS": str(len(windows)),
        "windows-INITIAL_FORMS": "0",
        "holidays-TOTAL_FORMS": str(len(holidays)),
        "holidays-INITIAL_FORMS": "0",
    }
    for n, (weekday, opens, closes) in enumerate(windows):
        data |= {f"windows-{n}-weekday": weekday, f"windows-{n}-opens": opens}
        data[f"windows-{n}-closes"] = closes
    for n, (day, name) in enumerate(holidays):
        data |= {f"holidays-{n}-date": day, f"holidays-{n}-name": name}
    return data


def test_admin_defines_a_calendar_with_a_lunch_break_and_holidays(client, world):
    client.force_login(world.admin)
    response = client.post(
        reverse("admin:tiers_supportcalendar_add"),
        _calendar_form(
            "UK office hours",
            [("0", "08:00", "12:00"), ("0", "13:00", "17:00")],
            [("2026-12-25", "Christmas Day")],
        ),
    )
    assert response.status_code == 302, response.content.decode()
    calendar = SupportCalendar.objects.get()
    assert calendar.hours_label == "Mon 08:00–12:00, 13:00–17:00"
    assert list(calendar.holidays.values_list("name", flat=True)) == ["Christmas Day"]


@pytest.mark.parametrize(
    ("windows", "error"),
    [
        (
            [("0", "08:00", "12:00"), ("0", "11:00", "17:00")],
            "Windows overlap on Mon: 08:00–12:00 and 11:00–17:00.",
        ),
        ([("0", "17:00", "08:00")], "A window must open before it closes."),
        ([], "Please submit at least 1 form."),
    ],
)
def test_admin_refuses_windows_that_cannot_run_a_clock(client, world, windows, error):
    client.force_login(world.admin)
    response = client.post(
        reverse("admin:tiers_supportcalendar_add"), _calendar_form("Bad hours", windows)
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not SupportCalendar.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_migration_moves_tier_hours_into_shared_calendars_and_back():
    try:
        _migrate_tiers_to_calendars_and_back()
    finally:  # every app's latest schema, as the other tests expect: migrating tiers back
        # also took back the migrations of the apps that depend on it (knowledge)
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


BEFORE = [("tiers", "0002_value_fit_and_exchange_rates")]
AFTER = [("tiers", "0005_tier_hours_fields_removed")]


def _migrate_tiers_to_calendars_and_back():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("tiers", "ServiceTier")
    for rank, clock, days, opens, closes in [
        (1, "business_hours", "01234", time(9, 0), time(17, 0)),
        (2, "business_hours", "43210", time(9, 0), time(17, 0)),  # the same hours
        (3, "business_hours", "56", time(10, 0), time(14, 0)),
        (4, "24x7", "01234", time(9, 0), time(17, 0)),  # 24/7 with default hours
    ]:
        old.objects.create(
            name=f"T{rank}", rank=rank, annual_fee=0, clock=clock,
            business_days=days, business_opens=opens, business_closes=closes,
        )  # fmt: skip
    MigrationExecutor(connection).migrate(AFTER)
    tiers = {t.name: t for t in ServiceTier.objects.select_related("support_calendar")}
    assert tiers["T1"].support_calendar == tiers["T2"].support_calendar
    assert tiers["T1"].support_calendar.name == "Mon–Fri 09:00–17:00"
    assert tiers["T1"].hours_label == "Mon–Fri 09:00–17:00"
    assert tiers["T3"].hours_label == "Sat, Sun 10:00–14:00"
    assert tiers["T4"].support_calendar is None
    assert SupportCalendar.objects.count() == 2

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("tiers", "ServiceTier")
    assert old.objects.get(name="T3").business_days == "56"
    assert old.objects.get(name="T3").business_opens == time(10, 0)


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


def test_the_current_tier_comes_whole_with_its_calendar_in_one_query(
    world, premium, django_assert_num_queries
):
    """current_tier reads its SQL built once per process (config/prepared.py): the tier and
    its support calendar have every field the ORM's select_related gave, nothing deferred."""
    tier_assign(organisation=world.org_a, tier=premium, by=world.am_a, reason="Grew")
    expected = TierAssignment.objects.select_related("tier__support_calendar").get(
        organisation=world.org_a, ended_at__isnull=True
    )
    with django_assert_num_queries(1):
        tier = current_tier(organisation=world.org_a)
        calendar = tier.support_calendar
    assert tier.get_deferred_fields() == set()
    fields = [f.attname for f in type(tier)._meta.concrete_fields]
    assert [getattr(tier, f) for f in fields] == [getattr(expected.tier, f) for f in fields]
    if expected.tier.support_calendar_id is None:
        assert calendar is None
    else:
        assert calendar.get_deferred_fields() == set()
        assert calendar.pk == expected.tier.support_calendar.pk


def test_an_organisation_without_a_current_tier_has_none(world):
    TierAssignment.objects.filter(organisation=world.org_a).update(ended_at=world.org_a.created_at)
    assert current_tier(organisation=world.org_a) is None
