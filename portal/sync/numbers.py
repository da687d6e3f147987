"""Numbers as real exports write them: `1,234.56`, `1.234,56`, `1'234.56`, `5 464,95` (with a
no-break or thin space), `$19,501.34`, `19 501,34 EUR`, `(9,693.75)`, `9,693.75-`.

A field's spec says which style its source uses (the keys are documented in mapping.py);
`number_reader` compiles that into one function from text to `Decimal`. A locale's decimal
mark and digit-grouping symbol come from CLDR through Babel, so `"locale": "de_CH"` knows
`1’234.50` without a table of ours. What the style allows is read exactly; anything else
is refused rather than guessed at (`12.5` in a `1.234,56` field is not 125, `1,2345` in a
`1,234.56` field is not 12345).
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from babel import Locale, UnknownLocaleError, localedata
from babel.numbers import get_decimal_symbol, get_group_symbol

from portal.sync.converters import CURRENCIES, SpecProblem

# Digits per group, nearest the decimal mark first, then the rest: threes almost
# everywhere; Indian numbering (en_IN, hi_IN) writes 12,34,567.89 (lakh and crore).
GROUPINGS = {"thousands": (3, 3), "indian": (3, 2)}

# Spaces that group digits: space, no-break (U+00A0), narrow no-break (U+202F, CLDR's for
# French), thin (U+2009) and figure (U+2007) spaces. Exports mix them: one stands for all.
SPACES = " \u00a0\u202f\u2009\u2007"
APOSTROPHES = "'\u2019"  # Swiss grouping: ASCII apostrophe, or CLDR's right single quote
MINUSES = "-\u2212\u2012\u2013"  # hyphen-minus, minus sign, figure dash, en dash
DECIMAL_MARKS = (".", ",", "\u066b")  # the Arabic decimal separator too
GROUP_CHOICES = SPACES + APOSTROPHES + ".,_\u066c"

Reader = Callable[[str], Decimal]


def number_reader(spec: dict) -> tuple[Reader, str]:
    """The reader of a number field's text, and an example of what it expects."""
    decimal_mark, groups, locale = _marks(spec)
    parentheses = _flag(spec, "negative_parentheses")
    trailing = _flag(spec, "trailing_minus")
    affixes = _affixes(spec.get("strip"), locale)
    core = _core_pattern(decimal_mark, groups, _grouping(spec, locale))
    canonical = dict.fromkeys(SPACES, " ") | {"\u2019": "'"}
    translation = str.maketrans(canonical) if groups else None

    def read(text: str) -> Decimal:
        negative, body = _signed(text, parentheses, trailing, affixes)
        if translation is not None:
            body = body.translate(translation)
        match = core.fullmatch(body)
        if match is None:
            raise ValueError(text)
        whole = match.group("whole") or "0"
        fraction = match.group("fraction") or match.group("only") or ""
        for group in groups:
            whole = whole.replace(group, "")
        number = Decimal(f"{whole}.{fraction}" if fraction else whole)
        return -number if negative else number

    example = _example(decimal_mark, groups, parentheses, trailing, affixes)
    return read, example


def _flag(spec: dict, key: str) -> bool:
    value = spec.get(key, False)
    if not isinstance(value, bool):
        raise SpecProblem(f"'{key}' must be true or false, got {value!r}")
    return value


def _marks(spec: dict) -> tuple[str, str, Locale | None]:
    """The decimal mark, the grouping characters (canonical: one space, one apostrophe)."""
    locale = None
    decimal_mark, groups = ".", ""
    if "locale" in spec:
        locale = _locale(spec["locale"])
        decimal_mark, groups = get_decimal_symbol(locale), get_group_symbol(locale)
    if _flag(spec, "decimal_comma"):
        if "decimal" in spec or locale is not None:
            raise SpecProblem("'decimal_comma' says the same as 'decimal': use one of them")
        decimal_mark, groups = ",", "."
    if "decimal" in spec:
        decimal_mark = spec["decimal"]
        if decimal_mark not in DECIMAL_MARKS:
            raise SpecProblem(f"'decimal' must be '.' or ',', got {decimal_mark!r}")
        if "thousands" not in spec and groups == decimal_mark:
            groups = ""
    if "thousands" in spec:
        groups = _groups(spec["thousands"])
    groups = "".join(dict.fromkeys(_canonical_group(char) for char in groups))
    if decimal_mark in groups:
        raise SpecProblem(
            f"{decimal_mark!r} cannot be both the decimal mark and a thousands separator"
        )
    return decimal_mark, groups, locale


def _locale(name: Any) -> Locale:
    if not isinstance(name, str) or not name:
        raise SpecProblem(f"'locale' must name a locale such as 'de_CH', got {name!r}")
    try:
        return Locale.parse(name.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        raise SpecProblem(f"unknown locale {name!r} (expected e.g. 'en_US', 'de_CH')") from None


def _groups(value: Any) -> str:
    """The `thousands` setting: one separator, a list of them, or false/"" for none."""
    if value is False or value == "" or value is None:
        return ""
    chars = [value] if isinstance(value, str) else value
    if not isinstance(chars, list) or not all(isinstance(c, str) and len(c) == 1 for c in chars):
        raise SpecProblem(
            "'thousands' must be one separator character (e.g. ',', '.', \"'\", ' ') "
            f"or a list of them, got {value!r}"
        )
    unknown = [c for c in chars if c not in GROUP_CHOICES]
    if unknown:
        raise SpecProblem(
            f"'thousands' separator {unknown[0]!r} is not one exports use "
            "(comma, dot, apostrophe, underscore, a space)"
        )
    return "".join(chars)


def _canonical_group(char: str) -> str:
    return " " if char in SPACES else "'" if char in APOSTROPHES else char


def _grouping(spec: dict, locale: Locale | None) -> tuple[int, int]:
    """(primary, secondary) digits per group: `grouping` by name, else the locale's."""
    if "grouping" in spec:
        name = spec["grouping"]
        if name not in GROUPINGS:
            raise SpecProblem(
                f"'grouping' must be one of {', '.join(map(repr, GROUPINGS))}, got {name!r}"
            )
        return GROUPINGS[name]
    if locale is not None:
        primary, secondary = locale.decimal_formats[None].grouping
        if (primary, secondary) in GROUPINGS.values():
            return primary, secondary
    return GROUPINGS["thousands"]


def _core_pattern(decimal_mark: str, groups: str, grouping: tuple[int, int]) -> re.Pattern:
    """Digits, grouped (by threes, or as `grouping` says) with one separator throughout
    or not at all, and a fraction after the decimal mark."""
    mark = re.escape(decimal_mark)
    whole = r"[0-9]+"
    if groups:
        separator = f"[{re.escape(groups)}]"
        primary, secondary = grouping
        whole = (
            rf"[0-9]{{1,{secondary}}}(?P<sep>{separator})(?:[0-9]{{{secondary}}}(?P=sep))*"
            rf"[0-9]{{{primary}}}|[0-9]+"
        )
    fraction = rf"(?:{mark}(?P<fraction>[0-9]*))?"
    return re.compile(rf"(?:(?P<whole>{whole}){fraction}|{mark}(?P<only>[0-9]+))")


class _Affixes:
    """Texts a source writes around its numbers (currency symbols and codes, %)."""

    def __init__(self, literal: list[str], currency: bool, locale: Locale | None) -> None:
        tokens = set(literal)
        if currency:
            tokens |= CURRENCIES | _locale_symbols(locale)
        words = sorted(tokens, key=len, reverse=True)
        alternatives = "|".join(map(re.escape, words)) or "(?!)"
        symbol = f"[A-Za-z]{{0,3}}[{_currency_signs()}]" if currency else "(?!)"
        # A code must not run on into a word: "EURO 5" is not an amount in euros.
        self.prefix = re.compile(rf"(?:{alternatives}|{symbol})(?![A-Za-z])\.?")
        self.suffix = re.compile(rf"(?<![A-Za-z])(?:{alternatives}|{symbol})\.?$")

    def strip(self, text: str) -> str:
        while True:
            before = text
            match = self.prefix.match(text)
            if match:
                text = text[match.end() :].strip()
            match = self.suffix.search(text)
            if match:
                text = text[: match.start()].strip()
            if text == before:
                return text


def _affixes(value: Any, locale: Locale | None) -> _Affixes | None:
    """`strip`: "currency" (any ISO code or currency sign), or a list of texts (and/or
    "currency")."""
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        raise SpecProblem(
            "'strip' must be \"currency\" or a list of texts written around the numbers "
            f'(e.g. ["$", "USD"]), got {value!r}'
        )
    currency = "currency" in items
    literal = [item.strip() for item in items if item != "currency"]
    return _Affixes(literal, currency, locale)


@functools.cache
def _currency_signs() -> str:
    """Every character Unicode classes as a currency symbol ($, €, £, ¥, ₹, ₩, ...)."""
    characters = map(chr, range(sys.maxunicode + 1))
    return re.escape("".join(c for c in characters if unicodedata.category(c) == "Sc"))


def _locale_symbols(locale: Locale | None) -> set[str]:
    """The currency symbols CLDR knows (kr, zł, Fr., R$, лв.), and the field's locale's."""
    symbols = set(_cldr_symbols())
    if locale is not None:
        symbols |= {s.strip() for s in locale.currency_symbols.values() if _usable(s.strip())}
    return symbols


@functools.cache
def _cldr_symbols() -> frozenset[str]:
    """Every language's currency symbols (read once per process: about a second). Single
    ASCII letters (R, K, E) are left out: next to a number they are more often something
    else."""
    symbols: set[str] = set()
    for name in localedata.locale_identifiers():
        if "_" not in name:
            symbols |= {s.strip() for s in Locale.parse(name).currency_symbols.values()}
    return frozenset(s for s in symbols if _usable(s) and not (len(s) == 1 and s.isascii()))


def _usable(symbol: str) -> bool:
    return bool(symbol) and symbol.isprintable() and not any(c.isdigit() for c in symbol)


def _signed(
    text: str, parentheses: bool, trailing: bool, affixes: _Affixes | None
) -> tuple[bool, str]:
    """Whether the text is negative, and the number inside its sign, brackets and affixes."""
    body = text.strip()
    signs = 0
    negative = False
    while True:
        before = body
        if affixes is not None:
            body = affixes.strip(body)
        if parentheses and body.startswith("(") and body.endswith(")"):
            body, negative, signs = body[1:-1].strip(), True, signs + 1
        elif body[:1] in MINUSES and body[:1]:
            body, negative, signs = body[1:].strip(), True, signs + 1
        elif body[:1] == "+":
            body, signs = body[1:].strip(), signs + 1
        elif trailing and body[-1:] in MINUSES and body[-1:]:
            body, negative, signs = body[:-1].strip(), True, signs + 1
        if body == before:
            break
    if signs > 1:
        raise ValueError(text)
    return negative, body


def _example(
    decimal_mark: str, groups: str, parentheses: bool, trailing: bool, affixes: _Affixes | None
) -> str:
    group = groups[:1]
    number = f"1{group}234{decimal_mark}56"
    if parentheses:
        return f"{number} or ({number})"
    if trailing:
        return f"{number} or {number}-"
    return number
