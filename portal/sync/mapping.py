"""Declarative field mapping: a source's raw record -> typed values for the portal's fields.

Adding a source needs configuration, not code. Its configuration maps each
target field of the entity (see `portal.sync.entities.ENTITIES`) to a *spec*
that names the source column and says how to read it. The same dict is what
the source's configuration holds as JSON::

    {
        "external_id": "InvoiceNo",
        "amount": {"from": "Betrag", "type": "decimal", "decimal_comma": true},
        "issued_on": {"from": "Datum", "type": "date", "format": "%d.%m.%Y"}
    }

A plain string is shorthand for ``{"from": "<column>"}`` (a text field).
Column names are matched exactly (case and spaces count). Several fields may
read the same column.

Spec keys
---------

=============== ============================== =========================================
key             applies to                     meaning
=============== ============================== =========================================
from            every type (required)          the source column to read
type            --                             str (default), int, decimal, date,
                                               datetime, bool, currency, enum
required        every type                     true/false; defaults to what the entity
                                               says. An optional field may be made
                                               required, a required one not optional.
default         optional fields                used when the value is missing or empty;
                                               written like a source value and checked
                                               when the mapping is built
max_length      str                            at most this many characters
min, max        int, decimal                   inclusive bounds (numbers)
decimal_comma   int, decimal                   true: "1.234,56" style (dot groups
                                               thousands, comma marks decimals)
format          date, datetime                 a strptime format or a list of them,
                                               tried in order; default ISO 8601
tz              datetime                       IANA zone of naive times; default "UTC"
values          enum (required)                source value -> portal value
=============== ============================== =========================================

A key that is unknown, or that does not apply to the field's type, is a
configuration error (so a typo such as ``fromat`` cannot be silently ignored).

How values are read
-------------------

Records come as dicts: all strings from CSV files, Python values from SQL
drivers and JSON. Strings are stripped first. ``None``, ``""`` and strings of
only spaces count as *missing*: a required field then fails the record, an
optional one becomes its ``default`` (``None`` without one).

``str``
    Text, stripped. Also takes ints, Decimals and UUIDs (as their text);
    floats, bools and dates are refused rather than guessed at.
``int``
    Whole numbers: ints, integral floats and Decimals (``12.0``), strings of
    digits with an optional leading sign, also ``"12.0"``. No exponents and no
    thousands separators (``"1,000"`` is refused: it means 1 in half the
    world), except with ``decimal_comma``, where ``"1.000"`` is 1000 and
    ``"12,0"`` is 12.
``decimal``
    A ``Decimal``. Strings like ``"-1234.56"`` or, with ``decimal_comma``,
    ``"-1.234,56"`` / ``"1234,56"``; the dots must group by three there, so
    ``"12.5"`` is refused instead of becoming 125. Ints and Decimals as they
    are; floats through their shortest text (0.1 -> ``Decimal("0.1")``).
    NaN and infinities are refused. No rounding is done.
``date``
    A ``date``: date objects, datetimes (their date, as given), or strings in
    ``format`` (default ``date.fromisoformat``, e.g. ``2024-03-05``).
``datetime``
    Always an aware datetime in UTC. Aware inputs are converted; naive ones
    (and date-only strings and dates, as midnight) are local times in ``tz``.
    Strings in ``format`` (which may use ``%z``), default
    ``datetime.fromisoformat`` (``2024-03-05T14:30:00``, ``...+01:00``,
    ``...Z``). Local times follow daylight saving time: a time that occurs
    twice when clocks go back is taken as its first occurrence (summer
    time); one skipped when clocks go forward is read with the offset from
    before the change (02:30 on the spring-forward day in Europe/Berlin is
    01:30 UTC), as PEP 495 does.
``bool``
    Python bools, 0/1, and the strings true/false, yes/no, y/n, 1/0 in any
    case.
``currency``
    An ISO 4217 code, upper-cased, that must be in `CURRENCIES` ("eur" ->
    "EUR"; "XXX" -> unknown currency).
``enum``
    The portal value that ``values`` gives for the source value; source
    values are compared ignoring case and surrounding spaces (ints as their
    text). A source value mapped to ``null`` counts as missing. A ``default``
    may be a source value or a portal value.

Formats are resolved once, when the mapping is built: the common numeric
directives (``%d %m %Y %y %H %M %S %f``, with day, month and year present) are
compiled into one regular expression that reads exactly what ``strptime``
reads, only faster; other formats (month names, ``%z``, ...) go through
``datetime.strptime``. A format without any ``%`` directive (``dd.mm.yyyy``)
is a configuration error.

Errors
------

- `ConfigError` (a `PermanentError`): the configuration itself is wrong (an
  unknown entity, target field, type or key; a required field not mapped; an
  enum without values; a bad format or time zone). It lists every problem
  found. An admin must fix the source's configuration.
- `ShapeError`: `Mapping.check_columns` found required columns missing from
  the source, before anything is written.
- `MappingError` (a `ValueError`): one record is bad. `Mapping.apply` stops at
  the first bad field; the message names the target field, the source column
  and why, and the engine quarantines the record with it, e.g.
  ``quantity (column QTY): must not be negative, got '-3'``.

Worked example
--------------

A billing system exports ``billing.csv``, separated by semicolons, with
German dates and decimal commas::

    InvoiceNo;Kunde;Betrag;Währung;Datum
    RE-2024-0042;K-1001;1.234,56;eur;05.03.2024

Its mapping onto the invoices entity, and what one row becomes:

>>> import csv, io
>>> billing = Mapping(
...     "invoices",
...     {
...         "external_id": "InvoiceNo",
...         "number": "InvoiceNo",
...         "customer_id": "Kunde",
...         "amount": {"from": "Betrag", "type": "decimal", "decimal_comma": True},
...         "currency": {"from": "Währung", "type": "currency"},
...         "issued_on": {"from": "Datum", "type": "date", "format": "%d.%m.%Y"},
...     },
... )
>>> export = "InvoiceNo;Kunde;Betrag;Währung;Datum\\nRE-2024-0042;K-1001;1.234,56;eur;05.03.2024\\n"
>>> rows = csv.DictReader(io.StringIO(export), delimiter=";")
>>> billing.check_columns(rows.fieldnames)
>>> billing.apply(next(rows))  # doctest: +NORMALIZE_WHITESPACE
{'external_id': 'RE-2024-0042', 'number': 'RE-2024-0042', 'customer_id': 'K-1001',
 'amount': Decimal('1234.56'), 'currency': 'EUR', 'issued_on': datetime.date(2024, 3, 5)}

A row with an English amount is refused, not misread as 125:

>>> try:
...     billing.apply({"InvoiceNo": "RE-2024-0043", "Kunde": "K-1001", "Betrag": "12.5",
...                    "Währung": "EUR", "Datum": "06.03.2024"})
... except MappingError as error:
...     print(error)  # what the engine quarantines the record with
amount (column Betrag): not a number (expected e.g. 1.234,56), got '12.5'

And a file that lost its date column stops the run before anything is written:

>>> billing.check_columns(["InvoiceNo", "Kunde", "Betrag", "Währung"])
Traceback (most recent call last):
    ...
portal.sync.base.ShapeError: source is missing required column(s): Datum
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from portal.sync.base import PermanentError, ShapeError
from portal.sync.entities import ENTITIES

__all__ = ["CURRENCIES", "TYPES", "ConfigError", "Mapping", "MappingError"]


class ConfigError(PermanentError):
    """The mapping configuration itself is wrong; an admin must fix it."""


class MappingError(ValueError):
    """One record is bad; the engine quarantines it with `str(error)`.

    The message reads ``<field> (column <column>): <reason>``.
    """

    def __init__(self, field: str, column: str, reason: str, value: Any = None) -> None:
        super().__init__(f"{field} (column {column}): {reason}")
        self.field = field
        self.column = column
        self.reason = reason
        self.value = value

    def __reduce__(self):
        # Default pickling would call MappingError(message); rebuild from the parts instead.
        return (type(self), (self.field, self.column, self.reason, self.value))


# Active ISO 4217 codes, and a few recently replaced ones that old records still carry
# (HRK, SLL, ZWL, CUC, ANG). Funds, metals and testing codes (XAU, XDR, XTS, XXX) are left out.
_CURRENCY_CODES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR
    FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD
    JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK
    MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN
    PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL
    THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG
    XOF XPF YER ZAR ZMW ZWG ZWL
"""
CURRENCIES = frozenset(_CURRENCY_CODES.split())

# Spec keys every field takes, and the ones each type takes in addition.
_COMMON_KEYS = frozenset({"from", "type", "required", "default"})
_TYPE_KEYS: dict[str, frozenset[str]] = {
    "str": frozenset({"max_length"}),
    "int": frozenset({"min", "max", "decimal_comma"}),
    "decimal": frozenset({"min", "max", "decimal_comma"}),
    "date": frozenset({"format"}),
    "datetime": frozenset({"format", "tz"}),
    "bool": frozenset(),
    "currency": frozenset(),
    "enum": frozenset({"values"}),
}
TYPES = tuple(_TYPE_KEYS)
_ALL_KEYS = _COMMON_KEYS.union(*_TYPE_KEYS.values())

_ABSENT = object()  # the record has no such key
_MISSING = object()  # a converter's answer for a value that is empty after stripping

_BOOLS = {
    "true": True,
    "yes": True,
    "y": True,
    "1": True,
    "false": False,
    "no": False,
    "n": False,
    "0": False,
}

_INT_PLAIN = re.compile(r"([+-]?[0-9]+)(?:\.0*)?")
_INT_COMMA = re.compile(r"([+-]?(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+))(?:,0*)?")
_DECIMAL_PLAIN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DECIMAL_COMMA = re.compile(r"[+-]?(?:(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)(?:,[0-9]*)?|,[0-9]+)")


class _Invalid(Exception):
    """Raised by converters with the reason a value is refused."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _SpecProblem(Exception):
    """Raised while checking a spec; collected into one ConfigError."""


def _show(value: Any) -> str:
    """The offending value for a message: its repr, cut short when long."""
    if isinstance(value, str) and len(value) > 60:
        return f"{value[:60]!r}... ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= 80 else text[:80] + "..."


def _kind(value: Any) -> str:
    return f"{type(value).__name__} {_show(value)}"


# --- converters: each takes a non-empty raw value, returns the typed value or _MISSING ---

Converter = Callable[[Any], Any]


def _str_converter(max_length: int | None) -> Converter:
    def convert(value: Any) -> Any:
        if type(value) is str:
            text = value.strip()
            if not text:
                return _MISSING
        elif isinstance(value, int | Decimal | UUID) and not isinstance(value, bool):
            text = str(value)
        else:
            raise _Invalid(f"expected text, got {_kind(value)}")
        if max_length is not None and len(text) > max_length:
            raise _Invalid(
                f"must be at most {max_length} characters, got {len(text)}: {_show(value)}"
            )
        return text

    return convert


def _int_converter(decimal_comma: bool) -> Converter:
    pattern = _INT_COMMA if decimal_comma else _INT_PLAIN
    example = "1.234" if decimal_comma else "1234"

    def convert(value: Any) -> Any:
        kind = type(value)
        if kind is str:
            text = value.strip()
            if not text:
                return _MISSING
            match = pattern.fullmatch(text)
            if match is None:
                raise _Invalid(f"not a whole number (expected e.g. {example}), got {_show(value)}")
            digits = match.group(1)
            return int(digits.replace(".", "") if decimal_comma else digits)
        if kind is int:
            return value
        if isinstance(value, bool):
            raise _Invalid(f"not a whole number, got {_show(value)}")
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
            return int(value)
        raise _Invalid(f"not a whole number, got {_show(value)}")

    return convert


def _decimal_converter(decimal_comma: bool) -> Converter:
    pattern = _DECIMAL_COMMA if decimal_comma else _DECIMAL_PLAIN
    example = "1.234,56" if decimal_comma else "1234.56"

    def convert(value: Any) -> Any:
        kind = type(value)
        if kind is str:
            text = value.strip()
            if not text:
                return _MISSING
            if pattern.fullmatch(text) is None:
                raise _Invalid(f"not a number (expected e.g. {example}), got {_show(value)}")
            if decimal_comma:
                text = text.replace(".", "").replace(",", ".")
            return Decimal(text)
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise _Invalid(f"not a finite number, got {_show(value)}")
            return value
        if kind is int:
            return Decimal(value)
        if isinstance(value, bool):
            raise _Invalid(f"not a number, got {_show(value)}")
        if isinstance(value, int):
            return Decimal(int(value))
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise _Invalid(f"not a finite number, got {_show(value)}")
            return Decimal(repr(value))
        raise _Invalid(f"not a number, got {_kind(value)}")

    return convert


def _ranged(convert: Converter, low: Decimal | None, high: Decimal | None) -> Converter:
    """Wrap a number converter with inclusive bounds (only built when bounds are set)."""
    too_low = "must not be negative" if low == 0 else f"must be at least {low}"

    def ranged(value: Any) -> Any:
        result = convert(value)
        if result is _MISSING:
            return result
        if low is not None and result < low:
            raise _Invalid(f"{too_low}, got {_show(value)}")
        if high is not None and result > high:
            raise _Invalid(f"must be at most {high}, got {_show(value)}")
        return result

    return ranged


def _bool_converter() -> Converter:
    def convert(value: Any) -> Any:
        if type(value) is str:
            text = value.strip()
            if not text:
                return _MISSING
            result = _BOOLS.get(text.lower())
            if result is not None:
                return result
        elif type(value) is bool:
            return value
        elif isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise _Invalid(f"not a yes/no value (true/false, yes/no, y/n, 1/0), got {_show(value)}")

    return convert


def _currency_converter() -> Converter:
    def convert(value: Any) -> Any:
        if type(value) is not str:
            raise _Invalid(f"not a currency code, got {_kind(value)}")
        code = value.strip().upper()
        if not code:
            return _MISSING
        if code in CURRENCIES:
            return code
        raise _Invalid(f"unknown currency {_show(value)}")

    return convert


def _enum_converter(lookup: dict[str, Any], expected: str) -> Converter:
    def convert(value: Any) -> Any:
        if type(value) is str:
            key = value.strip().casefold()
            if not key:
                return _MISSING
        elif isinstance(value, int) and not isinstance(value, bool):
            key = str(value)
        else:
            raise _Invalid(f"unexpected value {_kind(value)}, expected one of: {expected}")
        result = lookup.get(key, _ABSENT)
        if result is _ABSENT:
            raise _Invalid(f"unexpected value {_show(value)}, expected one of: {expected}")
        return result

    return convert


# --- date formats, resolved once -----------------------------------------------------------

# The directives strptime knows; the first group is compiled here into one regular
# expression with exactly strptime's sub-patterns (see CPython's _strptime.TimeRE).
_FAST_DIRECTIVES = {
    "d": r"(3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])",
    "m": r"(1[0-2]|0[1-9]|[1-9])",
    "Y": r"(\d\d\d\d)",
    "y": r"(\d\d)",
    "H": r"(2[0-3]|[0-1]\d|\d)",
    "M": r"([0-5]\d|\d)",
    "S": r"(6[0-1]|[0-5]\d|\d)",
    "f": r"([0-9]{1,6})",
}
_STRPTIME_DIRECTIVES = frozenset("aAbBcdfGHIjmMpSuUVwWxXyYzZ")
_REGEX_CHARS = re.compile(r"([\\.^$*+?\(\){}\[\]|])")
_WHITESPACE = re.compile(r"\s+")


def _literal(text: str) -> str:
    """A literal part of a format, escaped as strptime escapes it (spaces match any run)."""
    return _WHITESPACE.sub(r"\\s+", _REGEX_CHARS.sub(r"\\\1", text))


def _compile_format(fmt: Any, as_date: bool) -> Callable[[str], date | datetime]:
    """A parser for one strptime format; raises ValueError on text that does not match."""
    if not isinstance(fmt, str) or not fmt:
        raise _SpecProblem(f"'format' must be a strptime format or a list of them, got {fmt!r}")
    directives: list[str] = []
    parts: list[str] = []
    literal_start = 0
    i = 0
    while i < len(fmt):
        if fmt[i] != "%":
            i += 1
            continue
        if i + 1 == len(fmt):
            raise _SpecProblem(f"format {fmt!r} ends in a stray '%'")
        directive = fmt[i + 1]
        if directive != "%":
            if directive not in _STRPTIME_DIRECTIVES:
                raise _SpecProblem(f"format {fmt!r} has an unknown directive '%{directive}'")
            if directive in directives:
                raise _SpecProblem(f"format {fmt!r} uses '%{directive}' twice")
            directives.append(directive)
            parts.append(_literal(fmt[literal_start:i].replace("%%", "%")))
            parts.append(_FAST_DIRECTIVES.get(directive, ""))
            literal_start = i + 2
        i += 2
    if not directives:
        raise _SpecProblem(
            f"format {fmt!r} has no strptime directives (write e.g. '%d.%m.%Y' for dd.mm.yyyy)"
        )
    parts.append(_literal(fmt[literal_start:].replace("%%", "%")))

    used = set(directives)
    # The fast path needs day, month and exactly one kind of year (strptime's defaults
    # and its precedence between %Y and %y stay strptime's business).
    fast = used <= _FAST_DIRECTIVES.keys() and {"d", "m"} <= used and len({"Y", "y"} & used) == 1
    if not fast:
        if as_date:
            return lambda text: datetime.strptime(text, fmt).date()
        return lambda text: datetime.strptime(text, fmt)

    pattern = re.compile("".join(parts), re.IGNORECASE)
    index = {d: n for n, d in enumerate(directives)}
    four_digit = "Y" in index
    at_year = index["Y"] if four_digit else index["y"]
    at_month, at_day = index["m"], index["d"]
    at_hour, at_minute, at_second, at_fraction = (index.get(d) for d in "HMSf")
    has_time = any(n is not None for n in (at_hour, at_minute, at_second, at_fraction))

    def parse(text: str) -> date | datetime:
        match = pattern.match(text)
        if match is None or match.end() != len(text):
            raise ValueError(text)
        groups = match.groups()
        year = int(groups[at_year])
        if not four_digit:
            year += 2000 if year <= 68 else 1900
        if not has_time:
            day = date(year, int(groups[at_month]), int(groups[at_day]))
            return day if as_date else datetime(year, day.month, day.day)
        moment = datetime(  # naive on purpose: the caller localises it
            year,
            int(groups[at_month]),
            int(groups[at_day]),
            0 if at_hour is None else int(groups[at_hour]),
            0 if at_minute is None else int(groups[at_minute]),
            0 if at_second is None else int(groups[at_second]),
            0 if at_fraction is None else int(groups[at_fraction].ljust(6, "0")),
        )
        return moment.date() if as_date else moment

    return parse


def _parsers(spec: dict, as_date: bool) -> tuple[tuple[Callable[[str], Any], ...], str]:
    """The parsers for a date/datetime field and how to describe what they expect."""
    formats = spec.get("format")
    what = "a date" if as_date else "a date and time"
    if formats is None:
        iso = date.fromisoformat if as_date else datetime.fromisoformat
        example = "2024-03-05" if as_date else "2024-03-05T14:30:00"
        return (iso,), f"not an ISO 8601 {what[2:]} (e.g. {example})"
    if isinstance(formats, str):
        formats = [formats]
    if not isinstance(formats, list | tuple) or not formats:
        raise _SpecProblem(f"'format' must be a strptime format or a list of them, got {formats!r}")
    parsers = tuple(_compile_format(fmt, as_date) for fmt in formats)
    if len(formats) == 1:
        return parsers, f"not {what} in format {formats[0]}"
    return parsers, f"not {what} in any of the formats {', '.join(formats)}"


def _date_converter(parsers: tuple, expected: str) -> Converter:
    def convert(value: Any) -> Any:
        if type(value) is str:
            text = value.strip()
            if not text:
                return _MISSING
            for parse in parsers:
                try:
                    return parse(text)
                except ValueError:
                    continue
            raise _Invalid(f"{expected}, got {_show(value)}")
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        raise _Invalid(f"not a date, got {_kind(value)}")

    return convert


def _datetime_converter(parsers: tuple, expected: str, zone: tzinfo) -> Converter:
    def convert(value: Any) -> Any:
        if type(value) is str:
            text = value.strip()
            if not text:
                return _MISSING
            for parse in parsers:
                try:
                    moment = parse(text)
                    break
                except ValueError:
                    continue
            else:
                raise _Invalid(f"{expected}, got {_show(value)}")
        elif isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime(value.year, value.month, value.day)  # localised below
        else:
            raise _Invalid(f"not a date and time, got {_kind(value)}")
        if moment.tzinfo is None or moment.utcoffset() is None:
            # fold=0: the first of a repeated local time; a skipped one keeps the old offset.
            return moment.replace(tzinfo=zone).astimezone(UTC)
        return moment.astimezone(UTC)

    return convert


# --- spec checking -------------------------------------------------------------------------


def _flag(spec: dict, key: str) -> bool:
    value = spec.get(key, False)
    if not isinstance(value, bool):
        raise _SpecProblem(f"'{key}' must be true or false, got {value!r}")
    return value


def _bound(spec: dict, key: str) -> Decimal | None:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise _SpecProblem(f"'{key}' must be a number, got {value!r}")
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise _SpecProblem(f"'{key}' must be a finite number, got {value!r}")
    return number


def _enum_lookup(values: Any) -> tuple[dict[str, Any], str]:
    if not isinstance(values, dict) or not values:
        raise _SpecProblem(
            "type 'enum' needs 'values': a non-empty mapping of source value to portal value"
        )
    lookup: dict[str, Any] = {}
    for raw, canonical in values.items():
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            raise _SpecProblem(f"enum source values must be text, got {raw!r}")
        key = str(raw).strip().casefold()
        if not key:
            raise _SpecProblem("enum source values must not be empty")
        mapped = _MISSING if canonical is None else canonical
        if lookup.get(key, mapped) != mapped:
            raise _SpecProblem(f"enum source value {raw!r} is mapped twice (ignoring case)")
        lookup[key] = mapped
    shown = [str(raw) for raw in values]
    expected = ", ".join(shown[:12]) + (f" (and {len(shown) - 12} more)" if len(shown) > 12 else "")
    return lookup, expected


def _converter(kind: str, spec: dict) -> Converter:
    """Choose and configure the converter for one field, once."""
    if kind == "str":
        max_length = spec.get("max_length")
        if max_length is not None and (
            isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1
        ):
            raise _SpecProblem(f"'max_length' must be a positive whole number, got {max_length!r}")
        return _str_converter(max_length)
    if kind in ("int", "decimal"):
        decimal_comma = _flag(spec, "decimal_comma")
        low, high = _bound(spec, "min"), _bound(spec, "max")
        if low is not None and high is not None and low > high:
            raise _SpecProblem(f"'min' ({low}) is greater than 'max' ({high})")
        make = _int_converter if kind == "int" else _decimal_converter
        convert = make(decimal_comma)
        if low is None and high is None:
            return convert
        return _ranged(convert, low, high)
    if kind == "date":
        return _date_converter(*_parsers(spec, as_date=True))
    if kind == "datetime":
        zone_name = spec.get("tz", "UTC")
        try:
            zone: tzinfo = UTC if zone_name == "UTC" else ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise _SpecProblem(
                f"unknown time zone {zone_name!r} (expected e.g. 'Europe/Berlin')"
            ) from None
        return _datetime_converter(*_parsers(spec, as_date=False), zone)
    if kind == "bool":
        return _bool_converter()
    if kind == "currency":
        return _currency_converter()
    return _enum_converter(*_enum_lookup(spec.get("values")))


class Mapping:
    """How one source's records become one entity's typed fields (see the module docstring)."""

    def __init__(self, entity: str, fields: dict[str, dict | str]) -> None:
        schema = ENTITIES.get(entity)
        if schema is None:
            raise ConfigError(
                f"unknown entity {entity!r}; expected one of: {', '.join(sorted(ENTITIES))}"
            )
        if not isinstance(fields, dict):
            raise ConfigError(
                f"mapping for {entity}: fields must be a mapping of target field to spec"
            )
        self.entity = entity
        problems: list[str] = []
        unknown = [name for name in fields if name not in schema.fields]
        if unknown:
            problems.append(
                f"unknown target field(s) {', '.join(map(repr, unknown))}"
                f" (expected: {', '.join(schema.fields)})"
            )
        missing = [name for name in schema.required if name not in fields]
        if missing:
            problems.append(f"required field(s) not mapped: {', '.join(missing)}")

        plan = []
        for name, spec in fields.items():
            if name not in schema.fields:
                continue
            try:
                plan.append(self._compile(name, spec, entity_requires=name in schema.required))
            except _SpecProblem as problem:
                problems.append(f"{name}: {problem}")
        if problems:
            raise ConfigError(f"mapping for {entity}: " + "; ".join(problems))

        # One tuple per field: everything `apply` needs, nothing to look up per record.
        self._plan: tuple[tuple[str, str, Converter, bool, Any], ...] = tuple(plan)
        self._source_columns = frozenset(column for _, column, _, _, _ in plan)
        self._required_columns = frozenset(column for _, column, _, required, _ in plan if required)

    @staticmethod
    def _compile(
        name: str, spec: Any, *, entity_requires: bool
    ) -> tuple[str, str, Converter, bool, Any]:
        if isinstance(spec, str):
            spec = {"from": spec}
        if not isinstance(spec, dict):
            raise _SpecProblem(f"spec must be a column name or a mapping, got {spec!r}")
        unknown = sorted(key for key in spec if key not in _ALL_KEYS)
        if unknown:
            raise _SpecProblem(
                f"unknown spec key(s) {', '.join(map(repr, unknown))}"
                f" (expected: {', '.join(sorted(_ALL_KEYS))})"
            )
        column = spec.get("from")
        if not isinstance(column, str) or not column:
            raise _SpecProblem(f"'from' must name the source column, got {column!r}")
        kind = spec.get("type", "str")
        if not isinstance(kind, str) or kind not in _TYPE_KEYS:
            raise _SpecProblem(f"unknown type {kind!r} (expected one of: {', '.join(TYPES)})")
        misplaced = sorted(key for key in spec if key not in _COMMON_KEYS | _TYPE_KEYS[kind])
        if misplaced:
            raise _SpecProblem(f"{', '.join(map(repr, misplaced))} does not apply to type {kind!r}")
        required = spec.get("required", entity_requires)
        if not isinstance(required, bool):
            raise _SpecProblem(f"'required' must be true or false, got {required!r}")
        if entity_requires and not required:
            raise _SpecProblem("the entity requires this field; it cannot be made optional")

        convert = _converter(kind, spec)

        default = spec.get("default")
        if default is not None:
            if required:
                raise _SpecProblem("a required field cannot have a default")
            default = Mapping._check_default(kind, spec, convert, default)
        return name, column, convert, required, default

    @staticmethod
    def _check_default(kind: str, spec: dict, convert: Converter, default: Any) -> Any:
        if kind == "enum":
            canonical = [value for value in spec["values"].values() if value is not None]
            if default in canonical:
                return default
        try:
            value = convert(default)
        except _Invalid as invalid:
            raise _SpecProblem(f"default {default!r} is not valid: {invalid.reason}") from None
        return None if value is _MISSING else value

    def __repr__(self) -> str:
        return f"<Mapping {self.entity}: {', '.join(name for name, *_ in self._plan)}>"

    @property
    def fields(self) -> tuple[str, ...]:
        """The target fields this mapping fills, in configured order."""
        return tuple(name for name, *_ in self._plan)

    @property
    def source_columns(self) -> set[str]:
        """The source columns the mapping reads."""
        return set(self._source_columns)

    def required_columns(self) -> set[str]:
        """The source columns of required fields: a source without one cannot be synced."""
        return set(self._required_columns)

    def check_columns(self, columns: Iterable[str]) -> None:
        """Raise ShapeError when a required source column is absent (before writing anything)."""
        missing = self._required_columns.difference(columns)
        if missing:
            raise ShapeError(f"source is missing required column(s): {', '.join(sorted(missing))}")

    def apply(self, raw: dict) -> dict:
        """Typed values for every mapped target field; MappingError on the first bad one."""
        out = {}
        get = raw.get
        for name, column, convert, required, default in self._plan:
            value = get(column, _ABSENT)
            if value is _ABSENT or value is None or value == "":
                result = _MISSING
            else:
                try:
                    result = convert(value)
                except _Invalid as invalid:
                    raise MappingError(name, column, invalid.reason, value) from None
                except (ValueError, TypeError, ArithmeticError) as error:
                    # Out-of-range dates, overlong digit strings, ...: still only this record.
                    raise MappingError(name, column, f"cannot be read: {error}", value) from None
            if result is _MISSING:
                if required:
                    why = "is missing" if value is _ABSENT else "is empty"
                    raise MappingError(name, column, f"required, but the value {why}", None)
                result = default
            out[name] = result
        return out
