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
read the same column. A record of nested objects (a JSON API's) is read by a dotted
path, ``"from": "account.ref"``, unless the record has a key spelled with that dot
itself: a path whose first key a batch has but whose inner keys none of its records
have is a changed shape (the source pauses, naming the keys it found there).

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
thousands       int, decimal                   digit-grouping separator(s): "," "."
                                               "'" " " (any space) or a list
decimal         int, decimal                   the decimal mark, "." or ","
locale          int, decimal                   both from CLDR (Babel): "de_CH", "fr_FR"
strip           int, decimal                   "currency" (ISO codes, currency signs)
                                               or a list of texts around the number
negative_paren- int, decimal                   true: "(9,693.75)" is negative
theses
trailing_minus  int, decimal                   true: "9,693.75-" is negative
null_values     every type                     texts that mean "no value" ("N/A");
                                               replaces the source's `null_values`
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
    ``"12,0"`` is 12, or in a number style (``thousands``, ``locale``...: see
    `portal.sync.numbers`), where the fraction must be zeros.
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

import difflib
from collections.abc import Iterable
from typing import Any

from portal.sync.base import PermanentError, ShapeError
from portal.sync.converters import (
    ABSENT,
    ALL_KEYS,
    COMMON_KEYS,
    MISSING,
    SPEC_SYNONYMS,
    TYPE_KEYS,
    TYPES,
    Converter,
    Invalid,
    SpecProblem,
    converter,
    null_tokens,
    with_nulls,
)
from portal.sync.entities import ENTITIES

__all__ = ["ConfigError", "DeletionFlag", "Layouts", "Mapping", "MappingError"]


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


class Mapping:
    """How one source's records become one entity's typed fields (see the module docstring)."""

    def __init__(
        self, entity: str, fields: dict[str, dict | str], *, null_values: Any = None
    ) -> None:
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

        try:
            nulls = null_tokens(null_values, "the source's 'null_values'")
        except SpecProblem as problem:
            problems.append(str(problem))
            nulls = frozenset()
        plan = []
        for name, spec in fields.items():
            if name not in schema.fields:
                continue
            try:
                plan.append(
                    self._compile(name, spec, entity_requires=name in schema.required, nulls=nulls)
                )
            except SpecProblem as problem:
                problems.append(f"{name}: {problem}")
        if problems:
            raise ConfigError(f"mapping for {entity}: " + "; ".join(problems))

        # One tuple per field: everything `apply` needs, nothing to look up per record.
        self._plan: tuple[tuple[str, str, Converter, bool, Any], ...] = tuple(plan)
        self._source_columns = frozenset(column for _, column, _, _, _ in plan)
        self._required_columns = frozenset(column for _, column, _, required, _ in plan if required)

    @staticmethod
    def _compile(
        name: str, spec: Any, *, entity_requires: bool, nulls: frozenset[str] = frozenset()
    ) -> tuple[str, str, Converter, bool, Any]:
        if isinstance(spec, str):
            spec = {"from": spec}
        if not isinstance(spec, dict):
            raise SpecProblem(f"spec must be a column name or a mapping, got {spec!r}")
        unknown = sorted(key for key in spec if key not in ALL_KEYS)
        if unknown:
            raise SpecProblem(
                f"unknown spec key(s) {', '.join(map(repr, unknown))}{did_you_mean(unknown)}"
                f" (expected: {', '.join(sorted(ALL_KEYS))})"
            )
        column = spec.get("from")
        if not isinstance(column, str) or not column:
            raise SpecProblem(f"'from' must name the source column, got {column!r}")
        kind = spec.get("type", "str")
        if not isinstance(kind, str) or kind not in TYPE_KEYS:
            raise SpecProblem(f"unknown type {kind!r} (expected one of: {', '.join(TYPES)})")
        misplaced = sorted(key for key in spec if key not in COMMON_KEYS | TYPE_KEYS[kind])
        if misplaced:
            raise SpecProblem(f"{', '.join(map(repr, misplaced))} does not apply to type {kind!r}")
        required = spec.get("required", entity_requires)
        if not isinstance(required, bool):
            raise SpecProblem(f"'required' must be true or false, got {required!r}")
        if entity_requires and not required:
            raise SpecProblem("the entity requires this field; it cannot be made optional")

        # A field's own null_values replace the source's (an empty list: none for it).
        if "null_values" in spec:
            nulls = null_tokens(spec["null_values"])
        convert = with_nulls(converter(kind, spec), nulls)

        default = spec.get("default")
        if default is not None:
            if required:
                raise SpecProblem("a required field cannot have a default")
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
        except Invalid as invalid:
            raise SpecProblem(f"default {default!r} is not valid: {invalid.reason}") from None
        return None if value is MISSING else value

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

    def column_of(self, name: str) -> str:
        """The source column (or path) a target field is read from ("" when unmapped)."""
        return next((column for field, column, *_ in self._plan if field == name), "")

    def check_columns(self, columns: Iterable[str], records: Iterable[dict] = ()) -> None:
        """Raise ShapeError when a required source column is absent, or a dotted path leads
        nowhere in any of `records` (before writing anything)."""
        columns = set(columns)
        missing = {c for c in self._required_columns if c not in columns and _top(c) not in columns}
        if missing:
            raise ShapeError(f"source is missing required column(s): {', '.join(sorted(missing))}")
        records = list(records)
        for path in sorted(self._source_columns):
            if path in columns or "." not in path or _top(path) not in columns or not records:
                continue
            if all(walk(record, path) is ABSENT for record in records):
                found = sorted({k for r in records for k in _inner_keys(r, path)})
                raise ShapeError(
                    f"no record has {path!r}; under {_parent(path)!r} the source has: "
                    f"{', '.join(found) or 'nothing'}"
                )

    def apply(self, raw: dict) -> dict:
        """Typed values for every mapped target field; MappingError on the first bad one."""
        out = {}
        get = raw.get
        for name, column, convert, required, default in self._plan:
            value = get(column, ABSENT)
            if value is ABSENT and "." in column:
                value = walk(raw, column)
            if value is ABSENT or value is None or value == "":
                result = MISSING
            else:
                try:
                    result = convert(value)
                except Invalid as invalid:
                    raise MappingError(name, column, invalid.reason, value) from None
                except (ValueError, TypeError, ArithmeticError) as error:
                    # Out-of-range dates, overlong digit strings, ...: still only this record.
                    raise MappingError(name, column, f"cannot be read: {error}", value) from None
            if result is MISSING:
                if required:
                    why = "is missing" if value is ABSENT else "is empty"
                    raise MappingError(name, column, f"required, but the value {why}", None)
                result = default
            out[name] = result
        return out

    def apply_partial(self, raw: dict) -> dict:
        """Typed values of the fields that read, for a record `apply` refused: what a
        quarantined record still says (of its customer, for one)."""
        out = {}
        for name, column, convert, _required, _default in self._plan:
            value = raw.get(column, ABSENT)
            if value is ABSENT and "." in column:
                value = walk(raw, column)
            if value is ABSENT or value is None or value == "":
                continue
            try:
                result = convert(value)
            except (Invalid, ValueError, TypeError, ArithmeticError):
                continue
            if result is not MISSING:
                out[name] = result
        return out


def did_you_mean(keys: Iterable[str], known: Iterable[str] = ALL_KEYS, synonyms=None) -> str:
    """' (did you mean ...)' for unknown keys an operator would reasonably try, or ''."""
    synonyms = SPEC_SYNONYMS if synonyms is None else synonyms
    known = list(known)
    hints = []
    for key in keys:
        ours = synonyms.get(key.lower()) or next(
            iter(difflib.get_close_matches(key, known, n=1, cutoff=0.75)), None
        )
        if ours:
            hints.append(f"{key!r}: write {ours!r}")
        elif key.lower() in known:
            hints.append(f"{key!r}: write {key.lower()!r}")
    return f" (did you mean: {'; '.join(hints)})" if hints else ""


def _top(path: str) -> str:
    return path.split(".", 1)[0]


def _parent(path: str) -> str:
    return path.rsplit(".", 1)[0]


def walk(record: Any, path: str) -> Any:
    """The value at a dotted path in nested objects, or ABSENT where the path ends."""
    value = record
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return ABSENT
        value = value[key]
    return value


def _inner_keys(record: dict, path: str) -> list[str]:
    parent = walk(record, _parent(path))
    return list(parent) if isinstance(parent, dict) else []


# What a deletion flag holds when the record is live: nothing, or a "no".
LIVE_VALUES = frozenset({"", "0", "false", "no", "n", "f", "live", "active", "none", "null"})


class DeletionFlag:
    """Which records the source flags deleted (`deleted_field`, a column or dotted path, and
    optionally `deleted_values`, the values that mean deleted). Without `deleted_values`
    any value but an empty one, false, 0 or no means deleted, so a `deleted_at` timestamp
    column works as a flag too."""

    def __init__(self, config: dict) -> None:
        self.column = config.get("deleted_field")
        values = config.get("deleted_values")
        if self.column is not None and (not isinstance(self.column, str) or not self.column):
            raise ConfigError(f"'deleted_field' must name the source column, got {self.column!r}")
        if values is not None and self.column is None:
            raise ConfigError("'deleted_values' needs 'deleted_field': the column that holds them")
        if values is not None and (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, str | int | bool) for v in values)
        ):
            raise ConfigError(
                f"'deleted_values' must be a list of the values that mean deleted, got {values!r}"
            )
        self.values = None if values is None else frozenset(map(_flag_text, values))

    def __bool__(self) -> bool:
        return self.column is not None

    def is_deleted(self, raw: dict) -> bool:
        value = raw.get(self.column, ABSENT)
        if value is ABSENT and "." in self.column:
            value = walk(raw, self.column)
        text = "" if value is ABSENT or value is None else _flag_text(value)
        if self.values is not None:
            return text in self.values
        return text not in LIVE_VALUES


def _flag_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip().casefold()


class Layouts:
    """The mappings of a source whose files come in several layouts (`layouts` in its
    config, each with its own `fields`, after the top-level `fields` if any): each
    file is read with the first whose required columns its header has."""

    def __init__(self, entity: str, config: dict) -> None:
        specs = (
            [config.get("fields", {})] if config.get("fields") or not config.get("layouts") else []
        )
        layouts = config.get("layouts", [])
        if not isinstance(layouts, list) or not all(
            isinstance(layout, dict) and isinstance(layout.get("fields"), dict)
            for layout in layouts
        ):
            raise ConfigError('layouts must be a list of {"name": ..., "fields": {...}}')
        specs += [layout["fields"] for layout in layouts]
        self.names = ["fields"] * (len(specs) - len(layouts)) + [
            str(layout.get("name") or f"layout {i + 1}") for i, layout in enumerate(layouts)
        ]
        nulls = config.get("null_values")
        self.mappings = [Mapping(entity, spec, null_values=nulls) for spec in specs]

    @property
    def default(self) -> Mapping:
        return self.mappings[0]

    @property
    def fields(self) -> set[str]:
        """Every target field some layout fills."""
        return {name for mapping in self.mappings for name in mapping.fields}

    def choose(self, columns: Iterable[str], records: Iterable[dict] = ()) -> Mapping:
        """The mapping for a file with these columns; ShapeError naming, for each layout,
        what the file lacks when none fits."""
        if len(self.mappings) == 1:
            self.default.check_columns(columns, records)
            return self.default
        columns, records, problems = list(columns), list(records), []
        for name, mapping in zip(self.names, self.mappings, strict=True):
            try:
                mapping.check_columns(columns, records)
            except ShapeError as error:
                problems.append(f"{name}: {error}")
            else:
                return mapping
        raise ShapeError("no layout fits (" + "; ".join(problems) + ")")

    def for_record(self, raw: dict) -> Mapping:
        """The mapping for one record kept on its own (a quarantined one)."""
        try:
            return self.choose(raw.keys())
        except ShapeError:
            return self.default
