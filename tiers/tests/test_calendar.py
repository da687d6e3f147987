"""The SLA clock on a tier's calendar: 24/7 and business hours, time zones and DST.

Expected moments are written out by hand (local time converted to UTC in the head,
not with the code under test). January 2026 keeps London on GMT (= UTC), New York on
EST (UTC-5); Tokyo is always UTC+9. London springs forward on Sunday 2026-03-29 and
falls back on Sunday 2026-10-25. Monday 2026-01-12 starts the reference week.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tiers.calendar import OFFICE_WEEK, BusinessCalendar, Window, fraction_point, hours_label

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")

OFFICE = BusinessCalendar(LONDON)  # Mon-Fri 09:00-17:00
ALWAYS = BusinessCalendar(LONDON, always_open=True)
TOKYO_LONG_DAYS = BusinessCalendar(
    TOKYO, weekdays=frozenset(range(7)), opens=time(8, 0), closes=time(20, 0)
)
# Mon-Fri 08:00-12:00 and 13:00-17:00: the lunch break stops the clock.
LUNCH_WEEK = tuple(
    Window(day, opens, closes)
    for day in range(5)
    for opens, closes in [(time(8, 0), time(12, 0)), (time(13, 0), time(17, 0))]
)
LUNCH = BusinessCalendar(LONDON, windows=LUNCH_WEEK)
SATURDAY_MORNING = Window(5, time(9, 0), time(12, 0))
WITH_SATURDAY = BusinessCalendar(LONDON, windows=(*OFFICE_WEEK, SATURDAY_MORNING))
# Mon-Fri 09:00-17:00 but for Monday 2026-01-19 and Monday 2026-03-30 (the day after
# spring forward), and a Saturday, which was closed anyway.
HOLIDAYS = frozenset({date(2026, 1, 19), date(2026, 3, 30), date(2026, 1, 24)})
OFFICE_WITH_HOLIDAYS = BusinessCalendar(LONDON, holidays=HOLIDAYS)

H = timedelta(hours=1)
MIN = timedelta(minutes=1)
_ZERO = timedelta(0)


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- 24/7 ---------------------------------------------------------------------


def test_always_open_adds_plain_elapsed_time():
    assert ALWAYS.add(london(2026, 1, 16, 16, 0), 30 * H) == utc(2026, 1, 17, 22, 0)


def test_always_open_counts_weekends_between():
    assert ALWAYS.between(london(2026, 1, 16, 16, 0), london(2026, 1, 19, 10, 0)) == 66 * H


def test_always_open_needs_no_weekdays():
    assert BusinessCalendar(LONDON, always_open=True, weekdays=frozenset()).always_open


# --- Business hours, Mon-Fri 09:00-17:00 London -----------------------------------


def test_ticket_inside_hours_is_due_the_same_afternoon():
    assert OFFICE.add(london(2026, 1, 12, 10, 0), 4 * H) == utc(2026, 1, 12, 14, 0)


def test_friday_afternoon_ticket_is_due_monday_morning():
    assert OFFICE.add(london(2026, 1, 16, 16, 0), 2 * H) == utc(2026, 1, 19, 10, 0)


def test_saturday_ticket_starts_counting_on_monday():
    assert OFFICE.add(london(2026, 1, 17, 12, 0), H) == utc(2026, 1, 19, 10, 0)


def test_evening_ticket_starts_counting_next_morning():
    assert OFFICE.add(london(2026, 1, 13, 18, 30), 30 * MIN) == utc(2026, 1, 14, 9, 30)


def test_early_ticket_with_a_full_day_is_due_exactly_at_closing():
    assert OFFICE.add(london(2026, 1, 14, 7, 0), 8 * H) == utc(2026, 1, 14, 17, 0)


def test_one_minute_past_a_full_day_rolls_to_next_morning():
    assert OFFICE.add(london(2026, 1, 14, 7, 0), 8 * H + MIN) == utc(2026, 1, 15, 9, 1)


def test_a_working_week_ends_friday_at_closing():
    assert OFFICE.add(london(2026, 1, 12, 9, 0), 40 * H) == utc(2026, 1, 16, 17, 0)
    assert OFFICE.add(london(2026, 1, 12, 9, 0), 41 * H) == utc(2026, 1, 19, 10, 0)


def test_ten_working_weeks_end_on_the_tenth_friday():
    assert OFFICE.add(london(2026, 1, 12, 9, 0), 400 * H) == utc(2026, 3, 20, 17, 0)


def test_add_is_exact_to_the_microsecond_across_the_night():
    start = datetime(2026, 1, 12, 16, 59, 59, 999_999, tzinfo=LONDON)
    due = OFFICE.add(start, timedelta(microseconds=2))
    assert due == datetime(2026, 1, 13, 9, 0, 0, 1, tzinfo=UTC)


def test_add_returns_utc():
    assert OFFICE.add(london(2026, 1, 12, 10, 0), H).tzinfo is UTC
    assert ALWAYS.add(london(2026, 1, 12, 10, 0), H).tzinfo is UTC


def test_start_may_be_given_in_any_time_zone():
    friday_4pm_london = datetime(2026, 1, 16, 11, 0, tzinfo=NEW_YORK)
    assert OFFICE.add(friday_4pm_london, 2 * H) == utc(2026, 1, 19, 10, 0)
    assert OFFICE.add(utc(2026, 1, 16, 16, 0), 2 * H) == utc(2026, 1, 19, 10, 0)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (london(2026, 1, 12, 10, 0), utc(2026, 1, 12, 10, 0)),  # inside: start itself
        (london(2026, 1, 12, 7, 0), utc(2026, 1, 12, 9, 0)),  # before hours: opening
        (london(2026, 1, 12, 17, 0), utc(2026, 1, 13, 9, 0)),  # closing is outside
        (london(2026, 1, 17, 12, 0), utc(2026, 1, 19, 9, 0)),  # weekend: Monday
    ],
)
def test_zero_duration_is_the_next_moment_the_clock_runs(start, expected):
    assert OFFICE.add(start, timedelta(0)) == expected


def test_sparse_calendar_counts_one_hour_a_week_for_a_year():
    mondays_9_to_10 = BusinessCalendar(LONDON, weekdays=frozenset({0}), closes=time(10, 0))
    start = london(2026, 1, 12, 9, 0)
    assert mondays_9_to_10.add(start, 52 * H) == utc(2027, 1, 4, 10, 0)
    tick = timedelta(microseconds=1)
    assert mondays_9_to_10.add(start, 52 * H + tick) == utc(2027, 1, 11, 9, 0) + tick


# --- between() ------------------------------------------------------------------


def test_between_skips_the_weekend():
    assert OFFICE.between(london(2026, 1, 16, 15, 0), london(2026, 1, 19, 11, 0)) == 4 * H


def test_between_with_both_ends_outside_hours_counts_the_day_in_between():
    assert OFFICE.between(london(2026, 1, 13, 18, 0), london(2026, 1, 15, 8, 0)) == 8 * H


def test_between_inside_one_window():
    assert OFFICE.between(london(2026, 1, 12, 10, 15), london(2026, 1, 12, 11, 0)) == 45 * MIN


def test_between_over_a_weekend_only_is_zero():
    assert OFFICE.between(london(2026, 1, 17, 0, 0), london(2026, 1, 19, 9, 0)) == timedelta(0)


@pytest.mark.parametrize("calendar", [OFFICE, ALWAYS])
def test_between_end_not_after_start_is_zero(calendar):
    start = london(2026, 1, 12, 12, 0)
    assert calendar.between(start, start - H) == timedelta(0)
    assert calendar.between(start, start) == timedelta(0)


def test_between_accepts_ends_in_different_time_zones():
    tuesday_2am_tokyo_is_monday_5pm_london = datetime(2026, 1, 13, 2, 0, tzinfo=TOKYO)
    start = london(2026, 1, 12, 9, 0)
    assert OFFICE.between(start, tuesday_2am_tokyo_is_monday_5pm_london) == 8 * H


# --- Round trip -----------------------------------------------------------------

ROUND_TRIP_STARTS = [
    london(2026, 1, 12, 9, 0),
    london(2026, 1, 13, 18, 30),
    london(2026, 1, 17, 12, 0),
    datetime(2026, 1, 14, 16, 59, 59, 500_000, tzinfo=LONDON),
    london(2026, 3, 27, 16, 0),  # Friday before spring forward
    london(2026, 10, 23, 16, 30),  # Friday before fall back
]
ROUND_TRIP_DURATIONS = [
    timedelta(microseconds=1),
    30 * MIN,
    8 * H,
    8 * H + MIN,
    41 * H,
    400 * H + timedelta(seconds=7),
]


@pytest.mark.parametrize(
    "calendar", [OFFICE, ALWAYS, TOKYO_LONG_DAYS, LUNCH, WITH_SATURDAY, OFFICE_WITH_HOLIDAYS]
)
@pytest.mark.parametrize("start", ROUND_TRIP_STARTS)
@pytest.mark.parametrize("duration", ROUND_TRIP_DURATIONS)
def test_between_undoes_add(calendar, start, duration):
    assert calendar.between(start, calendar.add(start, duration)) == duration


# --- Time zones -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        (LONDON, utc(2026, 1, 12, 17, 0)),  # 13:00 GMT, inside: 17:00 GMT
        (NEW_YORK, utc(2026, 1, 12, 18, 0)),  # 08:00 EST, waits for 09:00: 13:00 EST
        (TOKYO, utc(2026, 1, 13, 4, 0)),  # 22:00 JST, waits for Tue 09:00: 13:00 JST
    ],
)
def test_same_instant_is_due_at_different_moments_per_time_zone(tz, expected):
    assert BusinessCalendar(tz).add(utc(2026, 1, 12, 13, 0), 4 * H) == expected


# --- Daylight saving --------------------------------------------------------------


def test_always_open_day_over_spring_forward_ends_an_hour_later_on_the_wall():
    due = ALWAYS.add(london(2026, 3, 28, 12, 0), 24 * H)
    assert due == utc(2026, 3, 29, 12, 0)
    assert due.astimezone(LONDON).replace(tzinfo=None) == datetime(2026, 3, 29, 13, 0)


def test_always_open_day_over_fall_back_ends_an_hour_earlier_on_the_wall():
    due = ALWAYS.add(london(2026, 10, 24, 12, 0), 24 * H)
    assert due == utc(2026, 10, 25, 11, 0)
    assert due.astimezone(LONDON).replace(tzinfo=None) == datetime(2026, 10, 25, 11, 0)


def test_always_open_between_counts_real_hours_over_dst_changes():
    # Python says these wall-clock pairs are 24h apart; really 23h and 25h elapse.
    assert ALWAYS.between(london(2026, 3, 28, 12, 0), london(2026, 3, 29, 12, 0)) == 23 * H
    assert ALWAYS.between(london(2026, 10, 24, 12, 0), london(2026, 10, 25, 12, 0)) == 25 * H


def test_friday_ticket_over_spring_forward_is_due_monday_10_bst():
    assert OFFICE.add(london(2026, 3, 27, 16, 0), 2 * H) == utc(2026, 3, 30, 9, 0)
    assert OFFICE.between(london(2026, 3, 27, 16, 0), london(2026, 3, 30, 10, 0)) == 2 * H


def test_friday_ticket_over_fall_back_is_due_monday_10_gmt():
    assert OFFICE.add(london(2026, 10, 23, 16, 0), 2 * H) == utc(2026, 10, 26, 10, 0)


def test_window_holding_spring_forward_is_an_hour_shorter():
    small_hours = BusinessCalendar(
        LONDON, weekdays=frozenset(range(7)), opens=time(0, 0), closes=time(4, 0)
    )
    # Sunday 00:00 GMT (00:00 UTC) to 04:00 BST (03:00 UTC): three real hours.
    assert small_hours.add(london(2026, 3, 29, 0, 0), 3 * H) == utc(2026, 3, 29, 3, 0)
    sunday = small_hours.between(london(2026, 3, 28, 12, 0), london(2026, 3, 30, 0, 0))
    assert sunday == 3 * H


def test_window_holding_fall_back_is_an_hour_longer():
    small_hours = BusinessCalendar(
        LONDON, weekdays=frozenset(range(7)), opens=time(0, 0), closes=time(4, 0)
    )
    # Sunday 00:00 BST (Saturday 23:00 UTC) to 04:00 GMT (04:00 UTC): five real hours.
    assert small_hours.add(utc(2026, 10, 24, 23, 0), 5 * H) == utc(2026, 10, 25, 4, 0)
    sunday = small_hours.between(london(2026, 10, 24, 12, 0), london(2026, 10, 26, 0, 0))
    assert sunday == 5 * H


# --- A custom calendar: every day 08:00-20:00 Tokyo --------------------------------


def test_tokyo_long_days_carry_over_into_sunday():
    # Saturday 19:00 JST: one hour left, then Sunday 08:00 + 2h = 10:00 JST = 01:00 UTC.
    start = datetime(2026, 1, 17, 19, 0, tzinfo=TOKYO)
    assert TOKYO_LONG_DAYS.add(start, 3 * H) == utc(2026, 1, 18, 1, 0)


def test_tokyo_long_days_count_a_whole_sunday():
    start = datetime(2026, 1, 18, 7, 0, tzinfo=TOKYO)
    assert TOKYO_LONG_DAYS.add(start, 12 * H) == utc(2026, 1, 18, 11, 0)  # 20:00 JST


def test_tokyo_long_days_between_over_a_weekend():
    start = datetime(2026, 1, 17, 19, 0, tzinfo=TOKYO)
    end = datetime(2026, 1, 19, 9, 0, tzinfo=TOKYO)
    assert TOKYO_LONG_DAYS.between(start, end) == 14 * H  # 1h Sat + 12h Sun + 1h Mon


# --- Several windows a day: a lunch break, a Saturday morning ----------------------------


def test_lunch_break_stops_the_clock():
    # 11:00 + 2 h: one hour before lunch, one after it.
    assert LUNCH.add(london(2026, 1, 12, 11, 0), 2 * H) == utc(2026, 1, 12, 14, 0)


def test_clock_time_running_out_at_lunch_is_due_at_noon():
    assert LUNCH.add(london(2026, 1, 12, 11, 0), H) == utc(2026, 1, 12, 12, 0)
    assert LUNCH.add(london(2026, 1, 12, 11, 0), H + MIN) == utc(2026, 1, 12, 13, 1)


def test_ticket_opened_during_lunch_starts_counting_after_it():
    assert LUNCH.add(london(2026, 1, 12, 12, 30), 30 * MIN) == utc(2026, 1, 12, 13, 30)
    assert LUNCH.add(london(2026, 1, 12, 12, 30), timedelta(0)) == utc(2026, 1, 12, 13, 0)


def test_a_lunch_day_holds_eight_hours():
    assert LUNCH.add(london(2026, 1, 12, 7, 0), 8 * H) == utc(2026, 1, 12, 17, 0)
    assert LUNCH.add(london(2026, 1, 16, 16, 0), 2 * H) == utc(2026, 1, 19, 9, 0)


def test_between_leaves_out_the_lunch_break():
    assert LUNCH.between(london(2026, 1, 12, 11, 0), london(2026, 1, 12, 14, 0)) == 2 * H
    assert LUNCH.between(london(2026, 1, 12, 12, 10), london(2026, 1, 12, 12, 50)) == _ZERO


def test_eighty_percent_point_skips_the_lunch_break():
    # One hour from 11:30: 30 minutes before lunch, 18 after it.
    warning = fraction_point(LUNCH, london(2026, 1, 12, 11, 30), H, 0.8)
    assert warning == utc(2026, 1, 12, 13, 18)


def test_saturday_morning_window_counts():
    # Friday 16:00 + 2 h: 1 h on Friday, then Saturday 09:00-10:00.
    assert WITH_SATURDAY.add(london(2026, 1, 16, 16, 0), 2 * H) == utc(2026, 1, 17, 10, 0)
    # Saturday 11:00 + 2 h: 1 h on Saturday, 1 h on Monday.
    assert WITH_SATURDAY.add(london(2026, 1, 17, 11, 0), 2 * H) == utc(2026, 1, 19, 10, 0)
    assert WITH_SATURDAY.between(london(2026, 1, 16, 0, 0), london(2026, 1, 19, 0, 0)) == 11 * H


def test_windows_that_touch_run_on():
    calendar = BusinessCalendar(
        LONDON, windows=(Window(0, time(9, 0), time(12, 0)), Window(0, time(12, 0), time(13, 0)))
    )
    assert calendar.add(london(2026, 1, 12, 11, 0), 2 * H) == utc(2026, 1, 12, 13, 0)


def test_window_order_does_not_matter():
    shuffled = BusinessCalendar(LONDON, windows=tuple(reversed(LUNCH_WEEK)))
    assert shuffled == LUNCH
    assert shuffled.windows == tuple(sorted(LUNCH_WEEK))


def test_shorthand_becomes_windows():
    assert OFFICE.windows == OFFICE_WEEK
    assert OFFICE.weekdays == frozenset(range(5))
    assert LUNCH.weekdays == frozenset(range(5))


def test_lunch_break_on_the_friday_before_spring_forward():
    # Friday 2026-03-27 15:00 GMT + 4 h: 2 h Friday, then Monday 08:00-10:00 BST.
    assert LUNCH.add(london(2026, 3, 27, 15, 0), 4 * H) == utc(2026, 3, 30, 9, 0)


# --- Holidays ------------------------------------------------------------------------


def test_holiday_stops_the_clock_for_the_whole_day():
    # Friday 16:00 + 2 h: 1 h on Friday; Monday 19th is a holiday, so Tuesday 10:00.
    assert OFFICE_WITH_HOLIDAYS.add(london(2026, 1, 16, 16, 0), 2 * H) == utc(2026, 1, 20, 10, 0)


def test_ticket_opened_on_a_holiday_starts_counting_the_next_working_day():
    start = london(2026, 1, 19, 10, 0)
    assert OFFICE_WITH_HOLIDAYS.add(start, timedelta(0)) == utc(2026, 1, 20, 9, 0)
    assert OFFICE_WITH_HOLIDAYS.add(start, H) == utc(2026, 1, 20, 10, 0)


def test_between_leaves_out_holidays():
    friday_to_tuesday = (london(2026, 1, 16, 15, 0), london(2026, 1, 20, 11, 0))
    assert OFFICE.between(*friday_to_tuesday) == 12 * H
    assert OFFICE_WITH_HOLIDAYS.between(*friday_to_tuesday) == 4 * H


def test_holiday_on_a_closed_day_changes_nothing():
    saturday_only = BusinessCalendar(LONDON, holidays={date(2026, 1, 17)})
    assert saturday_only.add(london(2026, 1, 16, 16, 0), 2 * H) == utc(2026, 1, 19, 10, 0)


def test_holiday_after_spring_forward_is_exact():
    # Friday 27 March 16:00 GMT + 2 h: 1 h Friday; Monday 30th is a holiday; Tuesday
    # 10:00 BST is 09:00 UTC.
    due = OFFICE_WITH_HOLIDAYS.add(london(2026, 3, 27, 16, 0), 2 * H)
    assert due == utc(2026, 3, 31, 9, 0)
    assert OFFICE_WITH_HOLIDAYS.between(london(2026, 3, 27, 16, 0), due) == 2 * H


def test_holidays_are_dates_in_the_calendars_time_zone():
    # Monday 19 January in Tokyo is 00:00-24:00 JST = Sunday 15:00 to Monday 15:00 UTC.
    tokyo = BusinessCalendar(TOKYO, holidays={date(2026, 1, 19)})
    # Friday 16 January 16:00 JST + 2 h: 1 h Friday, then Tuesday 09:00-10:00 JST.
    assert tokyo.add(datetime(2026, 1, 16, 16, 0, tzinfo=TOKYO), 2 * H) == utc(2026, 1, 20, 1, 0)


def test_many_holidays_on_the_only_open_day_push_a_sparse_calendar_weeks_on():
    mondays = [date(2026, 1, 12) + timedelta(weeks=n) for n in range(10)]
    mondays_9_to_10 = BusinessCalendar(
        LONDON, weekdays={0}, closes=time(10, 0), holidays=frozenset(mondays)
    )
    # Ten Mondays off: the first hour runs on the eleventh.
    assert mondays_9_to_10.add(london(2026, 1, 12, 9, 0), H) == utc(2026, 3, 23, 10, 0)


def test_holidays_given_as_a_set_are_frozen_and_hash():
    calendar = BusinessCalendar(LONDON, holidays={date(2026, 1, 19)})  # type: ignore[arg-type]
    assert calendar.holidays == frozenset({date(2026, 1, 19)})
    assert hash(calendar) == hash(BusinessCalendar(LONDON, holidays=frozenset(calendar.holidays)))


def test_always_open_ignores_holidays():
    calendar = BusinessCalendar(LONDON, always_open=True, holidays=HOLIDAYS)
    assert calendar.add(london(2026, 1, 19, 10, 0), H) == utc(2026, 1, 19, 11, 0)


# --- Labels -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("windows", "label"),
    [
        (OFFICE_WEEK, "Mon–Fri 09:00–17:00"),
        ([w for w in OFFICE_WEEK if w.weekday in (0, 2, 4)], "Mon, Wed, Fri 09:00–17:00"),
        (LUNCH_WEEK, "Mon–Fri 08:00–12:00, 13:00–17:00"),
        ((*OFFICE_WEEK, SATURDAY_MORNING), "Mon–Fri 09:00–17:00; Sat 09:00–12:00"),
        (
            [Window(5, time(10, 0), time(14, 0)), Window(6, time(10, 0), time(14, 0))],
            "Sat, Sun 10:00–14:00",
        ),
    ],
)
def test_hours_label_reads_naturally(windows, label):
    assert hours_label(windows) == label
    assert BusinessCalendar(LONDON, windows=tuple(windows)).hours_label == label


def test_always_open_label():
    assert ALWAYS.hours_label == "24 hours a day, 7 days a week"


# --- Warning point -----------------------------------------------------------------


def test_eighty_percent_of_ten_business_hours_is_monday_closing():
    assert fraction_point(OFFICE, london(2026, 1, 12, 9, 0), 10 * H, 0.8) == utc(2026, 1, 12, 17)


def test_eighty_percent_of_one_business_hour_is_48_minutes():
    assert fraction_point(OFFICE, london(2026, 1, 12, 9, 0), H, 0.8) == utc(2026, 1, 12, 9, 48)


def test_eighty_percent_point_carries_over_the_night():
    # 30 minutes on Monday, the remaining 18 on Tuesday morning.
    assert fraction_point(OFFICE, london(2026, 1, 12, 16, 30), H, 0.8) == utc(2026, 1, 13, 9, 18)


def test_eighty_percent_of_a_day_around_the_clock():
    due = fraction_point(ALWAYS, london(2026, 1, 12, 0, 0), 24 * H, 0.8)
    assert due == utc(2026, 1, 12, 19, 12)


def test_whole_fraction_is_the_due_moment():
    start = london(2026, 1, 16, 16, 0)
    assert fraction_point(OFFICE, start, 2 * H, 1.0) == utc(2026, 1, 19, 10, 0)


# --- Invalid input -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weekdays": frozenset()}, "at least one weekday"),
        ({"weekdays": frozenset({0, 7})}, "0 \\(Monday\\) to 6 \\(Sunday\\)"),
        ({"weekdays": frozenset({-1})}, "0 \\(Monday\\) to 6 \\(Sunday\\)"),
        ({"opens": time(17, 0), "closes": time(17, 0)}, "must be before closes"),
        ({"opens": time(18, 0), "closes": time(9, 0)}, "must be before closes"),
        ({"opens": time(9, 0, tzinfo=UTC)}, "naive"),
    ],
)
def test_invalid_business_calendar_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(LONDON, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"windows": ()}, "at least one weekday"),
        (
            {"windows": (Window(0, time(9, 0), time(12, 0)), Window(0, time(11, 0), time(13, 0)))},
            "windows overlap on Mon: 09:00–12:00 and 11:00–13:00",
        ),
        ({"windows": OFFICE_WEEK, "weekdays": frozenset({0})}, "not both"),
        ({"windows": OFFICE_WEEK, "opens": time(8, 0)}, "not both"),
        ({"holidays": {datetime(2026, 1, 19, tzinfo=UTC)}}, "holidays are dates"),
        ({"holidays": {"2026-01-19"}}, "holidays are dates"),
    ],
)
def test_invalid_windows_and_holidays_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(LONDON, **kwargs)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((7, time(9, 0), time(17, 0)), "0 \\(Monday\\) to 6 \\(Sunday\\)"),
        ((0, time(12, 0), time(12, 0)), "must be before closes"),
        ((0, time(9, 0, tzinfo=UTC), time(12, 0)), "naive"),
    ],
)
def test_invalid_window_is_refused(args, message):
    with pytest.raises(ValueError, match=message):
        Window(*args)


def test_weekdays_given_as_a_set_are_frozen():
    calendar = BusinessCalendar(LONDON, weekdays={0, 2})  # type: ignore[arg-type]
    assert calendar.weekdays == frozenset({0, 2})
    assert hash(calendar) == hash(BusinessCalendar(LONDON, weekdays=frozenset({0, 2})))


NAIVE = datetime(2026, 1, 12, 10, 0)


@pytest.mark.parametrize("calendar", [OFFICE, ALWAYS])
def test_naive_datetimes_are_refused(calendar):
    with pytest.raises(ValueError, match="aware datetime required"):
        calendar.add(NAIVE, H)
    with pytest.raises(ValueError, match="aware datetime required"):
        calendar.between(NAIVE, london(2026, 1, 13, 10, 0))
    with pytest.raises(ValueError, match="aware datetime required"):
        calendar.between(london(2026, 1, 11, 10, 0), NAIVE)
    with pytest.raises(ValueError, match="aware datetime required"):
        fraction_point(calendar, NAIVE, H, 0.8)


@pytest.mark.parametrize("calendar", [OFFICE, ALWAYS])
def test_negative_duration_is_refused(calendar):
    with pytest.raises(ValueError, match="must not be negative"):
        calendar.add(london(2026, 1, 12, 10, 0), -H)
