"""The Pareto chart, drawn as SVG by the server: no script, no external library.

Bars are bands of customers, largest first, each with its share of revenue; the
line is the cumulative share; a dashed line marks 80 %. One percentage axis serves
both, so the chart reads like the table beside it.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from portal.value.selectors import CONCENTRATION_PERCENT, Pareto

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 44
BAR_GAP = 0.15  # of a bar's slot


def _y(percent: Decimal | float) -> float:
    plot = HEIGHT - TOP - BOTTOM
    return TOP + plot * (1 - float(percent) / 100)


def _x(customers: float, total: int) -> float:
    plot = WIDTH - LEFT - RIGHT
    return LEFT + plot * customers / total


def pareto_chart(result: Pareto) -> SafeString:
    """The chart of `result`, or an empty string when there is nothing to draw."""
    if not result.bars or not result.customers:
        return mark_safe("")
    parts = [
        f'<svg class="pareto-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="pareto-chart-title" data-testid="pareto-chart" '
        # Sized by .pareto-chart in portal.css: the CSP refuses style attributes.
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="pareto-chart-title">{escape(_summary(result))}</title>',
        *_grid(),
        *_bars(result),
        _curve(result),
        *_x_axis(result),
    ]
    parts.append("</svg>")
    # Every value above is a number we formatted or text passed through escape().
    return mark_safe("".join(parts))  # noqa: S308


def _summary(result: Pareto) -> str:
    top = ", ".join(
        _("the top %(percent)s %% of customers bring %(share)s %% of revenue")
        % {"percent": h.percent, "share": h.share}
        for h in result.headlines
    )
    return _("Revenue by customer, largest first: %(top)s.") % {"top": top}


def _grid() -> list[str]:
    lines = []
    for percent in (0, 25, 50, 75, 100):
        y = _y(percent)
        lines.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#dde3ea" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#5b6673">{percent} %</text>'
        )
    y80 = _y(CONCENTRATION_PERCENT)
    concentration = _("%(percent)s %% of revenue") % {"percent": CONCENTRATION_PERCENT}
    lines.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y80:.1f}" y2="{y80:.1f}" '
        f'stroke="#b26a00" stroke-width="1" stroke-dasharray="5 4"/>'
        f'<text x="{WIDTH - RIGHT - 2}" y="{y80 - 4:.1f}" text-anchor="end" font-size="11" '
        f'fill="#b26a00">{escape(concentration)}</text>'
    )
    return lines


def _bars(result: Pareto) -> list[str]:
    bars = []
    # Worded once a chart, not twice a bar: a look-up costs more than drawing the bar.
    one, band = _("Customer %(number)s"), _("Customers %(first)s–%(last)s")
    title = _("%(who)s: %(share)s %% of revenue (%(so_far)s %% so far)")
    for bar in result.bars:
        x0, x1 = _x(bar.first - 1, result.customers), _x(bar.last, result.customers)
        gap = (x1 - x0) * BAR_GAP / 2
        y = _y(bar.share)
        single = bar.first == bar.last
        if single:
            who = one % {"number": bar.first}
        else:
            who = band % {"first": bar.first, "last": bar.last}
        label = title % {
            "who": who,
            "share": bar.share,
            "so_far": bar.cumulative_share,
        }
        bars.append(
            f'<rect x="{x0 + gap:.1f}" y="{y:.1f}" width="{max(x1 - x0 - 2 * gap, 1):.1f}" '
            f'height="{_y(0) - y:.1f}" fill="#1f5fae" fill-opacity="0.75">'
            f"<title>{escape(label)}</title></rect>"
        )
    return bars


def _curve(result: Pareto) -> str:
    points = [f"{_x(0, result.customers):.1f},{_y(0):.1f}"]
    points += [
        f"{_x(bar.last, result.customers):.1f},{_y(bar.cumulative_share):.1f}"
        for bar in result.bars
    ]
    return (
        f'<polyline points="{" ".join(points)}" fill="none" stroke="#0b7a4b" '
        f'stroke-width="2.5" stroke-linejoin="round"/>'
    )


def _x_axis(result: Pareto) -> list[str]:
    labels = []
    for percent in (0, 20, 40, 60, 80, 100):
        x = _x(result.customers * percent / 100, result.customers)
        labels.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
            f'font-size="11" fill="#5b6673">{percent} %</text>'
        )
    caption = _("Customers, largest first (%(count)s in all)") % {"count": result.customers}
    labels.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" '
        f'font-size="12" fill="#5b6673">{escape(caption)}</text>'
    )
    return labels
