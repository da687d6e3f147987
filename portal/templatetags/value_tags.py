"""The 80/20 page's ranking rows, rendered in Python: 50 rows of eight cells, with two
amounts, two shares and a plural each, cost more CPU through the template engine than the
rest of the page (portal/value/tests/test_value_rows.py holds them to the template's
markup)."""

import functools

from django import template
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
