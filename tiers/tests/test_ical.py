"""Holidays imported from an iCal file: which events count, idempotence, bad files."""

from datetime import date

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tiers.ical import read_holidays
from tiers.models import Holiday, SupportCalendar
from tiers.services import holidays_import_ical

TODAY = date(2026, 6, 1)


def ics(*events: str) -> bytes:
    """A calendar file around the events, with CRLF line ends as RFC 5545 writes them."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Portal tests//EN"]
    for event in events:
        lines += ["BEGIN:VEVENT", *event.strip().splitlines(), "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


NEW_YEAR = "UID:1\nSUMMARY:New Year's Day\nDTSTART;VALUE=DATE:20270101"  # line 4
CHRISTMAS = (  # line 9: 24, 25 and 26 December (DTEND is exclusive)
    "UID:2\nSUMMARY:Christmas break\nDTSTART;VALUE=DATE:20261224\nDTEND;VALUE=DATE:20261227"
)
MEETING = (  # line 15: at a time of day
    "UID:3\nSUMMARY:Team meeting\nDTSTART:20261201T100000Z\nDTEND:20261201T110000Z"
)
NEW_YEAR_AGAIN = "UID:4\nSUMMARY:New Year (copy)\nDTSTART;VALUE=DATE:20270101"  # line 21
FILE = ics(NEW_YEAR, CHRISTMAS, MEETING, NEW_YEAR_AGAIN)


@pytest.fixture
def office(db) -> SupportCalendar:
    return SupportCalendar.objects.create(name="UK office hours")


def holidays(calendar) -> list[tuple[date, str]]:
    return list(calendar.holidays.order_by("date").values_list("date", "name"))


def test_import_adds_single_and_multi_day_events_and_says_what_it_skipped(office):
    result = holidays_import_ical(calendar=office, content=FILE, today=TODAY)
    assert holidays(office) == [
        (date(2026, 12, 24), "Christmas break"),
        (date(2026, 12, 25), "Christmas break"),
        (date(2026, 12, 26), "Christmas break"),
        (date(2027, 1, 1), "New Year's Day"),
    ]
    assert result.added == 4
    assert result.already_there == 0
    assert result.skipped == [
        'line 15, "Team meeting": it starts or ends at a time of day: not an all-day event',
        'line 21, "New Year (copy)": the same days as line 4',
    ]


def test_importing_the_same_file_twice_adds_nothing(office):
    holidays_import_ical(calendar=office, content=FILE, today=TODAY)
    again = holidays_import_ical(calendar=office, content=FILE, today=TODAY)
    assert (again.added, again.already_there) == (0, 4)
    assert office.holidays.count() == 4


def test_import_keeps_holidays_already_there_as_they_are(office):
    Holiday.objects.create(calendar=office, date=date(2026, 12, 25), name="Christmas Day")
    result = holidays_import_ical(calendar=office, content=FILE, today=TODAY)
    assert (result.added, result.already_there) == (3, 1)
    assert office.holidays.get(date=date(2026, 12, 25)).name == "Christmas Day"


def test_yearly_repeats_give_this_year_and_the_next_five(office):
    boxing_day = "SUMMARY:Boxing Day\nDTSTART;VALUE=DATE:20201226\nRRULE:FREQ=YEARLY"
    last_monday_of_may = (
        "SUMMARY:Spring bank holiday\nDTSTART;VALUE=DATE:20240527\n"
        "RRULE:FREQ=YEARLY;BYMONTH=5;BYDAY=-1MO;UNTIL=20280601T000000Z\n"
        "EXDATE;VALUE=DATE:20270531"
    )
    holidays_import_ical(calendar=office, content=ics(boxing_day, last_monday_of_may), today=TODAY)
    days = [day for day, _name in holidays(office)]
    assert days == [
        date(2026, 5, 25),
        date(2026, 12, 26),
        date(2027, 12, 26),
        date(2028, 5, 29),
        date(2028, 12, 26),
        date(2029, 12, 26),
        date(2030, 12, 26),
        date(2031, 12, 26),
    ]


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ("SUMMARY:Standup\nDTSTART;VALUE=DATE:20260601\nRRULE:FREQ=WEEKLY", "repeats weekly"),
        ("SUMMARY:Off\nSTATUS:CANCELLED\nDTSTART;VALUE=DATE:20261231", "cancelled"),
        ("SUMMARY:Term\nDTSTART;VALUE=DATE:20260901\nDTEND;VALUE=DATE:20261220", "110 days"),
        ("SUMMARY:Odd\nDTSTART;VALUE=DATE:20261231\nDTEND;VALUE=DATE:20261230", "ends before"),
        ("SUMMARY:Broken\nDTSTART;VALUE=DATE:20261341", "could not be read"),
        ("SUMMARY:Nowhen", "no start"),
        (
            "SUMMARY:Old\nDTSTART;VALUE=DATE:20100101\nRRULE:FREQ=YEARLY;COUNT=3",
            "it repeats, but not between 2026-01-01 and 2031-12-31",
        ),
    ],
)
def test_events_that_are_not_holidays_are_skipped_with_the_reason(event, reason):
    found = read_holidays(ics(event), today=TODAY)
    assert found.days == {}
    assert len(found.skipped) == 1
    assert found.skipped[0].startswith("line 4, ")
    assert reason in found.skipped[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "could not be read as iCalendar"),
        (b"Date,Name\n2026-12-25,Christmas\n", "could not be read as iCalendar"),
        (b"BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261225\r\nEND:VEVENT\r\n", "no calendar"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n", "could not be read as iCalendar"),
        ("Weihnachten".encode("utf-16"), "not UTF-8"),
    ],
)
def test_a_bad_file_is_refused_and_writes_nothing(office, content, message):
    with pytest.raises(ValidationError, match=message):
        holidays_import_ical(calendar=office, content=content, today=TODAY)
    assert not office.holidays.exists()


def test_a_byte_order_mark_is_fine(office):
    result = holidays_import_ical(calendar=office, content=b"\xef\xbb\xbf" + FILE, today=TODAY)
    assert result.added == 4


def test_admin_imports_a_file_and_reports(client, world, office):
    client.force_login(world.admin)
    url = reverse("admin:tiers_supportcalendar_import_holidays", args=[office.pk])
    change = reverse("admin:tiers_supportcalendar_change", args=[office.pk])
    assert url in client.get(change).content.decode()  # the button on the calendar
    assert "iCal file (.ics)" in client.get(url).content.decode()
    upload = SimpleUploadedFile("holidays.ics", FILE, "text/calendar")
    response = client.post(url, {"file": upload})
    assert response.status_code == 302
    assert response["Location"] == change
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said[0] == "Added 4 holidays to UK office hours."
    assert said[1].startswith('Skipped line 15, "Team meeting"')
    assert office.holidays.count() == 4


def test_admin_shows_why_a_file_was_refused(client, world, office):
    client.force_login(world.admin)
    url = reverse("admin:tiers_supportcalendar_import_holidays", args=[office.pk])
    upload = SimpleUploadedFile("holidays.csv", b"Date,Name\n", "text/csv")
    response = client.post(url, {"file": upload})
    assert response.status_code == 200
    assert "could not be read as iCalendar" in response.content.decode()
    assert not office.holidays.exists()


def test_only_admins_reach_the_import(client, world, office):
    url = reverse("admin:tiers_supportcalendar_import_holidays", args=[office.pk])
    client.force_login(world.am_a)
    response = client.post(url, {"file": SimpleUploadedFile("h.ics", FILE)})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert not office.holidays.exists()
