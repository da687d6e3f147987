"""SLA clock arithmetic on a tier's calendar.

A tier's SLA clock runs either 24/7 or only during business hours (some weekdays,
between an opening and a closing time) in the organisation's time zone. This module
answers two questions for such a calendar, in plain Python with no database:

- ``add``: when does a given amount of clock time after a start run out (the due moment)?
- ``between``: how much clock time ran between two instants?

All arithmetic is done on UTC instants, so results are exact to the microsecond and
correct across daylight saving changes.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)


def _to_utc(moment: datetime, name: str) -> datetime:
    # Aware datetimes sharing one tzinfo subtract as wall clocks (ignoring DST), so every
    # instant is moved to UTC before any comparison or arithmetic.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"aware datetime required for {name}, got naive {moment!r}")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class BusinessCalendar:
    """When the SLA clock runs.

    ``always_open`` means 24/7. Otherwise the clock runs during ``[opens, closes)``
    local time in ``tz`` on ``weekdays`` (Monday=0 .. Sunday=6).
    """

    tz: ZoneInfo
    always_open: bool = False
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    opens: time = time(9, 0)
    closes: time = time(17, 0)

    def __post_init__(self) -> None:
        # Accept any iterable of weekdays but keep the calendar hashable and immutable.
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        if self.always_open:
            return
        if not self.weekdays:
            raise ValueError("a business-hours calendar needs at least one weekday")
        if any(day not in range(7) for day in self.weekdays):
            raise ValueError(f"weekdays must be 0 (Monday) to 6 (Sunday), got {self.weekdays}")
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise ValueError("opens and closes are wall-clock times in tz: give them naive")
        if self.opens >= self.closes:
            raise ValueError(f"opens ({self.opens}) must be before closes ({self.closes})")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of clock time after ``start``, as an aware UTC datetime.

        24/7: ``start + duration``. Business hours: only time inside the opening windows
        counts; a start outside hours begins counting at the next opening. A duration
        that runs out exactly at closing time returns the closing time.

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
            window = self._window(day)
            if window is not None:
                begin = max(cursor, window[0])
                if begin < window[1]:
                    if remaining <= window[1] - begin:
                        return begin + remaining
                    remaining -= window[1] - begin
            day += _ONE_DAY
        # Unreachable for a valid calendar: the bound is generous. Fail loudly, never spin.
        raise RuntimeError(f"could not place {duration} on {self!r} from {start!r}")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Clock time that runs between two aware instants (0 if ``end <= start``).

        24/7: ``end - start``. Business hours: the sum of the overlaps of
        ``[start, end)`` with the opening windows.
        """
        begin, finish = _to_utc(start, "start"), _to_utc(end, "end")
        if finish <= begin:
            return _ZERO
        if self.always_open:
            return finish - begin
        total = _ZERO
        day, last = self._first_day(begin), finish.astimezone(self.tz).date()
        while day <= last:
            window = self._window(day)
            if window is not None:
                total += max(min(finish, window[1]) - max(begin, window[0]), _ZERO)
            day += _ONE_DAY
        return total

    def _first_day(self, moment: datetime) -> date:
        # One day early: in a DST gap a window's closing can land after local midnight,
        # so the previous day's window may still be open at `moment`.
        return moment.astimezone(self.tz).date() - _ONE_DAY

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        """The opening window of local ``day`` as UTC instants, or None on a closed day."""
        if day.weekday() not in self.weekdays:
            return None
        # Local wall-clock bounds turned into instants: a window holding a DST change is
        # really an hour shorter or longer, and the UTC difference says so.
        opens = datetime.combine(day, self.opens, tzinfo=self.tz).astimezone(UTC)
        closes = datetime.combine(day, self.closes, tzinfo=self.tz).astimezone(UTC)
        return opens, closes

    def _max_days(self, duration: timedelta) -> int:
        # Each full window needed turns up within a week; doubling leaves room for windows
        # that DST changes shorten or erase, plus two weeks for partial first and last days.
        reference = date(2000, 1, 3)
        wall = datetime.combine(reference, self.closes) - datetime.combine(reference, self.opens)
        return 2 * 7 * (duration // wall + 1) + 14


def fraction_point(
    calendar: BusinessCalendar, start: datetime, duration: timedelta, fraction: float
) -> datetime:
    """The moment ``fraction`` of ``duration`` has run on the clock (0.8: the warning point)."""
    return calendar.add(start, duration * fraction)
