"""Field converters of the declarative mapping (portal/sync/mapping.py): each field's spec
checked and compiled once into a function from a raw value to a typed one.

What each type accepts and refuses is documented with the spec keys in mapping.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
COMMON_KEYS = frozenset({"from", "type", "required", "default", "null_values"})
# How a number's text is written (portal/sync/numbers.py).
NUMBER_STYLE_KEYS = frozenset(
    {"decimal_comma", "locale", "decimal", "thousands", "grouping", "strip",
     "negative_parentheses", "trailing_minus"}
)  # fmt: skip
TYPE_KEYS: dict[str, frozenset[str]] = {
    "str": frozenset({"max_length"}),
    "int": frozenset({"min", "max"}) | NUMBER_STYLE_KEYS,
    "decimal": frozenset({"min", "max"}) | NUMBER_STYLE_KEYS,
    "date": frozenset({"format"}),
    "datetime": frozenset({"format", "tz"}),
    "bool": frozenset(),
    "currency": frozenset(),
    "enum": frozenset({"values"}),
}
TYPES = tuple(TYPE_KEYS)
ALL_KEYS = COMMON_KEYS.union(*TYPE_KEYS.values())
# What operators write for a key we spell otherwise: named in the error with our spelling.
SPEC_SYNONYMS = {
    "thousands_separator": "thousands", "thousand_separator": "thousands",
    "group_separator": "thousands", "digit_grouping": "grouping", "separator": "thousands",
    "decimal_separator": "decimal", "decimal_point": "decimal", "decimal_mark": "decimal",
    "parentheses": "negative_parentheses", "accounting": "negative_parentheses",
    "negative_brackets": "negative_parentheses", "currency_symbol": "strip",
    "currency": "strip", "prefix": "strip", "suffix": "strip", "remove": "strip",
    "na_values": "null_values", "nulls": "null_values", "null": "null_values",
    "missing_values": "null_values", "empty_values": "null_values", "none_values": "null_values",
    "date_format": "format", "formats": "format", "timezone": "tz", "time_zone": "tz",
    "max_len": "max_length", "maxlength": "max_length", "length": "max_length",
    "choices": "values", "mapping": "values", "column": "from", "source": "from",
    "field": "from", "optional": "required", "minimum": "min", "maximum": "max",
    "lang": "locale", "language": "locale",
}  # fmt: skip

ABSENT = object()  # the record has no such key
MISSING = object()  # a converter's answer for a value that is empty after stripping

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


class Invalid(Exception):
    """Raised by converters with the reason a value is refused."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SpecProblem(Exception):
    """Raised while checking a spec; collected into one ConfigError."""


def _show(value: Any) -> str:
    """The offending value for a message: its repr, cut short when long."""
    if isinstance(value, str) and len(value) > 60:
        return f"{value[:60]!r}... ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= 80 else text[:80] + "..."


def _kind(value: Any) -> str:
    return f"{type(value).__name__} {_show(value)}"


# --- converters: each takes a non-empty raw value, returns the typed value or MISSING ---

Converter = Callable[[Any], Any]


def _str_converter(max_length: int | None) -> Converter:
    def convert(value: Any) -> Any:
        if type(value) is str:
            text = value.strip()
            if not text:
                return MISSING
        elif isinstance(value, int | Decimal | UUID) and not isinstance(value, bool):
            text = str(value)
        else:
            raise Invalid(f"expected text, got {_kind(value)}")
        if max_length is not None and len(text) > max_length:
            raise Invalid(
                f"must be at most {max_length} characters, got {len(text)}: {_show(value)}"
            )
        return text

    return convert


def _int_converter(decimal_comma: bool, styled: tuple | None = None) -> Converter:
    pattern = _INT_COMMA if decimal_comma else _INT_PLAIN
    example = "1.234" if decimal_comma else "1234"

    def convert(value: Any) -> Any:
        kind = type(value)
        if kind is str:
            text = value.strip()
            if not text:
                return MISSING
            if styled is not None:
                return _whole(_read_styled(styled, value, text), value)
            match = pattern.fullmatch(text)
            if match is None:
                raise Invalid(f"not a whole number (expected e.g. {example}), got {_show(value)}")
            digits = match.group(1)
            return int(digits.replace(".", "") if decimal_comma else digits)
        if kind is int:
            return value
        if isinstance(value, bool):
            raise Invalid(f"not a whole number, got {_show(value)}")
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
            return int(value)
        raise Invalid(f"not a whole number, got {_show(value)}")

    return convert


def _decimal_converter(decimal_comma: bool, styled: tuple | None = None) -> Converter:
    pattern = _DECIMAL_COMMA if decimal_comma else _DECIMAL_PLAIN
    example = "1.234,56" if decimal_comma else "1234.56"

    def convert(value: Any) -> Any:
        kind = type(value)
        if kind is str:
            text = value.strip()
            if not text:
                return MISSING
            if styled is not None:
                return _read_styled(styled, value, text)
            if pattern.fullmatch(text) is None:
                raise Invalid(f"not a number (expected e.g. {example}), got {_show(value)}")
            if decimal_comma:
                text = text.replace(".", "").replace(",", ".")
            return Decimal(text)
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise Invalid(f"not a finite number, got {_show(value)}")
            return value
        if kind is int:
            return Decimal(value)
        if isinstance(value, bool):
            raise Invalid(f"not a number, got {_show(value)}")
        if isinstance(value, int):
            return Decimal(int(value))
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise Invalid(f"not a finite number, got {_show(value)}")
            return Decimal(repr(value))
        raise Invalid(f"not a number, got {_kind(value)}")

    return convert


def _read_styled(styled: tuple, value: str, text: str) -> Decimal:
    """`text` read in the field's number style (numbers.number_reader)."""
    read, example = styled
    try:
        return read(text)
    except ValueError:
        raise Invalid(f"not a number (expected e.g. {example}), got {_show(value)}") from None


def _whole(number: Decimal, value: Any) -> int:
    if number != number.to_integral_value():
        raise Invalid(f"not a whole number, got {_show(value)}")
    return int(number)


def _ranged(convert: Converter, low: Decimal | None, high: Decimal | None) -> Converter:
    """Wrap a number converter with inclusive bounds (only built when bounds are set)."""
    too_low = "must not be negative" if low == 0 else f"must be at least {low}"

    def ranged(value: Any) -> Any:
        result = convert(value)
        if result is MISSING:
            return result
        if low is not None and result < low:
            raise Invalid(f"{too_low}, got {_show(value)}")
        if high is not None and result > high:
            raise Invalid(f"must be at most {high}, got {_show(value)}")
        return result

    return ranged


def _bool_converter() -> Converter:
    def convert(value: Any) -> Any:
        if type(value) is str:
            text = value.strip()
            if not text:
                return MISSING
            result = _BOOLS.get(text.lower())
            if result is not None:
                return result
        elif type(value) is bool:
            return value
        elif isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise Invalid(f"not a yes/no value (true/false, yes/no, y/n, 1/0), got {_show(value)}")

    return convert


def _currency_converter() -> Converter:
    def convert(value: Any) -> Any:
        if type(value) is not str:
            raise Invalid(f"not a currency code, got {_kind(value)}")
        code = value.strip().upper()
        if not code:
            return MISSING
        if code in CURRENCIES:
            return code
        raise Invalid(f"unknown currency {_show(value)}")

    return convert


def _enum_converter(lookup: dict[str, Any], expected: str) -> Converter:
    def convert(value: Any) -> Any:
        if type(value) is str:
            key = value.strip().casefold()
            if not key:
                return MISSING
        elif isinstance(value, int) and not isinstance(value, bool):
            key = str(value)
        else:
            raise Invalid(f"unexpected value {_kind(value)}, expected one of: {expected}")
        result = lookup.get(key, ABSENT)
        if result is ABSENT:
            raise Invalid(f"unexpected value {_show(value)}, expected one of: {expected}")
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
        raise SpecProblem(f"'format' must be a strptime format or a list of them, got {fmt!r}")
    directives: list[str] = []
    parts: list[str] = []
    literal_start = 0
    i = 0
    while i < len(fmt):
        if fmt[i] != "%":
            i += 1
            continue
        if i + 1 == len(fmt):
            raise SpecProblem(f"format {fmt!r} ends in a stray '%'")
        directive = fmt[i + 1]
        if directive != "%":
            if directive not in _STRPTIME_DIRECTIVES:
                raise SpecProblem(f"format {fmt!r} has an unknown directive '%{directive}'")
            if directive in directives:
                raise SpecProblem(f"format {fmt!r} uses '%{directive}' twice")
            directives.append(directive)
            parts.append(_literal(fmt[literal_start:i].replace("%%", "%")))
            parts.append(_FAST_DIRECTIVES.get(directive, ""))
            literal_start = i + 2
        i += 2
    if not directives:
        raise SpecProblem(
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
        raise SpecProblem(f"'format' must be a strptime format or a list of them, got {formats!r}")
    parsers = tuple(_compile_format(fmt, as_date) for fmt in formats)
    if len(formats) == 1:
        return parsers, f"not {what} in format {formats[0]}"
    return parsers, f"not {what} in any of the formats {', '.join(formats)}"


def _date_converter(parsers: tuple, expected: str) -> Converter:
    def convert(value: Any) -> Any:
        if type(value) is str:
            text = value.strip()
            if not text:
                return MISSING
            for parse in parsers:
                try:
                    return parse(text)
                except ValueError:
                    continue
            raise Invalid(f"{expected}, got {_show(value)}")
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        raise Invalid(f"not a date, got {_kind(value)}")

    return convert


def _datetime_converter(parsers: tuple, expected: str, zone: tzinfo) -> Converter:
    def convert(value: Any) -> Any:
        if type(value) is str:
            text = value.strip()
            if not text:
                return MISSING
            for parse in parsers:
                try:
                    moment = parse(text)
                    break
                except ValueError:
                    continue
            else:
                raise Invalid(f"{expected}, got {_show(value)}")
        elif isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime(value.year, value.month, value.day)  # localised below
        else:
            raise Invalid(f"not a date and time, got {_kind(value)}")
        if moment.tzinfo is None or moment.utcoffset() is None:
            # fold=0: the first of a repeated local time; a skipped one keeps the old offset.
            return moment.replace(tzinfo=zone).astimezone(UTC)
        return moment.astimezone(UTC)

    return convert


# --- spec checking -------------------------------------------------------------------------


def _flag(spec: dict, key: str) -> bool:
    value = spec.get(key, False)
    if not isinstance(value, bool):
        raise SpecProblem(f"'{key}' must be true or false, got {value!r}")
    return value


def _bound(spec: dict, key: str) -> Decimal | None:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise SpecProblem(f"'{key}' must be a number, got {value!r}")
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise SpecProblem(f"'{key}' must be a finite number, got {value!r}")
    return number


def _enum_lookup(values: Any) -> tuple[dict[str, Any], str]:
    if not isinstance(values, dict) or not values:
        raise SpecProblem(
            "type 'enum' needs 'values': a non-empty mapping of source value to portal value"
        )
    lookup: dict[str, Any] = {}
    for raw, canonical in values.items():
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            raise SpecProblem(f"enum source values must be text, got {raw!r}")
        key = str(raw).strip().casefold()
        if not key:
            raise SpecProblem("enum source values must not be empty")
        mapped = MISSING if canonical is None else canonical
        if lookup.get(key, mapped) != mapped:
            raise SpecProblem(f"enum source value {raw!r} is mapped twice (ignoring case)")
        lookup[key] = mapped
    shown = [str(raw) for raw in values]
    expected = ", ".join(shown[:12]) + (f" (and {len(shown) - 12} more)" if len(shown) > 12 else "")
    return lookup, expected


def null_tokens(value: Any, where: str = "'null_values'") -> frozenset[str]:
    """The texts that mean "no value" (compared stripped, ignoring case)."""
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(token, str) for token in value):
        raise SpecProblem(
            f'{where} must be a list of texts that mean "no value" (e.g. ["N/A", "NULL", "-"]),'
            f" got {value!r}"
        )
    return frozenset(token.strip().casefold() for token in value if token.strip())


def with_nulls(convert: Converter, tokens: frozenset[str]) -> Converter:
    """`convert`, taking the texts in `tokens` as missing values."""
    if not tokens:
        return convert

    def convert_or_null(value: Any) -> Any:
        if type(value) is str and value.strip().casefold() in tokens:
            return MISSING
        return convert(value)

    return convert_or_null


def converter(kind: str, spec: dict) -> Converter:
    """Choose and configure the converter for one field, once."""
    if kind == "str":
        max_length = spec.get("max_length")
        if max_length is not None and (
            isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1
        ):
            raise SpecProblem(f"'max_length' must be a positive whole number, got {max_length!r}")
        return _str_converter(max_length)
    if kind in ("int", "decimal"):
        decimal_comma = _flag(spec, "decimal_comma")
        low, high = _bound(spec, "min"), _bound(spec, "max")
        if low is not None and high is not None and low > high:
            raise SpecProblem(f"'min' ({low}) is greater than 'max' ({high})")
        make = _int_converter if kind == "int" else _decimal_converter
        styled = None
        if any(key in spec for key in NUMBER_STYLE_KEYS - {"decimal_comma"}):
            from portal.sync.numbers import number_reader  # it builds on this module

            styled = number_reader(spec)
        convert = make(decimal_comma, styled)
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
            raise SpecProblem(
                f"unknown time zone {zone_name!r} (expected e.g. 'Europe/Berlin')"
            ) from None
        return _datetime_converter(*_parsers(spec, as_date=False), zone)
    if kind == "bool":
        return _bool_converter()
    if kind == "currency":
        return _currency_converter()
    return _enum_converter(*_enum_lookup(spec.get("values")))
