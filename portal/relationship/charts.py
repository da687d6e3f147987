"""The relationship's charts, drawn as SVG by the server: no script, no external library.

The account page and the business-review pack draw them with the same functions, so a
chart in the PDF or the slides is the one the screen shows (portal/value/svg.py draws
the Pareto chart the same way).
"""

from __future__ import annotations

from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from portal.relationship.health import trend_points
from portal.relationship.models import HealthScore

TREND_WIDTH, TREND_HEIGHT = 300, 60
GRID = "#d9dee5"
INK = "#5b6673"
BAR = "#1f5fae"


def health_trend_svg(history: list[HealthScore]) -> SafeString:
    """The health trend: the daily scores, oldest left, with the green and red lines."""
    if len(history) < 2:
        return mark_safe("")
    first, last = history[0], history[-1]
    label = _("Health from %(first)s on %(first_day)s to %(last)s on %(last_day)s") % {
        "first": first.score,
        "first_day": date_format(first.computed_on, "j M"),
        "last": last.score,
        "last_day": date_format(last.computed_on, "j M"),
    }
    # Dashed lines at 70 (green from) and 40 (red below): 60 - 60 * 0.7 and 60 - 60 * 0.4.
    svg = (
        f'<svg class="health-trend" viewBox="0 0 {TREND_WIDTH} {TREND_HEIGHT}" '
        f'width="{TREND_WIDTH}" height="{TREND_HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" data-testid="health-trend" '
        'xmlns="http://www.w3.org/2000/svg">'
        f'<line x1="0" y1="18" x2="300" y2="18" stroke="{GRID}" stroke-dasharray="4 4"/>'
        f'<line x1="0" y1="36" x2="300" y2="36" stroke="{GRID}" stroke-dasharray="4 4"/>'
        f'<polyline points="{trend_points(history)}" fill="none" stroke="currentColor" '
        'stroke-width="2"/></svg>'
    )
    # Numbers we formatted and a label passed through escape().
    return mark_safe(svg)  # noqa: S308


BARS_WIDTH, BARS_HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 40, 36


def month_bars_svg(
    title: str, bars: list[tuple[str, float | None]], *, unit: str = "", top: float | None = None
) -> SafeString:
    """A bar per month (label, value; None draws no bar), scaled to `top` or the largest.

    Each bar carries its value as text above it, so the chart reads without an axis.
    """
    if not bars:
        return mark_safe("")
    values = [float(v) for _, v in bars if v is not None]
    top = float(top or max([*values, 0]) or 1)
    plot_w, plot_h = BARS_WIDTH - LEFT - RIGHT, BARS_HEIGHT - TOP - BOTTOM
    slot = plot_w / len(bars)
    parts = [
        f'<svg class="month-bars" viewBox="0 0 {BARS_WIDTH} {BARS_HEIGHT}" '
        f'width="{BARS_WIDTH}" height="{BARS_HEIGHT}" role="img" aria-label="{escape(title)}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{LEFT}" y="16" font-size="13" font-family="DejaVu Sans, sans-serif" '
        f'fill="#1b2430">{escape(title)}</text>',
        f'<line x1="{LEFT}" x2="{BARS_WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" '
        f'stroke="{GRID}" stroke-width="1"/>',
    ]
    for i, (label, value) in enumerate(bars):
        x = LEFT + i * slot
        centre = x + slot / 2
        parts.append(_text(centre, BARS_HEIGHT - BOTTOM + 16, escape(label)))
        if value is None:
            parts.append(_text(centre, TOP + plot_h - 4, "-"))  # ASCII: PDF core fonts
            continue
        # A month that nets below zero (credit notes) draws no bar, only its figure.
        height = plot_h * max(0.0, min(float(value), top)) / top
        y = TOP + plot_h - height
        if height:
            parts.append(
                f'<rect x="{x + slot * 0.15:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
                f'height="{height:.1f}" fill="{BAR}" fill-opacity="0.8"/>'
            )
        parts.append(_text(centre, y - 4, f"{_number(value)}{escape(unit)}"))
    parts.append("</svg>")
    # Numbers we formatted and text passed through escape().
    return mark_safe("".join(parts))  # noqa: S308


def _text(x: float, y: float, text: str) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" font-size="11" '
        f'font-family="DejaVu Sans, sans-serif" fill="{INK}">{text}</text>'
    )


def _number(value: float) -> str:
    value = float(value)
    return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:,.1f}"
