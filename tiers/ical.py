"""Holidays read from an iCalendar (.ics) file, in plain Python with no database.

Offices publish their holidays as iCal feeds (a government's bank holidays, an exported
Outlook or Google calendar). Each all-day event (VEVENT whose DTSTART is a DATE) gives
its days: one, or DTSTART up to DTEND exclusive. A yearly repeat (RRULE with
FREQ=YEARLY, EXDATE and RDATE honoured) gives its occurrences from 1 January of the
current year for RECURRING_YEARS more years. Every other event is skipped with the
reason, named by the line it starts on. Parsing uses `icalendar`; repeats are expanded
by `dateutil`, which icalendar itself is built on.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import icalendar
from dateutil.rrule import rrulestr

RECURRING_YEARS = 5
MAX_DAYS = 31  # a longer all-day event (a term, a project) is not a holiday
_NAME_LENGTH = 200  # Holiday.name


class IcalError(ValueError):
    """The file as a whole cannot be read: nothing in it should be used."""


@dataclass
class IcalHolidays:
    """What a file says: each holiday date with its name, and the events not taken."""

    days: dict[date, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    events: int = 0


class _Skip(Exception):
    """An event that gives no holiday; its message is the reason."""


def read_holidays(content: bytes, *, today: date) -> IcalHolidays:
    """The holidays in an .ics file's all-day events; IcalError if it is no such file.

    ``today`` anchors yearly repeats: occurrences from 1 January of its year on.
    """
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IcalError("The file is not UTF-8 text, so not an iCalendar (.ics) file.") from None
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except ValueError as error:
        raise IcalError(f"The file could not be read as iCalendar (.ics): {error}") from None
    if calendar.name != "VCALENDAR":
        raise IcalError("The file has no calendar in it (BEGIN:VCALENDAR … END:VCALENDAR).")
    # icalendar keeps no line numbers; events come back in file order, so the n-th one
    # starts on the n-th BEGIN:VEVENT line.
    starts = [
        number
        for number, line in enumerate(text.splitlines(), 1)
        if line.strip().upper() == "BEGIN:VEVENT"
    ]
    horizon = (date(today.year, 1, 1), date(today.year + RECURRING_YEARS, 12, 31))
    found = IcalHolidays()
    source: dict[date, str] = {}  # date -> where it was first found, for duplicates
    for index, event in enumerate(calendar.walk("VEVENT")):
        found.events += 1
        summary = str(event.get("SUMMARY", "")).strip()
        where = f"line {starts[index]}" if index < len(starts) else f"event {index + 1}"
        label = f'{where}, "{summary}"' if summary else f"{where} (no summary)"
        try:
            days = _event_days(event, horizon)
        except _Skip as reason:
            found.skipped.append(f"{label}: {reason}")
            continue
        new = [day for day in days if day not in found.days]
        if not new:
            found.skipped.append(f"{label}: the same days as {source[days[0]]}")
            continue
        for day in new:
            found.days[day] = summary[:_NAME_LENGTH]
            source[day] = where
    return found


def _event_days(event, horizon: tuple[date, date]) -> list[date]:
    """The dates an all-day event covers, in order; _Skip with the reason otherwise."""
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        raise _Skip("cancelled")
    try:
        start, end = event.start, event.end
    except icalendar.IncompleteComponent:
        raise _Skip("it has no start (DTSTART)") from None
    except ValueError:
        raise _Skip("its start or end could not be read") from None
    if isinstance(start, datetime) or isinstance(end, datetime):
        raise _Skip("it starts or ends at a time of day: not an all-day event")
    length = (end - start).days
    if length < 1:
        raise _Skip("it ends before it starts")
    if length > MAX_DAYS:
        raise _Skip(f"it lasts {length} days; events over {MAX_DAYS} days are not holidays")
    firsts = _occurrences(event, start, horizon)
    if not firsts:
        raise _Skip(f"it repeats, but not between {horizon[0]} and {horizon[1]}")
    return sorted({first + timedelta(days=n) for first in firsts for n in range(length)})


def _occurrences(event, start: date, horizon: tuple[date, date]) -> list[date]:
    rules = event.rrules
    if not rules:
        return [start]
    for rule in rules:
        frequency = (rule.get("FREQ") or ["?"])[0]
        if str(frequency).upper() != "YEARLY":
            raise _Skip(f"it repeats {str(frequency).lower()}: only yearly repeats are taken")
    anchor = datetime.combine(start, time())
    firsts: set[date] = set()
    try:
        for rule in rules:
            rule = rule.copy()
            if "UNTIL" in rule:
                # dateutil wants UNTIL as naive as DTSTART; a date's repeats end on a date.
                rule["UNTIL"] = [_as_date(until) for until in rule["UNTIL"]]
            expanded = rrulestr(rule.to_ical().decode(), dtstart=anchor)
            low, high = (datetime.combine(day, time()) for day in horizon)
            firsts.update(moment.date() for moment in expanded.between(low, high, inc=True))
        extras = {_as_date(extra) for extra, _end in event.rdates}
        excluded = {_as_date(day) for day in event.exdates}
    except (ValueError, TypeError):
        raise _Skip("its repeat rule (RRULE, RDATE or EXDATE) could not be read") from None
    firsts.update(day for day in extras if horizon[0] <= day <= horizon[1])
    return sorted(firsts - excluded)


def _as_date(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value
