"""SLA clock arithmetic on a business calendar.

A tier's SLA clock runs either 24/7 or only during business hours: opening windows on
some weekdays, in a time zone. A day may have several windows (08:00-12:00 and
13:00-17:00: the lunch break stops the clock), days may differ (a Saturday morning),
and on holidays (local dates) the clock does not run at all. This module answers two
questions for such a calendar, in plain Python with no database:

- ``add``: when does a given amount of clock time after a start run out (the due moment)?
- ``between``: how much clock time ran between two instants?

All arithmetic is done on UTC instants, so results are exact to the microsecond and
correct across daylight saving changes.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)
_REFERENCE_DAY = date(2000, 1, 3)  # any date: only wall-clock lengths are taken from it
WEEKDAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
ALWAYS_OPEN_LABEL = "24 hours a day, 7 days a week"
_CACHED_DAYS = 1024


def _to_utc(moment: datetime, name: str) -> datetime:
    # Aware datetimes sharing one tzinfo subtract as wall clocks (ignoring DST), so every
    # instant is moved to UTC before any comparison or arithmetic.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"aware datetime required for {name}, got naive {moment!r}")
    return moment.astimezone(UTC)


@dataclass(frozen=True, order=True)
class Window:
    """The clock runs on ``weekday`` (Monday=0 .. Sunday=6) during ``[opens, closes)``,
    wall-clock time in the calendar's time zone."""

    weekday: int
    opens: time
    closes: time

    def __post_init__(self) -> None:
        if self.weekday not in range(7):
            raise ValueError(f"weekdays must be 0 (Monday) to 6 (Sunday), got {self.weekday}")
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise ValueError("opens and closes are wall-clock times in tz: give them naive")
        if self.opens >= self.closes:
            raise ValueError(f"opens ({self.opens}) must be before closes ({self.closes})")

    @property
    def wall_length(self) -> timedelta:
        """Its length on the wall clock (a day holding a DST change really differs)."""
        return datetime.combine(_REFERENCE_DAY, self.closes) - datetime.combine(
            _REFERENCE_DAY, self.opens
        )

    @property
    def label(self) -> str:
        return f"{self.opens:%H:%M}–{self.closes:%H:%M}"


def check_windows(windows: Iterable[Window]) -> tuple[Window, ...]:
    """The windows sorted by day and opening; ValueError if two on one day overlap.

    Windows that touch (12:00-13:00 then 13:00-17:00) are fine: the clock runs on.
    """
    ordered = tuple(sorted(windows))
    for earlier, later in pairwise(ordered):
        if earlier.weekday == later.weekday and later.opens < earlier.closes:
            raise ValueError(
                f"windows overlap on {WEEKDAY_NAMES[later.weekday]}: "
                f"{earlier.label} and {later.label}"
            )
    return ordered


def hours_label(windows: Iterable[Window]) -> str:
    """The opening hours for people: "Mon–Fri 08:00–12:00, 13:00–17:00; Sat 09:00–12:00".

    Days with the same windows share a group; three or more consecutive days read as a
    range, others as a list ("Mon, Wed, Fri").
    """
    per_day: dict[int, list[str]] = {}
    for window in check_windows(windows):
        per_day.setdefault(window.weekday, []).append(window.label)
    groups: dict[tuple[str, ...], list[int]] = {}
    for day, labels in per_day.items():  # in weekday order: check_windows sorted them
        groups.setdefault(tuple(labels), []).append(day)
    parts = []
    for labels, days in groups.items():
        if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
            day_text = f"{WEEKDAY_NAMES[days[0]]}–{WEEKDAY_NAMES[days[-1]]}"
        else:
            day_text = ", ".join(WEEKDAY_NAMES[d] for d in days)
        parts.append(f"{day_text} {', '.join(labels)}")
    return "; ".join(parts)


OFFICE_WEEK = tuple(Window(day, time(9, 0), time(17, 0)) for day in range(5))
"""The default business hours: Monday to Friday, 09:00-17:00."""


@dataclass(frozen=True)
class BusinessCalendar:
    """When the SLA clock runs.

    ``always_open`` means 24/7 (nothing else is consulted). Otherwise the clock runs
    during the opening windows, local time in ``tz``, except on ``holidays`` (dates in
    ``tz``). The windows are given either

    - as ``windows``: any number per weekday, not overlapping (a lunch break is the gap
      between two), or
    - as the shorthand of one window ``[opens, closes)`` on each of ``weekdays``
      (Monday=0 .. Sunday=6; by default Mon-Fri 09:00-17:00).

    After construction ``windows`` holds the windows whichever way they were given, and
    ``weekdays`` the days that have one.
    """

    tz: ZoneInfo
    always_open: bool = False
    weekdays: frozenset[int] | None = None
    opens: time | None = None
    closes: time | None = None
    windows: tuple[Window, ...] | None = None
    holidays: frozenset[date] = frozenset()
    # Derived once, so add() and between() only look things up: each weekday's windows as
    # (opens, closes) pairs, and the clock time of a week on the wall clock.
    _by_weekday: tuple[tuple[tuple[time, time], ...], ...] = field(
        init=False, repr=False, compare=False
    )
    _week: timedelta = field(init=False, repr=False, compare=False)
    # Each day's windows as UTC instants, once converted: one ticket's four due and warning
    # times walk the same days. Bounded, as a calendar may live long.
    _utc_windows: dict[date, tuple[tuple[datetime, datetime], ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        # Accept any iterables but keep the calendar hashable and immutable.
        set_ = object.__setattr__
        set_(self, "holidays", frozenset(self.holidays))
        for day in self.holidays:
            if isinstance(day, datetime) or not isinstance(day, date):
                raise ValueError(f"holidays are dates (no time of day), got {day!r}")
        if self.always_open:
            set_(self, "weekdays", frozenset(self.weekdays or ()))
            set_(self, "windows", tuple(self.windows or ()))
            set_(self, "_by_weekday", ((),) * 7)
            set_(self, "_week", _ZERO)
            return
        if self.windows is None:
            weekdays = frozenset({0, 1, 2, 3, 4} if self.weekdays is None else self.weekdays)
            opens = time(9, 0) if self.opens is None else self.opens
            closes = time(17, 0) if self.closes is None else self.closes
            windows = [Window(day, opens, closes) for day in sorted(weekdays)]
            set_(self, "opens", opens)
            set_(self, "closes", closes)
        elif self.weekdays is not None or self.opens is not None or self.closes is not None:
            raise ValueError("give windows, or weekdays with opens and closes, not both")
        else:
            windows = list(self.windows)
        if not windows:
            raise ValueError("a business-hours calendar needs at least one weekday with hours")
        ordered = check_windows(windows)
        by_weekday: list[list[tuple[time, time]]] = [[] for _ in range(7)]
        week = _ZERO
        for window in ordered:
            by_weekday[window.weekday].append((window.opens, window.closes))
            week += window.wall_length
        set_(self, "windows", ordered)
        set_(self, "weekdays", frozenset(w.weekday for w in ordered))
        set_(self, "_by_weekday", tuple(tuple(hours) for hours in by_weekday))
        set_(self, "_week", week)

    @property
    def hours_label(self) -> str:
        return ALWAYS_OPEN_LABEL if self.always_open else hours_label(self.windows or ())

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of clock time after ``start``, as an aware UTC datetime.

        24/7: ``start + duration``. Business hours: only time inside the opening windows
        counts; a start outside hours (in a break, on a holiday) begins counting at the
        next opening. A duration that runs out exactly at a closing time returns it.

        ``duration`` 0 returns the next moment the clock runs: ``start`` itself when
        inside hours, otherwise the next opening (closing time itself is outside).
        """
        cursor = _to_utc(start, "start")
        if duration < _ZERO:
            raise ValueError(f"duration must not be negative, got {duration}")
        if self.always_open:
            return cursor + duration
        remaining = duration
        day = self._first_day(cursor)
        for _ in range(self._max_days(duration)):
            for opens, closes in self._windows(day):
                begin = max(cursor, opens)
                if begin < closes:
                    if remaining <= closes - begin:
                        return begin + remaining
                    remaining -= closes - begin
            day += _ONE_DAY
        # Unreachable for a valid calendar: the bound is generous. Fail loudly, never spin.
        raise RuntimeError(f"could not place {duration} on {self!r} from {start!r}")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Clock time that runs between two aware instants (0 if ``end <= start``).

        24/7: ``end - start``. Business hours: the sum of the overlaps of
        ``[start, end)`` with the opening windows of the days that are not holidays.
        """
        begin, finish = _to_utc(start, "start"), _to_utc(end, "end")
        if finish <= begin:
            return _ZERO
        if self.always_open:
            return finish - begin
        total = _ZERO
        day, last = self._first_day(begin), finish.astimezone(self.tz).date()
        while day <= last:
            for opens, closes in self._windows(day):
                total += max(min(finish, closes) - max(begin, opens), _ZERO)
            day += _ONE_DAY
        return total

    def _first_day(self, moment: datetime) -> date:
        # One day early: in a DST gap a window's closing can land after local midnight,
        # so the previous day's window may still be open at `moment`.
        return moment.astimezone(self.tz).date() - _ONE_DAY

    def _windows(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The opening windows of local ``day`` as UTC instants (none on a holiday)."""
        hours = self._by_weekday[day.weekday()]
        if not hours or day in self.holidays:
            return ()
        found = self._utc_windows.get(day)
        if found is None:
            if len(self._utc_windows) >= _CACHED_DAYS:
                self._utc_windows.clear()
            # Local wall-clock bounds turned into instants: a window holding a DST change
            # is really an hour shorter or longer, and the UTC difference says so.
            tz, combine = self.tz, datetime.combine
            found = self._utc_windows[day] = tuple(
                [
                    (
                        combine(day, opens, tzinfo=tz).astimezone(UTC),
                        combine(day, closes, tzinfo=tz).astimezone(UTC),
                    )
                    for opens, closes in hours
                ]
            )
        return found

    def _max_days(self, duration: timedelta) -> int:
        # The clock time of each full week needed turns up within seven days; doubling
        # leaves room for windows that DST changes shorten or erase, plus two weeks for
        # partial first and last days. A holiday takes away at most one day's windows,
        # which at worst (one open day a week) costs a week.
        weeks = duration // self._week + 1
        return 2 * 7 * weeks + 14 + 7 * len(self.holidays)


def fraction_point(
    calendar: BusinessCalendar, start: datetime, duration: timedelta, fraction: float
) -> datetime:
    """The moment ``fraction`` of ``duration`` has run on the clock (0.8: the warning point)."""
    return calendar.add(start, duration * fraction)
