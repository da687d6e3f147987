"""What the value pages render cheaper than through the template engine: the 80/20
ranking's rows, in Python (50 rows of eight cells, with two amounts, two shares and a
plural each, cost more CPU as a template loop than the rest of the page;
portal/value/tests/test_value_rows.py holds them to the template's markup), and the period
form's fields, rendered once per process for what they show."""

import functools

from django import template
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import ngettext

from accounts.templatetags.ui import Numbers, escaped

register = template.Library()

VALUE_ROW = """
      <tr>
        <td class="num">{rank}</td>
        <td><strong>{name}</strong><br><span class="muted">{number}</span></td>
        <td>{tier}</td>
        <td class="num">{revenue}</td>
        <td class="num">{share} %</td>
        <td class="num">{cumulative} %</td>
        <td class="num">{breadth}</td>
        <td class="num">{depth}</td>
      </tr>
    """


@register.simple_tag
def value_rows(rows) -> str:
    """`{% value_rows result.rows %}`: the ranking's rows (portal.value.selectors.ValueRow),
    each value escaped as the template engine would, the number formats read once a table."""
    numbers = Numbers()

    def plain(value) -> str:  # not cached: 1, 1.0 and 1.00 are equal keys
        return escaped(numbers.plain(value))

    @functools.cache  # a few breadths a table, each worded once
    def lines(breadth: int) -> str:
        words = ngettext("%(breadth)s line", "%(breadth)s lines", breadth)
        return words % {"breadth": plain(breadth)}

    def row(value_row) -> str:
        depth = value_row.depth
        return VALUE_ROW.format(
            rank=plain(value_row.rank),
            name=escaped(value_row.name),
            number=escaped(value_row.customer_number),
            tier=escaped(value_row.tier or "—"),
            revenue=escaped(numbers.fixed(value_row.revenue, 2)),
            share=plain(value_row.share),
            cumulative=plain(value_row.cumulative_share),
            breadth=lines(value_row.breadth),
            depth="—" if depth is None else escaped(numbers.fixed(depth, 2)),
        )

    return mark_safe("".join(row(value_row) for value_row in rows))  # noqa: S308 - escaped


PERIOD_FIELDS = ("period", "start", "end")
PERIOD_LIMIT = 1024  # entries; the dates are typed by people, so the key is unbounded
_period_fields: dict[tuple, str] = {}


@register.simple_tag
def period_fields(form) -> str:
    """`{% period_fields form %}`: the period form's fields, as includes/field.html renders
    them (a select of five choices and two date inputs through Django's widget templates:
    about a tenth of the page's CPU). What they show (the values typed, their errors, the
    labels and choices) depends only on the values typed and the language, so they are
    rendered once per process for each of those: no data of anyone's is in them."""
    key = (type(form), translation.get_language(), *map(form.data.get, PERIOD_FIELDS))
    html = _period_fields.get(key)
    if html is None:
        html = render_to_string("portal/value/value_period_fields.html", {"form": form})
        if len(_period_fields) >= PERIOD_LIMIT:
            _period_fields.clear()
        _period_fields[key] = html
    return mark_safe(html)  # noqa: S308 - rendered by the template engine, escaped there
