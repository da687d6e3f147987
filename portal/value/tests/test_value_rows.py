"""The 80/20 ranking's rows and numbers rendered in Python (value_tags, ui.Numbers) read
as the template engine wrote them, in every language, with any text and any amount."""

from decimal import Decimal

from django.template import Context, Template
from django.template.defaultfilters import floatformat
from django.utils import translation
from django.utils.formats import localize
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.templatetags.ui import Numbers
from portal.templatetags.value_tags import value_rows
from portal.value.selectors import ValueRow

LANGUAGES = st.sampled_from(["en-gb", "de", "en"])
AMOUNTS = st.decimals(min_value=-(10**13), max_value=10**13, allow_nan=False, places=4) | (
    st.decimals(min_value=-(10**13), max_value=10**13, allow_nan=False, places=2)
)

# The ranking's loop as value.html had it before its rows moved to Python.
BEFORE = Template(
    """{% load i18n %}{% for row in rows %}
      <tr>
        <td class="num">{{ row.rank }}</td>
        <td><strong>{{ row.name }}</strong><br><span class="muted">{{ row.customer_number }}</span></td>
        <td>{{ row.tier|default:"—" }}</td>
        <td class="num">{{ row.revenue|floatformat:"2g" }}</td>
        <td class="num">{{ row.share }} %</td>
        <td class="num">{{ row.cumulative_share }} %</td>
        <td class="num">{% blocktranslate trimmed count breadth=row.breadth %}{{ breadth }} line{% plural %}{{ breadth }} lines{% endblocktranslate %}</td>
        <td class="num">{% if row.depth is not None %}{{ row.depth|floatformat:"2g" }}{% else %}—{% endif %}</td>
      </tr>
    {% endfor %}"""  # noqa: E501 - the markup as it was
)


@settings(max_examples=300, deadline=None)
@given(value=AMOUNTS | st.integers(-(10**12), 10**12), language=LANGUAGES)
def test_amounts_read_as_floatformat_writes_them(value, language):
    with translation.override(language):
        assert Numbers().fixed(value, 2) == floatformat(value, "2g")


@settings(max_examples=300, deadline=None)
@given(
    value=st.decimals(allow_nan=False, allow_infinity=False) | st.integers() | AMOUNTS,
    language=LANGUAGES,
    grouped=st.booleans(),
)
def test_numbers_read_as_the_template_engine_writes_them(value, language, grouped):
    from django.test import override_settings

    with override_settings(USE_THOUSAND_SEPARATOR=grouped), translation.override(language):
        assert Numbers().plain(value) == str(localize(value))


SHARES = st.decimals(min_value=0, max_value=100, places=1) | st.just(Decimal(0))
TEXT = st.text(max_size=30)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.builds(
            ValueRow,
            position=st.integers(1, 10**6),
            rank=st.integers(1, 10**6),
            organisation_id=st.integers(1, 10**6),
            name=TEXT,
            customer_number=TEXT,
            tier=st.none() | TEXT,
            revenue=st.decimals(min_value=Decimal("0.01"), max_value=10**12, places=2),
            breadth=st.integers(0, 30),
            share=SHARES,
            cumulative_share=SHARES,
        ),
        max_size=6,
    ),
    language=LANGUAGES,
)
def test_value_rows_read_as_the_template_wrote_them(rows, language):
    with translation.override(language):
        assert value_rows(rows) == BEFORE.render(Context({"rows": rows}))


def test_value_rows_escape_an_organisations_name():
    row = ValueRow(
        position=1, rank=1, organisation_id=1, name='<img src=x onerror="alert(1)">',
        customer_number="C&1", tier="<b>", revenue=Decimal("1234567.891"), breadth=2,
        share=Decimal("12.5"), cumulative_share=Decimal("100.0"),
    )  # fmt: skip
    with translation.override("de"):
        html = value_rows([row])
    assert "<img" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert "C&amp;1" in html
    assert "&lt;b&gt;" in html
    for number in ("1.234.567,89", "617.283,95", "12,5 %"):  # revenue, depth, share
        assert number in html


TYPED = st.none() | st.sampled_from(["", "3", "12", "custom", "7", "2025-01-31", "31.01.2025"])


@settings(max_examples=200, deadline=None)
@given(
    period=TYPED,
    start=TYPED | st.text(max_size=12),
    end=TYPED | st.dates().map(str),
    language=LANGUAGES,
)
def test_period_fields_show_what_was_typed_as_the_widgets_render_it(period, start, end, language):
    """Kept once per process for the values typed: another person's values, errors or
    language never show, and the fields read as the field template renders them."""
    from django.http import QueryDict
    from django.template.loader import render_to_string

    from portal.templatetags.value_tags import period_fields
    from portal.value.forms import ValuePeriodForm

    typed = QueryDict(mutable=True)
    for name, value in (("period", period), ("start", start), ("end", end)):
        if value is not None:
            typed[name] = value
    with translation.override(language):
        kept = period_fields(ValuePeriodForm(typed))
        fresh = render_to_string(
            "portal/value/value_period_fields.html", {"form": ValuePeriodForm(typed)}
        )
    assert kept == fresh
