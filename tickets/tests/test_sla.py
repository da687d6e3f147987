"""SLA clocks on the tier's calendar: due times, pauses, breaches, warnings."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from tickets import services
from tickets.choices import SlaState
from tickets.models import Ticket
from tickets.selectors import ticket_get
from tiers.choices import Clock
from tiers.models import BusinessHoursWindow, Holiday, SupportCalendar
from tiers.services import tier_assign


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def open_ticket(world, at, priority="normal", **kwargs) -> Ticket:
    return services.ticket_create(
        organisation=kwargs.pop("organisation", world.org_a),
        requester=kwargs.pop("requester", world.member_a),
        subject="Help",
        category="delivery",
        priority=priority,
        body="Please.",
        now=at,
        **kwargs,
    )


def reload(ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


# November: London is on GMT (UTC+0). 2026-11-20 is a Friday.
FRIDAY_1600 = utc(2026, 11, 20, 16, 0)


def test_friday_afternoon_ticket_is_due_on_monday_business_hours(world):
    ticket = open_ticket(world, FRIDAY_1600)  # normal: respond in 1 h, resolve in 8 h
    assert ticket.first_response_due_at == utc(2026, 11, 20, 17, 0)
    assert ticket.first_response_warn_at == utc(2026, 11, 20, 16, 48)
    assert ticket.resolution_due_at == utc(2026, 11, 23, 16, 0)  # 1 h Fri + 7 h Mon
    assert ticket.resolution_warn_at == utc(2026, 11, 23, 14, 24)  # 6 h 24 min of clock


def test_ticket_opened_at_night_starts_its_clock_at_opening(world):
    ticket = open_ticket(world, utc(2026, 11, 24, 22, 30), priority="urgent")  # Tue night
    assert ticket.first_response_due_at == utc(2026, 11, 25, 9, 15)
    assert ticket.resolution_due_at == utc(2026, 11, 25, 11, 0)


def test_the_organisations_time_zone_sets_the_business_day(world):
    world.org_b.time_zone = "America/New_York"  # 09:00 there is 14:00 UTC in November
    world.org_b.save()
    ticket = open_ticket(
        world, utc(2026, 11, 23, 12, 0), organisation=world.org_b, requester=world.member_b
    )
    assert ticket.first_response_due_at == utc(2026, 11, 23, 15, 0)


def test_summer_time_is_respected(world):
    # 1 July: London is UTC+1, so 09:00 local opens at 08:00 UTC. Wednesday.
    ticket = open_ticket(world, utc(2026, 7, 1, 7, 0))
    assert ticket.first_response_due_at == utc(2026, 7, 1, 9, 0)


def test_around_the_clock_tier_counts_nights_and_weekends(world):
    world.tier.clock = Clock.ALWAYS
    world.tier.save()
    ticket = open_ticket(world, FRIDAY_1600)
    assert ticket.first_response_due_at == utc(2026, 11, 20, 17, 0)
    assert ticket.resolution_due_at == utc(2026, 11, 21, 0, 0)


def test_waiting_on_customer_pauses_the_resolution_clock(world):
    ticket = open_ticket(world, utc(2026, 11, 23, 9, 0))  # Monday 09:00, due Monday 17:00
    services.ticket_reply(
        ticket=ticket, author=world.am_a, body="Which lot?", now=utc(2026, 11, 23, 10, 0)
    )
    services.ticket_set_status(
        ticket=ticket, by=world.am_a, status="waiting", now=utc(2026, 11, 23, 11, 0)
    )
    # The customer answers on Tuesday at 10:00: 6 h of business time passed while paused
    # (Mon 11-17) plus 1 h on Tuesday, so the due time moves by 7 business hours.
    services.ticket_reply(
        ticket=ticket, author=world.member_a, body="Lot 42.", now=utc(2026, 11, 24, 10, 0)
    )
    ticket = reload(ticket)
    assert ticket.status == "open"
    assert ticket.sla_paused_at is None
    assert ticket.sla_paused_seconds == 7 * 3600
    assert ticket.resolution_due_at == utc(2026, 11, 24, 16, 0)


def test_paused_ticket_is_neither_breached_nor_at_risk(world):
    ticket = open_ticket(world, utc(2026, 11, 23, 9, 0))
    services.ticket_reply(ticket=ticket, author=world.am_a, body="?", now=utc(2026, 11, 23, 9, 5))
    services.ticket_set_status(
        ticket=ticket, by=world.am_a, status="waiting", now=utc(2026, 11, 23, 9, 10)
    )
    later = utc(2026, 11, 30, 12, 0)
    assert ticket_get(user=world.member_a, pk=ticket.pk, now=later).sla_state == SlaState.PAUSED
    assert services.sla_scan(now=later) == {"breached": 0, "warned": 0}


def test_first_response_after_the_due_time_is_a_breach(world):
    ticket = open_ticket(world, utc(2026, 11, 23, 9, 0))
    services.ticket_reply(
        ticket=ticket, author=world.am_a, body="Sorry", now=utc(2026, 11, 23, 10, 1)
    )
    ticket = reload(ticket)
    assert ticket.sla_breached_at == utc(2026, 11, 23, 10, 1)
    assert ticket_get(
        user=world.member_a, pk=ticket.pk, now=utc(2026, 11, 23, 10, 2)
    ).sla_state == (SlaState.BREACHED)


def test_a_customer_reply_is_not_a_first_response(world):
    ticket = open_ticket(world, utc(2026, 11, 23, 9, 0))
    services.ticket_reply(
        ticket=ticket, author=world.member_a, body="Also...", now=utc(2026, 11, 23, 9, 30)
    )
    assert reload(ticket).first_responded_at is None


@pytest.mark.parametrize(
    ("now", "state"),
    [
        (utc(2026, 11, 23, 9, 30), SlaState.ON_TRACK),
        (utc(2026, 11, 23, 9, 48), SlaState.AT_RISK),  # 80 % of the first-response hour
        (utc(2026, 11, 23, 10, 1), SlaState.BREACHED),
    ],
)
def test_sla_state_follows_the_clock(world, now, state):
    ticket = open_ticket(world, utc(2026, 11, 23, 9, 0))
    assert ticket_get(user=world.member_a, pk=ticket.pk, now=now).sla_state == state


def test_resolved_in_time_is_met_and_late_is_breached(world):
    quick = open_ticket(world, utc(2026, 11, 23, 9, 0))
    services.ticket_reply(
        ticket=quick, author=world.am_a, body="Done", now=utc(2026, 11, 23, 9, 10)
    )
    services.ticket_set_status(
        ticket=quick, by=world.member_a, status="resolved", now=utc(2026, 11, 23, 12, 0)
    )
    slow = open_ticket(world, utc(2026, 11, 23, 9, 0))
    services.ticket_reply(ticket=slow, author=world.am_a, body="Hm", now=utc(2026, 11, 23, 9, 10))
    services.ticket_set_status(
        ticket=slow, by=world.am_a, status="resolved", now=utc(2026, 11, 24, 9, 1)
    )
    later = utc(2026, 12, 1)
    assert ticket_get(user=world.member_a, pk=quick.pk, now=later).sla_state == SlaState.MET
    assert ticket_get(user=world.member_a, pk=slow.pk, now=later).sla_state == SlaState.BREACHED
    assert reload(slow).sla_breached_at == utc(2026, 11, 24, 9, 1)


def test_reopening_resumes_the_clock_without_counting_the_resolved_time(world):
    ticket = open_ticket(world, utc(2026, 11, 23, 9, 0))
    services.ticket_reply(
        ticket=ticket, author=world.am_a, body="Fixed?", now=utc(2026, 11, 23, 9, 30)
    )
    services.ticket_set_status(
        ticket=ticket, by=world.member_a, status="resolved", now=utc(2026, 11, 23, 13, 0)
    )
    services.ticket_set_status(
        ticket=ticket, by=world.member_a, status="open", now=utc(2026, 11, 24, 9, 0)
    )
    ticket = reload(ticket)
    assert ticket.resolved_at is None
    assert ticket.sla_paused_seconds == 4 * 3600  # Mon 13:00-17:00
    assert ticket.resolution_due_at == utc(2026, 11, 24, 13, 0)


def test_raising_the_priority_recomputes_the_due_times(world):
    ticket = open_ticket(world, utc(2026, 11, 23, 9, 0))
    services.ticket_triage(
        ticket=ticket, by=world.am_a, assignee=None, department="logistics", priority="urgent"
    )
    ticket = reload(ticket)
    assert ticket.first_response_due_at == utc(2026, 11, 23, 9, 15)
    assert ticket.resolution_due_at == utc(2026, 11, 23, 11, 0)


def test_a_ticket_keeps_the_tier_it_opened_under(world):
    ticket = open_ticket(world, utc(2026, 11, 23, 9, 0))
    faster = type(world.tier).objects.create(name="Fast", rank=9, annual_fee=1, clock=Clock.ALWAYS)
    tier_assign(organisation=world.org_a, tier=faster, by=world.admin)
    assert reload(ticket).tier == world.tier


def test_no_tier_means_no_sla(world):
    from tiers.models import TierAssignment

    TierAssignment.objects.filter(organisation=world.org_a).delete()
    ticket = open_ticket(world, utc(2026, 11, 23, 9, 0))
    assert ticket.resolution_due_at is None
    assert ticket_get(user=world.member_a, pk=ticket.pk).sla_state == SlaState.NONE


# --- A calendar with a lunch break and a holiday ----------------------------------------

# Monday 2026-11-23 .. Friday 27 (London on GMT = UTC); Tuesday 24 is the holiday.
HOLIDAY = date(2026, 11, 24)


def office_calendar(world, holidays=()) -> SupportCalendar:
    """Mon-Fri 09:00-12:00 and 13:00-17:00 London time (lunch 12-13) for world's tier."""
    calendar = SupportCalendar.objects.create(name="UK office hours", time_zone="Europe/London")
    BusinessHoursWindow.objects.bulk_create(
        BusinessHoursWindow(calendar=calendar, weekday=day, opens=opens, closes=closes)
        for day in range(5)
        for opens, closes in [(time(9, 0), time(12, 0)), (time(13, 0), time(17, 0))]
    )
    for day in holidays:
        Holiday.objects.create(calendar=calendar, date=day, name="Company day")
    world.tier.support_calendar = calendar
    world.tier.save()
    return calendar


def test_a_ticket_opened_before_lunch_is_due_after_the_break(world):
    office_calendar(world)
    ticket = open_ticket(world, utc(2026, 11, 23, 11, 30))  # respond in 1 h, resolve in 8 h
    assert ticket.first_response_due_at == utc(2026, 11, 23, 13, 30)  # 30 min + 30 min
    assert ticket.first_response_warn_at == utc(2026, 11, 23, 13, 18)  # 30 min + 18 min
    # Monday 4 h 30 (11:30-12, 13-17), Tuesday 3 h in the morning and 30 min after lunch.
    assert ticket.resolution_due_at == utc(2026, 11, 24, 13, 30)
    assert ticket.resolution_warn_at == utc(2026, 11, 24, 10, 54)  # 6 h 24 min of clock


def test_a_ticket_opened_the_day_before_a_holiday_is_due_after_it(world):
    office_calendar(world, holidays=[HOLIDAY])
    ticket = open_ticket(world, utc(2026, 11, 23, 16, 30))  # Monday, 30 min before closing
    assert ticket.first_response_due_at == utc(2026, 11, 25, 9, 30)  # Wednesday
    assert ticket.first_response_warn_at == utc(2026, 11, 25, 9, 18)
    # 30 min Monday, 7 h on Wednesday (3 h + 4 h around lunch), 30 min on Thursday.
    assert ticket.resolution_due_at == utc(2026, 11, 26, 9, 30)
    # 6 h 24 min: 30 min Monday, 3 h Wednesday morning, 2 h 54 after lunch.
    assert ticket.resolution_warn_at == utc(2026, 11, 25, 15, 54)


def test_without_the_holiday_the_same_ticket_is_due_the_next_morning(world):
    office_calendar(world)
    ticket = open_ticket(world, utc(2026, 11, 23, 16, 30))
    assert ticket.first_response_due_at == utc(2026, 11, 24, 9, 30)


def test_time_waiting_over_a_holiday_and_a_lunch_break_is_clock_time_only(world):
    office_calendar(world, holidays=[HOLIDAY])
    ticket = open_ticket(world, utc(2026, 11, 23, 9, 0))
    services.ticket_reply(ticket=ticket, author=world.am_a, body="?", now=utc(2026, 11, 23, 9, 5))
    services.ticket_set_status(
        ticket=ticket, by=world.am_a, status="waiting", now=utc(2026, 11, 23, 16, 0)
    )
    services.ticket_reply(
        ticket=ticket, author=world.member_a, body="Here.", now=utc(2026, 11, 25, 14, 0)
    )
    # Paused Monday 16-17 and Wednesday 9-12 and 13-14; Tuesday was the holiday.
    assert reload(ticket).sla_paused_seconds == 5 * 3600


def test_the_organisations_own_zone_does_not_move_an_office_calendar(world):
    office_calendar(world)
    world.org_b.time_zone = "America/New_York"
    world.org_b.save()
    ticket = open_ticket(
        world, utc(2026, 11, 23, 11, 30), organisation=world.org_b, requester=world.member_b
    )
    assert ticket.first_response_due_at == utc(2026, 11, 23, 13, 30)  # London hours


class TestScanAroundAHoliday:
    """Marked (breached, warned) by one scan at `now`, and the state shown then."""

    @pytest.fixture
    def ticket(self, world):
        office_calendar(world, holidays=[HOLIDAY])
        return open_ticket(world, utc(2026, 11, 23, 16, 30))  # due Wednesday 09:30

    @pytest.mark.parametrize(
        ("now", "marked", "state"),
        [
            (utc(2026, 11, 24, 12, 0), (0, 0), SlaState.ON_TRACK),  # the holiday
            (utc(2026, 11, 25, 9, 17), (0, 0), SlaState.ON_TRACK),
            (utc(2026, 11, 25, 9, 18), (0, 1), SlaState.AT_RISK),  # 80 % of the hour
            (utc(2026, 11, 25, 9, 30), (0, 1), SlaState.AT_RISK),  # due, not yet late
            (utc(2026, 11, 25, 9, 31), (1, 1), SlaState.BREACHED),
        ],
    )
    def test_scan_marks_warning_and_breach_when_the_clock_says(
        self, world, ticket, now, marked, state
    ):
        assert services.sla_scan(now=now) == {"breached": marked[0], "warned": marked[1]}
        assert ticket_get(user=world.member_a, pk=ticket.pk, now=now).sla_state == state

    def test_a_reply_on_wednesday_morning_is_in_time(self, world, ticket):
        services.ticket_reply(
            ticket=ticket, author=world.am_a, body="Back", now=utc(2026, 11, 25, 9, 29)
        )
        assert reload(ticket).sla_breached_at is None
        assert services.sla_scan(now=utc(2026, 11, 25, 9, 31)) == {"breached": 0, "warned": 0}


class TestScan:
    def test_scan_marks_breaches_and_warns_once(
        self, world, mailoutbox, django_capture_on_commit_callbacks
    ):
        breaching = open_ticket(world, utc(2026, 11, 23, 9, 0))
        at_risk = open_ticket(world, utc(2026, 11, 23, 9, 45))
        fine = open_ticket(world, utc(2026, 11, 23, 10, 0))
        now = utc(2026, 11, 23, 10, 40)
        mailoutbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            result = services.sla_scan(now=now)
        assert result == {"breached": 1, "warned": 2}
        assert reload(breaching).sla_breached_at == now
        assert reload(at_risk).sla_breached_at is None
        assert reload(at_risk).sla_warned_at == now
        assert reload(fine).sla_warned_at is None
        assert len(mailoutbox) == 2
        assert all(m.to == [world.am_a.email] for m in mailoutbox)
        assert "SLA at risk" in mailoutbox[0].subject

        with django_capture_on_commit_callbacks(execute=True):
            again = services.sla_scan(now=now + timedelta(minutes=1))
        assert again == {"breached": 0, "warned": 0}
        assert len(mailoutbox) == 2

    def test_scan_is_one_update_per_kind_whatever_the_number_of_tickets(
        self, world, django_assert_max_num_queries
    ):
        for hour in range(9, 17):
            open_ticket(world, utc(2026, 11, 23, hour, 0))
        with django_assert_max_num_queries(3):  # breaches, pick warnings, mark warnings
            services.sla_scan(now=utc(2026, 11, 30))

    def test_scan_runs_from_the_celery_task(self, world):
        from tickets.tasks import sla_scan

        open_ticket(world, utc(2020, 11, 2, 9, 0))  # long overdue by the wall clock
        assert sla_scan.delay().get(timeout=10)["breached"] == 1


def test_the_open_tickets_index_holds_every_column_an_open_list_reads():
    """My accounts counts an AM's open tickets from ticket_open_sla_idx alone: a column
    that the SLA state, "who spoke last" or the opening time reads, missing from the
    index, would send PostgreSQL back to every open ticket's row."""
    from django.db.models import Count, Min, Q

    from tickets.models import OPEN_LIST_COLUMNS

    now = utc(2026, 1, 5, 9)
    read = (
        Ticket.objects.open()
        .with_sla_state(now)
        .values("organisation")
        .annotate(
            waiting=Count("pk", filter=Q(last_public_by_customer=True) & ~Q(status="waiting")),
            at_risk=Count("pk", filter=Q(sla_state="at_risk")),
            oldest=Min("created_at"),
        )
    )
    sql = str(read.query)
    columns = {f.column for f in Ticket._meta.concrete_fields if f'"{f.column}"' in sql}
    held = {Ticket._meta.get_field(name).column for name in OPEN_LIST_COLUMNS}
    assert "resolution_warn_at" in columns  # the SLA state's columns are read
    assert columns <= held | {"organisation_id"}
