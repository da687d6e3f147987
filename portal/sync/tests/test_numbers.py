"""Numbers and missing values as real exports write them (portal/sync/numbers.py).

The property tests write random amounts in every style a field can be told about (by hand
and through Babel's CLDR formatting of many locales) and read them back exactly.
"""

from decimal import Decimal

import pytest
from babel.numbers import format_decimal
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.sync.converters import Invalid, converter
from portal.sync.mapping import ConfigError, Mapping, MappingError

AMOUNTS = st.decimals(
    min_value=Decimal("-999999999999.999999"),
    max_value=Decimal("999999999999.999999"),
    allow_nan=False,
    allow_infinity=False,
).map(lambda d: d.quantize(Decimal("0.000001")))
# Trailing zeros dropped, but never into an exponent (1E+3): exports write digits.
AMOUNTS = AMOUNTS.map(lambda d: d.quantize(Decimal(1)) if d == d.to_integral() else d.normalize())


def read(spec: dict, text: str, kind: str = "decimal"):
    return converter(kind, {"from": "X", "type": kind, **spec})(text)


def grouped(number: Decimal, group: str, mark: str) -> str:
    """`number` (not negative) written with `group` between thousands and `mark` before the
    fraction."""
    text = format(number, "f")
    whole, _, fraction = text.partition(".")
    digits = f"{int(whole):,}".replace(",", group)
    return f"{digits}{mark}{fraction}" if fraction else digits


SEPARATORS = [(",", "."), (".", ","), ("'", "."), ("\u2019", "."), (" ", ","),
              ("\u00a0", ","), ("\u202f", ","), ("\u2009", "."), ("", "."), ("", ",")]  # fmt: skip
NEGATIVES = {
    "minus": lambda text: f"-{text}",
    "unicode minus": lambda text: f"\u2212{text}",
    "parentheses": lambda text: f"({text})",
    "trailing minus": lambda text: f"{text}-",
}
AFFIXES = [("", ""), ("$", ""), ("$ ", ""), ("", " EUR"), ("EUR ", ""), ("", "\u00a0€"),
           ("CHF ", ""), ("US$", ""), ("", " kr"), ("£", "")]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    amount=AMOUNTS,
    separators=st.sampled_from(SEPARATORS),
    negative=st.sampled_from(sorted(NEGATIVES)),
    affix=st.sampled_from(AFFIXES),
)
def test_any_amount_written_in_any_supported_style_reads_back_exactly(
    amount, separators, negative, affix
):
    group, mark = separators
    text = grouped(abs(amount), group, mark)
    text = f"{affix[0]}{text}{affix[1]}"
    if amount < 0:
        text = NEGATIVES[negative](text)
    spec = {"decimal": mark, "thousands": group or False, "strip": "currency"}
    spec |= {"negative_parentheses": True, "trailing_minus": True}
    assert read(spec, text) == amount


# Not de_CH / fr_CH: Babel writes 10**9 there as "1000000'000" (only the last group), which
# no export does; the apostrophe styles are in the test above.
LOCALES = ["en_US", "en_GB", "de_DE", "de_AT", "fr_FR", "fr_BE", "it_IT", "es_ES", "nl_NL",
           "pt_BR", "sv_SE", "nb_NO", "pl_PL", "cs_CZ", "ru_RU", "ja_JP", "da_DK", "en_IN",
           "hi_IN"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(amount=AMOUNTS, locale=st.sampled_from(LOCALES))
def test_any_amount_babel_formats_for_a_locale_reads_back_with_that_locale(amount, locale):
    text = format_decimal(amount, locale=locale, decimal_quantization=False)
    assert read({"locale": locale}, text) == amount


@settings(max_examples=100, deadline=None)
@given(whole=st.integers(-(10**15), 10**15), locale=st.sampled_from(LOCALES))
def test_whole_numbers_with_thousands_read_as_int(whole, locale):
    text = format_decimal(whole, locale=locale)
    assert read({"locale": locale}, text, kind="int") == whole


@pytest.mark.parametrize(
    ("spec", "text", "expected"),
    [
        # The invoices of the issue, each style one an export wrote.
        ({"thousands": ","}, "11,698.82", "11698.82"),
        ({"thousands": ",", "strip": ["$"]}, "$19,501.34", "19501.34"),
        ({"thousands": ",", "negative_parentheses": True}, "(9,693.75)", "-9693.75"),
        ({"decimal": ",", "thousands": " "}, "5\u00a0464,95", "5464.95"),
        ({"locale": "fr_FR"}, "5 464,95", "5464.95"),
        ({"locale": "de_CH", "strip": "currency"}, "CHF 1'234.50", "1234.50"),
        ({"locale": "en_US", "strip": "currency", "negative_parentheses": True}, "($12.00)", "-12"),
        ({"locale": "de_DE", "strip": ["€"], "trailing_minus": True}, "1.234,50 €-", "-1234.5"),
        ({"strip": ["%"]}, "12.5 %", "12.5"),
        # Indian numbering: lakh and crore.
        ({"thousands": ",", "grouping": "indian"}, "1,23,45,678.90", "12345678.90"),
        ({"locale": "en_IN", "strip": "currency"}, "₹1,23,456.00", "123456"),
        ({"thousands": ",", "grouping": "indian"}, "999", "999"),
    ],
)
def test_export_styles(spec, text, expected):
    assert read(spec, text) == Decimal(expected)


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        ({"thousands": ","}, "1,2345"),  # not grouped by threes: refused, not 12345
        ({"thousands": ","}, "1,234,56"),
        ({"thousands": ",", "decimal": "."}, "1.234.567"),
        ({"decimal": ",", "thousands": "."}, "12.5"),  # the English amount is not 125
        ({"thousands": [",", "'"]}, "1,234'567"),  # one separator throughout
        ({"negative_parentheses": True}, "(-5)"),  # two signs
        ({"trailing_minus": True}, "-5-"),
        ({}, "5-"),  # a trailing minus only where the field says so
        ({"strip": "currency"}, "EURO 5"),  # a word is not a code
        ({"strip": "currency"}, "5 $ 5"),
        ({"locale": "en_US"}, "1.234,50"),
        ({"grouping": "indian"}, "123,456"),  # a lakh is 1,23,456
        ({"locale": "en_US"}, "1,23,456"),  # and not a thousands amount
    ],
)
def test_styles_refuse_what_they_do_not_write(spec, text):
    with pytest.raises(Invalid, match="not a number"):
        read({**spec, "thousands": spec.get("thousands", ",")}, text)


def test_int_with_thousands_refuses_a_fraction():
    with pytest.raises(Invalid, match="not a whole number"):
        read({"thousands": ","}, "1,234.5", kind="int")
    assert read({"thousands": ","}, "1,234.00", kind="int") == 1234


def test_unstyled_numbers_keep_refusing_thousands():
    with pytest.raises(Invalid, match="not a number"):
        read({}, "1,000")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"thousands_separator": ","}, "'thousands_separator': write 'thousands'"),
        ({"decimal_separator": ","}, "'decimal_separator': write 'decimal'"),
        ({"na_values": ["N/A"]}, "'na_values': write 'null_values'"),
        ({"currency_symbol": "$"}, "'currency_symbol': write 'strip'"),
        ({"parentheses": True}, "'parentheses': write 'negative_parentheses'"),
        ({"negative_parenthesis": True}, "'negative_parenthesis': write 'negative_parentheses'"),
        ({"Thousands": ","}, "'Thousands': write 'thousands'"),
        ({"locale": "xx_QQ"}, "unknown locale 'xx_QQ'"),
        ({"thousands": "x"}, "'thousands' separator 'x' is not one exports use"),
        ({"decimal": ",", "thousands": ","}, "',' cannot be both the decimal mark"),
        ({"decimal": ";"}, "'decimal' must be '.' or ','"),
        ({"strip": 5}, "'strip' must be \"currency\" or a list of texts"),
        ({"null_values": "N/A"}, "'null_values' must be a list of texts"),
        ({"decimal_comma": True, "decimal": ","}, "'decimal_comma' says the same as 'decimal'"),
    ],
)
def test_options_an_operator_would_try_are_supported_or_named_with_our_spelling(spec, message):
    with pytest.raises(ConfigError) as caught:
        Mapping("invoices", {**INVOICE, "amount": {"from": "Amount", "type": "decimal", **spec}})
    assert message in str(caught.value)


INVOICE = {
    "external_id": "No",
    "number": "No",
    "customer_id": "Customer",
    "amount": "Amount",
    "currency": {"from": "Currency", "type": "currency"},
    "issued_on": {"from": "Issued", "type": "date"},
}


def test_null_values_of_the_source_and_of_a_field():
    mapping = Mapping(
        "invoices",
        {
            **INVOICE,
            "amount": {"from": "Amount", "type": "decimal", "null_values": ["-"]},
            "due_on": {"from": "Due", "type": "date"},
        },
        null_values=["N/A", "NULL", "n.a."],
    )
    record = {"No": "1", "Customer": "C", "Amount": " - ", "Currency": "EUR",
              "Issued": "2026-01-02", "Due": "n/a"}  # fmt: skip
    # The field's own list replaces the source's: "N/A" is no null for the amount.
    with pytest.raises(MappingError, match=r"amount.*required"):
        mapping.apply(record)
    assert mapping.apply({**record, "Amount": "1"})["due_on"] is None
    with pytest.raises(MappingError, match=r"amount \(column Amount\): not a number"):
        mapping.apply({**record, "Amount": "N/A"})
    # A required field given a null token is missing, with the usual reason.
    with pytest.raises(MappingError, match=r"issued_on \(column Issued\): required"):
        mapping.apply({**record, "Amount": "1", "Issued": "NULL"})
