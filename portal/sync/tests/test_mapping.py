"""The declarative mapping: each type's good and bad values, required/optional, config errors.

No database: a mapping is pure configuration and conversion.
"""

import csv
import doctest
import io
import json
import pickle
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

import pytest

from portal.sync import mapping as mapping_module
from portal.sync.base import PermanentError, ShapeError
from portal.sync.converters import CURRENCIES
from portal.sync.mapping import ConfigError, Mapping, MappingError

# accounts needs only external_id and name; its optional `segment` carries the spec under test.
BASE = {"external_id": "ID", "name": "NAME"}


def build(spec, field="segment"):
    return Mapping("accounts", {**BASE, field: spec})


def convert(spec, value):
    return build(spec).apply({"ID": "a-1", "NAME": "Acme", "X": value})["segment"]


def refuse(spec, value):
    with pytest.raises(MappingError) as caught:
        convert(spec, value)
    return str(caught.value)


# --- str ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  Acme GmbH \t", "Acme GmbH"),
        ("x", "x"),
        (12, "12"),
        (Decimal("1.50"), "1.50"),
        (UUID("12345678-1234-5678-1234-567812345678"), "12345678-1234-5678-1234-567812345678"),
    ],
)
def test_str_good(value, expected):
    assert convert({"from": "X"}, value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1.5, "segment (column X): expected text, got float 1.5"),
        (True, "segment (column X): expected text, got bool True"),
        (date(2024, 3, 5), "segment (column X): expected text, got date datetime.date(2024, 3, 5)"),
    ],
)
def test_str_bad(value, message):
    assert refuse({"from": "X"}, value) == message


def test_str_max_length():
    spec = {"from": "X", "max_length": 3}
    assert convert(spec, " abc ") == "abc"
    assert refuse(spec, "abcd") == "segment (column X): must be at most 3 characters, got 4: 'abcd'"


def test_long_values_are_cut_short_in_messages():
    message = refuse({"from": "X", "max_length": 3}, "y" * 500)
    assert message == (
        f"segment (column X): must be at most 3 characters, got 500: '{'y' * 60}'..."
        " (500 characters)"
    )


# --- int ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12),
        (" +12 ", 12),
        ("-3", -3),
        ("007", 7),
        ("12.0", 12),
        ("12.00", 12),
        (12, 12),
        (12.0, 12),
        (Decimal("12.000"), 12),
        (10**30, 10**30),
    ],
)
def test_int_good(value, expected):
    result = convert({"from": "X", "type": "int"}, value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1.5", "not a whole number (expected e.g. 1234), got '1.5'"),
        ("1,000", "not a whole number (expected e.g. 1234), got '1,000'"),
        ("1e3", "not a whole number (expected e.g. 1234), got '1e3'"),
        ("1_000", "not a whole number (expected e.g. 1234), got '1_000'"),
        ("twelve", "not a whole number (expected e.g. 1234), got 'twelve'"),
        ("- 3", "not a whole number (expected e.g. 1234), got '- 3'"),
        (1.5, "not a whole number, got 1.5"),
        (float("nan"), "not a whole number, got nan"),
        (float("inf"), "not a whole number, got inf"),
        (Decimal("1.5"), "not a whole number, got Decimal('1.5')"),
        (True, "not a whole number, got True"),
    ],
)
def test_int_bad(value, message):
    assert refuse({"from": "X", "type": "int"}, value) == f"segment (column X): {message}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.000", 1000),
        ("-1.234.567", -1234567),
        ("12", 12),
        ("12,0", 12),
        ("1.000,00", 1000),
        ("1,000", 1),
    ],
)
def test_int_decimal_comma_good(value, expected):
    assert convert({"from": "X", "type": "int", "decimal_comma": True}, value) == expected


@pytest.mark.parametrize("value", ["1.00", "12,5", "1.0000", ".100", "1,5,0"])
def test_int_decimal_comma_bad(value):
    message = refuse({"from": "X", "type": "int", "decimal_comma": True}, value)
    assert message == f"segment (column X): not a whole number (expected e.g. 1.234), got {value!r}"


def test_int_bounds():
    spec = {"from": "X", "type": "int", "min": 1, "max": 100}
    assert convert(spec, "1") == 1
    assert convert(spec, "100") == 100
    assert refuse(spec, "0") == "segment (column X): must be at least 1, got '0'"
    assert refuse(spec, 101) == "segment (column X): must be at most 100, got 101"


def test_negative_quantity_names_field_column_and_reason():
    lines = Mapping(
        "order_lines",
        {
            "external_id": "ID",
            "order_id": "ORDER",
            "product_code": "SKU",
            "quantity": {"from": "QTY", "type": "int", "min": 0},
            "unit_price": {"from": "PRICE", "type": "decimal"},
        },
    )
    record = {"ID": "1", "ORDER": "o-1", "SKU": "P-7", "QTY": "-3", "PRICE": "9.90"}
    with pytest.raises(MappingError) as caught:
        lines.apply(record)
    assert str(caught.value) == "quantity (column QTY): must not be negative, got '-3'"
    assert caught.value.field == "quantity"
    assert caught.value.column == "QTY"
    assert caught.value.reason == "must not be negative, got '-3'"
    assert caught.value.value == "-3"
    assert lines.apply({**record, "QTY": "0"})["quantity"] == 0


def test_overlong_digit_strings_fail_the_record_not_the_sync():
    message = refuse({"from": "X", "type": "int"}, "9" * 5000)
    assert message.startswith("segment (column X): cannot be read: Exceeds the limit")


# --- decimal --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1234.56", Decimal("1234.56")),
        (" -0.5 ", Decimal("-0.5")),
        (".5", Decimal("0.5")),
        ("7", Decimal(7)),
        ("2.50", Decimal("2.50")),
        (7, Decimal(7)),
        (0.1, Decimal("0.1")),
        (Decimal("2.50"), Decimal("2.50")),
    ],
)
def test_decimal_good(value, expected):
    result = convert({"from": "X", "type": "decimal"}, value)
    assert result == expected
    assert type(result) is Decimal
    assert str(result) == str(expected)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1,234.56", "not a number (expected e.g. 1234.56), got '1,234.56'"),
        ("12,5", "not a number (expected e.g. 1234.56), got '12,5'"),
        ("NaN", "not a number (expected e.g. 1234.56), got 'NaN'"),
        ("Infinity", "not a number (expected e.g. 1234.56), got 'Infinity'"),
        ("1e5", "not a number (expected e.g. 1234.56), got '1e5'"),
        ("€ 5", "not a number (expected e.g. 1234.56), got '€ 5'"),
        (float("nan"), "not a finite number, got nan"),
        (float("-inf"), "not a finite number, got -inf"),
        (Decimal("NaN"), "not a finite number, got Decimal('NaN')"),
        (Decimal("Infinity"), "not a finite number, got Decimal('Infinity')"),
        (True, "not a number, got True"),
        ([1], "not a number, got list [1]"),
    ],
)
def test_decimal_bad(value, message):
    assert refuse({"from": "X", "type": "decimal"}, value) == f"segment (column X): {message}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.234,56", Decimal("1234.56")),
        ("1234,56", Decimal("1234.56")),
        ("-1.234.567,8", Decimal("-1234567.8")),
        (",5", Decimal("0.5")),
        ("12", Decimal(12)),
        ("1.000", Decimal(1000)),
        (12.5, Decimal("12.5")),
    ],
)
def test_decimal_comma_good(value, expected):
    assert convert({"from": "X", "type": "decimal", "decimal_comma": True}, value) == expected


@pytest.mark.parametrize("value", ["12.5", "1,234.56", "1.23,4", "1.2345,6", "1,2,3"])
def test_decimal_comma_bad(value):
    message = refuse({"from": "X", "type": "decimal", "decimal_comma": True}, value)
    assert message == f"segment (column X): not a number (expected e.g. 1.234,56), got {value!r}"


def test_decimal_bounds():
    spec = {"from": "X", "type": "decimal", "min": 0.01, "max": Decimal("999.99")}
    assert convert(spec, "0.01") == Decimal("0.01")
    assert refuse(spec, "0") == "segment (column X): must be at least 0.01, got '0'"
    assert refuse(spec, "1000") == "segment (column X): must be at most 999.99, got '1000'"
    assert refuse({"from": "X", "type": "decimal", "min": 0}, "-0.01") == (
        "segment (column X): must not be negative, got '-0.01'"
    )


# --- date -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-05", date(2024, 3, 5)),
        (" 2024-03-05 ", date(2024, 3, 5)),
        (date(2024, 3, 5), date(2024, 3, 5)),
        (datetime(2024, 3, 5, 23, 59, tzinfo=UTC), date(2024, 3, 5)),
    ],
)
def test_date_iso_good(value, expected):
    result = convert({"from": "X", "type": "date"}, value)
    assert result == expected
    assert type(result) is date


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("05.03.2024", "not an ISO 8601 date (e.g. 2024-03-05), got '05.03.2024'"),
        ("2024-02-30", "not an ISO 8601 date (e.g. 2024-03-05), got '2024-02-30'"),
        ("2024-03-05T10:00", "not an ISO 8601 date (e.g. 2024-03-05), got '2024-03-05T10:00'"),
        (20240305, "not a date, got int 20240305"),
    ],
)
def test_date_iso_bad(value, message):
    assert refuse({"from": "X", "type": "date"}, value) == f"segment (column X): {message}"


def test_date_format():
    spec = {"from": "X", "type": "date", "format": "%d.%m.%Y"}
    assert convert(spec, "05.03.2024") == date(2024, 3, 5)
    assert convert(spec, "5.3.2024") == date(2024, 3, 5)
    assert convert(spec, "29.02.2024") == date(2024, 2, 29)
    assert refuse(spec, "29.02.2023") == (
        "segment (column X): not a date in format %d.%m.%Y, got '29.02.2023'"
    )
    assert refuse(spec, "2024-03-05") == (
        "segment (column X): not a date in format %d.%m.%Y, got '2024-03-05'"
    )


def test_date_several_formats_tried_in_order():
    spec = {"from": "X", "type": "date", "format": ["%d.%m.%Y", "%Y-%m-%d", "%d %b %Y", "%d.%m.%y"]}
    assert convert(spec, "05.03.2024") == date(2024, 3, 5)
    assert convert(spec, "2024-03-05") == date(2024, 3, 5)
    assert convert(spec, "5 Mar 2024") == date(2024, 3, 5)
    assert convert(spec, "05.03.24") == date(2024, 3, 5)
    assert convert(spec, "05.03.69") == date(1969, 3, 5)
    assert refuse(spec, "soon") == (
        "segment (column X): not a date in any of the formats"
        " %d.%m.%Y, %Y-%m-%d, %d %b %Y, %d.%m.%y, got 'soon'"
    )


# Tricky inputs for the precompiled formats: they must read exactly what strptime reads.
@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        ("%d.%m.%Y", "5.3.2024"),
        ("%d.%m.%Y", "31.04.2024"),
        ("%d.%m.%Y", "05.03.24"),
        ("%d.%m.%Y", "05.03.20245"),
        ("%d.%m.%Y", "05-03-2024"),
        ("%d.%m.%Y", "00.03.2024"),
        ("%d.%m.%y", "05.03.68"),
        ("%Y%m%d", "20240305"),
        ("%Y%m%d", "2024035"),
        ("%Y-%m-%d %H:%M:%S", "2024-03-05  7:08:09"),
        ("%Y-%m-%d %H:%M:%S", "2024-03-05 24:00:00"),
        ("%Y-%m-%d %H:%M:%S", "2024-03-05 23:59:60"),
        ("%Y-%m-%dT%H:%M:%S.%f", "2024-03-05t07:08:09.5"),
        ("%Y-%m-%dT%H:%M:%S.%f", "2024-03-05T07:08:09.1234567"),
        ("%d/%m/%Y %H:%M %%", "05/03/2024 10:00 %"),
    ],
)
def test_precompiled_formats_read_what_strptime_reads(fmt, text):
    try:
        expected = datetime.strptime(text, fmt).replace(tzinfo=UTC)
    except ValueError:
        expected = None
    spec = {"from": "X", "type": "datetime", "format": fmt}
    try:
        result = convert(spec, text)
    except MappingError:
        result = None
    assert result == expected


# --- datetime -------------------------------------------------------------------------------

BERLIN = {"from": "X", "type": "datetime", "tz": "Europe/Berlin", "format": "%d.%m.%Y %H:%M"}


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        ("15.01.2024 12:00", datetime(2024, 1, 15, 11, 0, tzinfo=UTC)),  # CET, +01:00
        ("01.07.2024 12:00", datetime(2024, 7, 1, 10, 0, tzinfo=UTC)),  # CEST, +02:00
        ("31.03.2024 01:59", datetime(2024, 3, 31, 0, 59, tzinfo=UTC)),  # just before spring
        ("31.03.2024 03:00", datetime(2024, 3, 31, 1, 0, tzinfo=UTC)),  # just after spring
        ("31.03.2024 02:30", datetime(2024, 3, 31, 1, 30, tzinfo=UTC)),  # skipped: old offset
        ("27.10.2024 02:30", datetime(2024, 10, 27, 0, 30, tzinfo=UTC)),  # twice: first one
        ("27.10.2024 03:30", datetime(2024, 10, 27, 2, 30, tzinfo=UTC)),  # after autumn
    ],
)
def test_naive_local_times_become_utc_across_dst(local, utc):
    result = convert(BERLIN, local)
    assert result == utc
    assert result.tzinfo is UTC
    assert (result.year, result.month, result.day, result.hour, result.minute) == (
        utc.year,
        utc.month,
        utc.day,
        utc.hour,
        utc.minute,
    )


@pytest.mark.parametrize(
    ("value", "utc"),
    [
        ("2024-07-01T12:00:00", datetime(2024, 7, 1, 10, 0, tzinfo=UTC)),
        ("2024-07-01 12:00", datetime(2024, 7, 1, 10, 0, tzinfo=UTC)),
        ("2024-07-01", datetime(2024, 6, 30, 22, 0, tzinfo=UTC)),
        ("2024-07-01T12:00:00+05:00", datetime(2024, 7, 1, 7, 0, tzinfo=UTC)),
        ("2024-07-01T12:00:00Z", datetime(2024, 7, 1, 12, 0, tzinfo=UTC)),
        (datetime(2024, 1, 15, 12, 0), datetime(2024, 1, 15, 11, 0, tzinfo=UTC)),
        (
            datetime(2024, 1, 15, 12, 0, tzinfo=timezone(timedelta(hours=-5))),
            datetime(2024, 1, 15, 17, 0, tzinfo=UTC),
        ),
        (date(2024, 1, 15), datetime(2024, 1, 14, 23, 0, tzinfo=UTC)),
    ],
)
def test_datetime_iso_and_python_values(value, utc):
    result = convert({"from": "X", "type": "datetime", "tz": "Europe/Berlin"}, value)
    assert result == utc
    assert result.tzinfo is UTC


def test_datetime_default_zone_is_utc():
    result = convert({"from": "X", "type": "datetime"}, "2024-07-01T12:00:00")
    assert result == datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
    assert result.tzinfo is UTC


def test_datetime_format_with_offset():
    spec = {"from": "X", "type": "datetime", "tz": "Europe/Berlin", "format": "%d.%m.%Y %H:%M %z"}
    assert convert(spec, "01.07.2024 12:00 +0000") == datetime(2024, 7, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("spec", "value", "message"),
    [
        (
            {"from": "X", "type": "datetime"},
            "2024-13-01T00:00",
            "not an ISO 8601 date and time (e.g. 2024-03-05T14:30:00), got '2024-13-01T00:00'",
        ),
        (BERLIN, "01.07.2024", "not a date and time in format %d.%m.%Y %H:%M, got '01.07.2024'"),
        (BERLIN, 1719828000, "not a date and time, got int 1719828000"),
        (
            {"from": "X", "type": "datetime", "tz": "Europe/Berlin"},
            "0001-01-01T00:30:00",
            "cannot be read: date value out of range",
        ),
    ],
)
def test_datetime_bad(spec, value, message):
    assert refuse(spec, value) == f"segment (column X): {message}"


# --- bool, currency, enum -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["true", "TRUE", "True", " yes ", "Y", "y", "1", True, 1])
def test_bool_true(value):
    assert convert({"from": "X", "type": "bool"}, value) is True


@pytest.mark.parametrize("value", ["false", "No", "n", "N", "0", False, 0])
def test_bool_false(value):
    assert convert({"from": "X", "type": "bool"}, value) is False


@pytest.mark.parametrize(
    ("value", "shown"), [("maybe", "'maybe'"), ("ja", "'ja'"), (2, "2"), (1.0, "1.0")]
)
def test_bool_bad(value, shown):
    assert refuse({"from": "X", "type": "bool"}, value) == (
        f"segment (column X): not a yes/no value (true/false, yes/no, y/n, 1/0), got {shown}"
    )


@pytest.mark.parametrize(
    "code", ["EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "JPY", "CAD", "AUD"]
)
def test_currency_known(code):
    assert code in CURRENCIES
    assert convert({"from": "X", "type": "currency"}, f" {code.lower()} ") == code


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("XXX", "unknown currency 'XXX'"),
        ("EURO", "unknown currency 'EURO'"),
        ("€", "unknown currency '€'"),
        (978, "not a currency code, got int 978"),
    ],
)
def test_currency_bad(value, message):
    assert refuse({"from": "X", "type": "currency"}, value) == f"segment (column X): {message}"


STATUS = {
    "from": "X",
    "type": "enum",
    "values": {"O": "open", "Offen": "open", "closed": "closed", "3": "closed", "n/a": None},
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("O", "open"),
        ("o", "open"),
        (" OFFEN ", "open"),
        ("Closed", "closed"),
        (3, "closed"),
        ("3", "closed"),
        ("N/A", None),
    ],
)
def test_enum_good(value, expected):
    assert convert(STATUS, value) == expected


@pytest.mark.parametrize(
    ("value", "shown"),
    [("maybe", "'maybe'"), ("Offen!", "'Offen!'"), (4, "4"), (True, "bool True")],
)
def test_enum_bad(value, shown):
    assert refuse(STATUS, value) == (
        f"segment (column X): unexpected value {shown}, expected one of: O, Offen, closed, 3, n/a"
    )


def test_enum_value_mapped_to_none_counts_as_missing():
    assert convert({**STATUS, "default": "open"}, "n/a") == "open"
    with pytest.raises(MappingError, match=r"^segment \(column X\): required, but the value is"):
        convert({**STATUS, "required": True}, "n/a")


# --- required, optional, defaults, shorthand -------------------------------------------------


@pytest.mark.parametrize(
    ("record", "why"),
    [
        ({"NAME": "Acme"}, "missing"),
        ({"ID": "", "NAME": "Acme"}, "empty"),
        ({"ID": None, "NAME": "Acme"}, "empty"),
        ({"ID": "  \t", "NAME": "Acme"}, "empty"),
    ],
)
def test_required_field_missing_or_empty(record, why):
    mapping = Mapping("accounts", BASE)
    with pytest.raises(MappingError) as caught:
        mapping.apply(record)
    assert str(caught.value) == f"external_id (column ID): required, but the value is {why}"


@pytest.mark.parametrize("record", [{}, {"X": ""}, {"X": None}, {"X": "   "}])
def test_optional_field_missing_or_empty_is_none(record):
    for kind in ["str", "int", "decimal", "date", "datetime", "bool", "currency"]:
        result = build({"from": "X", "type": kind}).apply({"ID": "1", "NAME": "n", **record})
        assert result["segment"] is None, kind


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"from": "X", "default": "retail"}, "retail"),
        (
            {"from": "X", "type": "decimal", "decimal_comma": True, "default": "0,00"},
            Decimal("0.00"),
        ),
        (
            {"from": "X", "type": "date", "format": "%d.%m.%Y", "default": "01.01.2024"},
            date(2024, 1, 1),
        ),
        ({"from": "X", "type": "bool", "default": False}, False),
        ({"from": "X", "type": "currency", "default": "eur"}, "EUR"),
        ({**STATUS, "default": "Offen"}, "open"),  # a source value
        ({**STATUS, "default": "closed"}, "closed"),  # a portal value
    ],
)
def test_defaults_fill_missing_optional_values(spec, expected):
    mapping = build(spec)
    assert mapping.apply({"ID": "1", "NAME": "n"})["segment"] == expected
    assert mapping.apply({"ID": "1", "NAME": "n", "X": " "})["segment"] == expected


def test_an_optional_field_can_be_made_required():
    mapping = build({"from": "X", "required": True})
    assert mapping.required_columns() == {"ID", "NAME", "X"}
    with pytest.raises(MappingError, match=r"^segment \(column X\): required, but the value is"):
        mapping.apply({"ID": "1", "NAME": "n"})


def test_shorthand_string_spec_is_a_text_column():
    short = Mapping("accounts", {"external_id": "ID", "name": "NAME", "city": "Ort"})
    long = Mapping(
        "accounts",
        {
            "external_id": {"from": "ID"},
            "name": {"from": "NAME", "type": "str"},
            "city": {"from": "Ort"},
        },
    )
    record = {"ID": " 7 ", "NAME": "Acme", "Ort": " Köln "}
    assert (
        short.apply(record)
        == long.apply(record)
        == {
            "external_id": "7",
            "name": "Acme",
            "city": "Köln",
        }
    )


def test_output_has_exactly_the_mapped_fields_in_configured_order():
    mapping = Mapping("accounts", {"city": "Ort", "name": "NAME", "external_id": "NAME"})
    result = mapping.apply({"NAME": "Acme", "Ort": "Ulm", "extra": "ignored"})
    assert list(result) == ["city", "name", "external_id"]
    assert result == {"city": "Ulm", "name": "Acme", "external_id": "Acme"}


def test_the_first_bad_field_is_reported():
    mapping = Mapping(
        "accounts",
        {"external_id": "ID", "name": "NAME", "customer_number": {"from": "NO", "type": "int"}},
    )
    with pytest.raises(MappingError) as caught:
        mapping.apply({"NAME": "", "NO": "x"})
    assert str(caught.value) == "external_id (column ID): required, but the value is missing"


def test_apply_does_not_change_the_record():
    record = {"ID": " 1 ", "NAME": "n", "X": "5"}
    build({"from": "X", "type": "int"}).apply(record)
    assert record == {"ID": " 1 ", "NAME": "n", "X": "5"}


def test_mapping_error_is_a_value_error_and_survives_pickling():
    error = MappingError("quantity", "QTY", "must not be negative, got '-3'", "-3")
    assert isinstance(error, ValueError)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert str(copy) == "quantity (column QTY): must not be negative, got '-3'"
    assert (copy.field, copy.column, copy.value) == ("quantity", "QTY", "-3")


# --- columns --------------------------------------------------------------------------------


def order_lines(**extra):
    return Mapping(
        "order_lines",
        {
            "external_id": "ID",
            "order_id": "ORDER",
            "product_code": "SKU",
            "quantity": {"from": "QTY", "type": "decimal"},
            "unit_price": {"from": "PRICE", "type": "decimal"},
            "product_name": "NAME",
            **extra,
        },
    )


def test_source_and_required_columns():
    mapping = order_lines(lot={"from": "LOT", "required": True})
    assert mapping.source_columns == {"ID", "ORDER", "SKU", "QTY", "PRICE", "NAME", "LOT"}
    assert mapping.required_columns() == {"ID", "ORDER", "SKU", "QTY", "PRICE", "LOT"}
    mapping.source_columns.add("mutating a copy")
    assert "mutating a copy" not in mapping.source_columns


def test_check_columns_names_missing_required_columns_sorted():
    mapping = order_lines(lot={"from": "LOT", "required": True})
    with pytest.raises(ShapeError) as caught:
        mapping.check_columns(iter(["ID", "ORDER", "SKU", "PRICE", "NAME"]))
    assert str(caught.value) == "source is missing required column(s): LOT, QTY"
    assert isinstance(caught.value, PermanentError)


def test_check_columns_accepts_missing_optional_and_extra_columns():
    order_lines().check_columns(["PRICE", "QTY", "SKU", "ORDER", "ID", "Bemerkung"])


# --- configuration errors -------------------------------------------------------------------

INVOICE = {
    "external_id": "InvoiceNo",
    "number": "InvoiceNo",
    "customer_id": "Kunde",
    "amount": {"from": "Betrag", "type": "decimal"},
    "currency": {"from": "Währung", "type": "currency"},
    "issued_on": {"from": "Datum", "type": "date"},
}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {**INVOICE, "paid": "Bezahlt"},
            "unknown target field(s) 'paid' (expected: external_id, customer_id, number, amount,"
            " currency, issued_on, due_on, paid_on, status, customer_name, product_line, order_id,"
            " payment_url, customer_number, customer_registry_id, customer_city,"
            " customer_postcode, customer_email, customer_phone, customer_street)",
        ),
        (
            {k: v for k, v in INVOICE.items() if k not in ("amount", "number")},
            "required field(s) not mapped: number, amount",
        ),
        (
            {**INVOICE, "amount": {"from": "Betrag", "type": "money"}},
            "amount: unknown type 'money' (expected one of:"
            " str, int, decimal, date, datetime, bool, currency, enum)",
        ),
        (
            {**INVOICE, "issued_on": {"from": "Datum", "type": "date", "fromat": "%d.%m.%Y"}},
            "issued_on: unknown spec key(s) 'fromat' (did you mean: 'fromat': write 'format')"
            " (expected: decimal, decimal_comma, default, format, from, grouping, locale, max,"
            " max_length, min, negative_parentheses, null_values, required, strip, thousands,"
            " trailing_minus, type, tz, values)",
        ),
        (
            {**INVOICE, "amount": {"from": "Betrag", "type": "decimal", "format": "%d"}},
            "amount: 'format' does not apply to type 'decimal'",
        ),
        (
            {**INVOICE, "status": {"from": "S", "type": "enum"}},
            "status: type 'enum' needs 'values':"
            " a non-empty mapping of source value to portal value",
        ),
        (
            {**INVOICE, "status": {"from": "S", "type": "enum", "values": {}}},
            "status: type 'enum' needs 'values':"
            " a non-empty mapping of source value to portal value",
        ),
        (
            {**INVOICE, "status": {"from": "S", "type": "enum", "values": {"a": "x", "A": "y"}}},
            "status: enum source value 'A' is mapped twice (ignoring case)",
        ),
        (
            {**INVOICE, "amount": {"type": "decimal"}},
            "amount: 'from' must name the source column, got None",
        ),
        ({**INVOICE, "amount": 5}, "amount: spec must be a column name or a mapping, got 5"),
        (
            {**INVOICE, "issued_on": {"from": "Datum", "type": "date", "format": "dd.mm.yyyy"}},
            "issued_on: format 'dd.mm.yyyy' has no strptime directives"
            " (write e.g. '%d.%m.%Y' for dd.mm.yyyy)",
        ),
        (
            {**INVOICE, "issued_on": {"from": "Datum", "type": "date", "format": "%d.%m.%Q"}},
            "issued_on: format '%d.%m.%Q' has an unknown directive '%Q'",
        ),
        (
            {**INVOICE, "issued_on": {"from": "Datum", "type": "date", "format": "%d.%m.%d"}},
            "issued_on: format '%d.%m.%d' uses '%d' twice",
        ),
        (
            {**INVOICE, "issued_on": {"from": "Datum", "type": "date", "format": "%Y-%m-%d %"}},
            "issued_on: format '%Y-%m-%d %' ends in a stray '%'",
        ),
        (
            {**INVOICE, "issued_on": {"from": "Datum", "type": "date", "format": []}},
            "issued_on: 'format' must be a strptime format or a list of them, got []",
        ),
        (
            {**INVOICE, "paid_on": {"from": "P", "type": "datetime", "tz": "Europe/Berln"}},
            "paid_on: unknown time zone 'Europe/Berln' (expected e.g. 'Europe/Berlin')",
        ),
        (
            {**INVOICE, "amount": {"from": "Betrag", "type": "decimal", "min": 10, "max": 1}},
            "amount: 'min' (10) is greater than 'max' (1)",
        ),
        (
            {**INVOICE, "amount": {"from": "Betrag", "type": "decimal", "min": "0"}},
            "amount: 'min' must be a number, got '0'",
        ),
        (
            {**INVOICE, "amount": {"from": "Betrag", "type": "decimal", "decimal_comma": "yes"}},
            "amount: 'decimal_comma' must be true or false, got 'yes'",
        ),
        (
            {**INVOICE, "status": {"from": "S", "max_length": 0}},
            "status: 'max_length' must be a positive whole number, got 0",
        ),
        (
            {**INVOICE, "amount": {"from": "Betrag", "type": "decimal", "required": False}},
            "amount: the entity requires this field; it cannot be made optional",
        ),
        (
            {**INVOICE, "currency": {"from": "Währung", "type": "currency", "default": "EUR"}},
            "currency: a required field cannot have a default",
        ),
        (
            {**INVOICE, "status": {"from": "S", "required": "no"}},
            "status: 'required' must be true or false, got 'no'",
        ),
        (
            {**INVOICE, "due_on": {"from": "F", "type": "date", "default": "31.12.2024"}},
            "due_on: default '31.12.2024' is not valid:"
            " not an ISO 8601 date (e.g. 2024-03-05), got '31.12.2024'",
        ),
    ],
)
def test_config_errors(fields, message):
    with pytest.raises(ConfigError) as caught:
        Mapping("invoices", fields)
    assert str(caught.value) == f"mapping for invoices: {message}"
    assert isinstance(caught.value, PermanentError)


def test_config_errors_are_all_reported_at_once():
    fields = {
        "external_id": "InvoiceNo",
        "nummer": "InvoiceNo",
        "amount": {"from": "Betrag", "type": "money"},
        "currency": {"from": "Währung", "type": "currency", "values": {"€": "EUR"}},
    }
    with pytest.raises(ConfigError) as caught:
        Mapping("invoices", fields)
    assert str(caught.value) == (
        "mapping for invoices: unknown target field(s) 'nummer' (expected: external_id,"
        " customer_id, number, amount, currency, issued_on, due_on, paid_on, status,"
        " customer_name, product_line, order_id, payment_url, customer_number,"
        " customer_registry_id, customer_city, customer_postcode, customer_email,"
        " customer_phone, customer_street); required"
        " field(s) not mapped:"
        " customer_id,"
        " number, issued_on; amount: unknown type 'money' (expected one of: str, int, decimal,"
        " date, datetime, bool, currency, enum); currency: 'values' does not apply to type"
        " 'currency'"
    )


def test_unknown_entity():
    with pytest.raises(ConfigError) as caught:
        Mapping("invoice", INVOICE)
    assert str(caught.value) == (
        "unknown entity 'invoice'; expected one of:"
        " accounts, invoices, order_lines, orders, prices, samples, shipments, tickets"
    )


# --- the worked example ---------------------------------------------------------------------


def test_module_docstring_examples_run():
    result = doctest.testmod(mapping_module)
    assert result.attempted >= 5
    assert result.failed == 0


def test_worked_example_round_trips_through_json_config():
    config = {
        "external_id": "InvoiceNo",
        "number": "InvoiceNo",
        "customer_id": "Kunde",
        "amount": {"from": "Betrag", "type": "decimal", "decimal_comma": True},
        "currency": {"from": "Währung", "type": "currency"},
        "issued_on": {"from": "Datum", "type": "date", "format": "%d.%m.%Y"},
    }
    billing = Mapping("invoices", json.loads(json.dumps(config)))  # as stored in the database
    export = (
        "InvoiceNo;Kunde;Betrag;Währung;Datum\n"
        "RE-2024-0042;K-1001;1.234,56;eur;05.03.2024\n"
        "RE-2024-0043; K-2002 ;-99,90;CHF;31.12.2024\n"
        "RE-2024-0044;K-1001;12.5;EUR;06.03.2024\n"
    )
    rows = csv.DictReader(io.StringIO(export), delimiter=";")
    billing.check_columns(rows.fieldnames)
    first, second, third = rows
    assert billing.apply(first) == {
        "external_id": "RE-2024-0042",
        "number": "RE-2024-0042",
        "customer_id": "K-1001",
        "amount": Decimal("1234.56"),
        "currency": "EUR",
        "issued_on": date(2024, 3, 5),
    }
    assert billing.apply(second) == {
        "external_id": "RE-2024-0043",
        "number": "RE-2024-0043",
        "customer_id": "K-2002",
        "amount": Decimal("-99.90"),
        "currency": "CHF",
        "issued_on": date(2024, 12, 31),
    }
    with pytest.raises(MappingError) as caught:
        billing.apply(third)
    assert str(caught.value) == (
        "amount (column Betrag): not a number (expected e.g. 1.234,56), got '12.5'"
    )
    with pytest.raises(ShapeError) as shape:
        billing.check_columns(["InvoiceNo", "Kunde", "Betrag", "Währung"])
    assert str(shape.value) == "source is missing required column(s): Datum"


# Nested records (JSON APIs): dotted paths


def test_a_dotted_path_reads_a_nested_value_and_a_literal_dotted_key_comes_first():
    mapping = Mapping("accounts", {"external_id": "account.ref", "name": "account.name.legal"})
    nested = {"account": {"ref": "C-7", "name": {"legal": "Northwind Ltd"}}}
    assert mapping.apply(nested) == {"external_id": "C-7", "name": "Northwind Ltd"}
    flat = {"account.ref": "C-8", "account": {"ref": "ignored"}, "account.name.legal": "X"}
    assert mapping.apply(flat)["external_id"] == "C-8"


def test_a_required_dotted_path_missing_in_a_record_says_so():
    mapping = Mapping("accounts", {"external_id": "account.ref", "name": "NAME"})
    with pytest.raises(MappingError) as caught:
        mapping.apply({"account": {"id": "C-7"}, "NAME": "n"})
    assert str(caught.value) == (
        "external_id (column account.ref): required, but the value is missing"
    )


def test_a_path_no_record_of_the_batch_has_is_a_changed_shape_naming_what_is_there():
    mapping = Mapping("accounts", {**BASE, "segment": "account.segment"})
    records = [{"ID": "1", "NAME": "n", "account": {"tier": "gold", "ref": "C-1"}}]
    with pytest.raises(ShapeError) as caught:
        mapping.check_columns(["ID", "NAME", "account"], records)
    assert str(caught.value) == (
        "no record has 'account.segment'; under 'account' the source has: ref, tier"
    )
    records.append({"ID": "2", "NAME": "m", "account": {"segment": "retail"}})
    mapping.check_columns(["ID", "NAME", "account"], records)  # one record has it: fine
    mapping.check_columns(["ID", "NAME"], records[:1])  # no "account" at all: optional, fine
