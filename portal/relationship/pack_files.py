"""The business-review pack as files: a PDF (fpdf2) and slides (python-pptx).

Both are drawn from one list of sections (`pack_sections`), so the PDF and the slides
say the same thing in the same words. Charts are the screens' server-drawn SVGs
(charts.py): embedded as vectors in the PDF, and as PNG pictures in the slides, which
PowerPoint cannot take SVG from reliably; CairoSVG draws the PNG (docs/relationship-health.md
says why that library).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from io import BytesIO

import cairosvg
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from fpdf.fonts import FontFace
from pptx import Presentation
from pptx.util import Emu, Inches, Pt

from portal.records.pdf import pdf_document
from portal.relationship.charts import health_trend_svg, month_bars_svg
from portal.relationship.choices import HealthColour
from portal.relationship.pack import PackFigures

PNG_SCALE = 2  # pixels per SVG unit: sharp on a projector, still small


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]


@dataclass
class Section:
    """A page of the PDF, a slide of the deck: words, tables and charts."""

    title: str
    lines: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)  # SVG documents


def _day(value) -> str:
    return date_format(value, "j M Y")  # "7 Dec 2026", in the reader's language


def money(amount, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def _mean(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _percent(value: int | None) -> str:
    return "–" if value is None else f"{value} %"


def pack_sections(figures: PackFigures) -> list[Section]:
    """What the pack says, section by section."""
    return [
        _cover(figures),
        _health(figures),
        _service(figures),
        _categories(figures),
        _orders(figures),
        _commitments(figures),
        _last_review(figures),
    ]


def _cover(figures: PackFigures) -> Section:
    pack, engagement = figures.pack, figures.engagement
    lines = [
        _("%(kind)s of %(day)s")
        % {"kind": engagement.get_kind_display(), "day": _day(engagement.on)},
        _("Period: %(start)s – %(end)s") % {"start": _day(figures.start), "end": _day(figures.end)},
    ]
    if not pack.is_shared:
        lines.append(_("DRAFT: not shared with the customer yet."))
    lines += ["", _("Summary"), pack.summary, "", _("Next steps"), pack.next_steps]
    title = _("Business review: %(organisation)s") % {"organisation": figures.organisation.name}
    return Section(title=title, lines=lines)


def _health(figures: PackFigures) -> Section:
    latest, first = figures.health, figures.health_first
    if latest is None:
        return Section(title=_("Health"), lines=[_("No health score in this period.")])
    lines = [
        _("Health score %(score)s of 100 (%(colour)s) on %(day)s")
        % {
            "score": latest.score,
            "colour": HealthColour(latest.colour).label.lower(),
            "day": _day(latest.computed_on),
        },
        _("Trend: %(first)s on %(first_day)s, %(last)s on %(last_day)s")
        % {
            "first": first.score,
            "first_day": _day(first.computed_on),
            "last": latest.score,
            "last_day": _day(latest.computed_on),
        },
        _("Why: %(reasons)s") % {"reasons": figures.reasons},
    ]
    rows = [
        [
            part["label"],
            part["words"],
            str(part["weight"]),
            "–" if part["score"] is None else f"{part['lost']:.0f}",
        ]
        for part in figures.breakdown
    ]
    chart = health_trend_svg(figures.history)
    return Section(
        title=_("Health"),
        lines=lines,
        tables=[Table([_("Signal"), _("Now"), _("Weight"), _("Points lost")], rows)],
        charts=[chart] if chart else [],
    )


def _service(figures: PackFigures) -> Section:
    rows = [
        [m.label, str(m.tickets), _percent(m.attainment), _mean(m.csat), _mean(m.effort)]
        for m in figures.months
    ]
    chart = month_bars_svg(
        _("SLA attainment by month"),
        [(m.label, m.attainment) for m in figures.months],
        unit=" %",
        top=100,
    )
    return Section(
        title=_("Service: SLA, satisfaction and effort by month"),
        lines=[
            ngettext(
                "%(count)d ticket opened in the period.",
                "%(count)d tickets opened in the period.",
                figures.tickets,
            )
            % {"count": figures.tickets}
            + " "
            + _(
                "SLA attained: share of judged tickets that met their targets. "
                "CSAT and effort: mean of 1-5 ratings (5 is best, for effort the easiest)."
            )
        ],
        tables=[Table([_("Month"), _("Tickets"), _("SLA attained"), _("CSAT"), _("Effort")], rows)],
        charts=[chart],
    )


def _categories(figures: PackFigures) -> Section:
    rows = [[label, str(n)] for label, n in figures.categories]
    lines = []
    if not figures.improvements:
        lines.append(_("No improvement came from these tickets yet."))
    for improvement in figures.improvements:
        changed = f": {improvement.what_changed}" if improvement.what_changed else ""
        values = {
            "title": improvement.title,
            "department": improvement.get_department_display(),
            "status": improvement.get_status_display().lower(),
            "count": improvement.ticket_count,
        }
        lines.append(
            ngettext(
                "%(title)s (%(department)s, %(status)s, from %(count)d ticket)",
                "%(title)s (%(department)s, %(status)s, from %(count)d tickets)",
                improvement.ticket_count,
            )
            % values
            + changed
        )
    return Section(
        title=_("Tickets by category, and what they changed"),
        lines=lines,
        tables=[Table([_("Category"), _("Tickets")], rows or [[_("No tickets"), "0"]])],
    )


def _orders(figures: PackFigures) -> Section:
    currency = figures.currency
    rows = [[m.label, str(m.orders), money(m.revenue, currency)] for m in figures.months]
    lines = [
        ngettext(
            "%(count)d order, revenue %(revenue)s (invoices issued, net of credit notes).",
            "%(count)d orders, revenue %(revenue)s (invoices issued, net of credit notes).",
            figures.orders,
        )
        % {"count": figures.orders, "revenue": money(figures.revenue, currency)}
    ]
    for code, amount in figures.revenue_left_out.items():
        lines.append(
            _("Not converted (no exchange rate): %(amount)s, left out.")
            % {"amount": money(amount, code)}
        )
    revenue_title = _("Revenue by month (%(currency)s)") % {"currency": currency}
    return Section(
        title=_("Orders and revenue by month"),
        lines=lines,
        tables=[
            Table(
                [_("Month"), _("Orders"), _("Revenue (%(currency)s)") % {"currency": currency}],
                rows,
            )
        ],
        charts=[
            month_bars_svg(_("Orders by month"), [(m.label, m.orders) for m in figures.months]),
            month_bars_svg(revenue_title, [(m.label, m.revenue) for m in figures.months]),
        ],
    )


def _commitments(figures: PackFigures) -> Section:
    rows = [[c.title, _("Kept"), _day(c.closed_at)] for c in figures.kept]
    rows += [
        [c.title, _("Open, overdue") if c.is_overdue else _("Open"), _due(c.due_on)]
        for c in figures.open
    ]
    rows += [[c.title, _("Dropped"), _day(c.closed_at)] for c in figures.dropped]
    return Section(
        title=_("Commitments kept and open"),
        lines=[
            _("%(kept)d kept in the period, %(open)d open.")
            % {"kept": len(figures.kept), "open": len(figures.open)}
        ],
        tables=[Table([_("Commitment"), _("State"), _("When")], rows)] if rows else [],
    )


def _when(commitment) -> str:
    if commitment.closed_at:
        return _day(commitment.closed_at)
    return _due(commitment.due_on)


def _due(day) -> str:
    return _("due %(day)s") % {"day": _day(day)}


def _last_review(figures: PackFigures) -> Section:
    previous = figures.previous
    if previous is None:
        return Section(
            title=_("Since the last review"), lines=[_("This is the first review in the portal.")]
        )
    lines = [
        _("Last review: %(day)s") % {"day": _day(previous.on)},
        _("Its next steps:"),
        previous.next_steps or _("None were written down."),
    ]
    rows = [[c.title, c.get_status_display(), _when(c)] for c in figures.previous_commitments]
    return Section(
        title=_("Since the last review: its next steps and what became of them"),
        lines=lines,
        tables=[Table([_("Promised then"), _("Now"), _("When")], rows)] if rows else [],
    )


# --- PDF ------------------------------------------------------------------------------------


class _Pdf:
    """Text and tables in the portal's PDF font (Latin-1 only without DejaVu Sans)."""

    def __init__(self):
        self.pdf, self.family, self.unicode = pdf_document()

    def text(self, text: str) -> str:
        return text if self.unicode else text.encode("latin-1", "replace").decode("latin-1")

    def line(self, text: str, size: int = 10, height: float = 5.5) -> None:
        self.pdf.set_font(self.family, size=size)
        self.pdf.multi_cell(0, height, self.text(text), new_x="LMARGIN", new_y="NEXT")

    def table(self, table: Table) -> None:
        self.pdf.set_font(self.family, size=9)
        # Headings in the same face, shaded: the bold DejaVu is not always installed.
        headings = FontFace(emphasis=None, fill_color=(230, 235, 241))
        with self.pdf.table(line_height=5.5, text_align="LEFT", headings_style=headings) as grid:
            for values in [table.headers, *table.rows]:
                row = grid.row()
                for value in values:
                    row.cell(self.text(value))


def pack_pdf(figures: PackFigures) -> bytes:
    """The pack as a PDF, the charts as vectors."""
    doc = _Pdf()
    pdf = doc.pdf
    for index, section in enumerate(pack_sections(figures)):
        if index:
            pdf.add_page()
        doc.line(section.title, size=16, height=9)
        pdf.ln(2)
        for text in section.lines:
            doc.line(text or " ")
        for table in section.tables:
            pdf.ln(3)
            doc.table(table)
        for chart in section.charts:
            pdf.ln(4)
            pdf.image(BytesIO(chart.encode()), w=pdf.epw)
    return bytes(pdf.output())


# --- Slides -----------------------------------------------------------------------------------

SLIDE_W, SLIDE_H = Inches(13.333), Inches(7.5)
MARGIN = Inches(0.5)
TABLE_ROWS_PER_SLIDE = 12


def svg_png(svg: str) -> bytes:
    """A chart as a PNG picture for the slides."""
    return cairosvg.svg2png(bytestring=svg.encode(), scale=PNG_SCALE)


def pack_pptx(figures: PackFigures) -> bytes:
    """The pack as slides: a slide per section (long tables go on), charts as pictures."""
    deck = Presentation()
    deck.slide_width, deck.slide_height = SLIDE_W, SLIDE_H
    layout = deck.slide_layouts[5]  # "Title Only"
    for section in pack_sections(figures):
        _section_slides(deck, layout, section)
    out = BytesIO()
    deck.save(out)
    return out.getvalue()


def _section_slides(deck, layout, section: Section) -> None:
    slide = _slide(deck, layout, section.title)
    left_w = (SLIDE_W - 3 * MARGIN) // 2 if section.charts else SLIDE_W - 2 * MARGIN
    top = Inches(1.4)
    if section.lines:
        box = slide.shapes.add_textbox(MARGIN, top, left_w, Inches(0.3) * len(section.lines))
        frame = box.text_frame
        frame.word_wrap = True
        for i, text in enumerate(section.lines):
            paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            paragraph.text = text
            paragraph.font.size = Pt(12)
        top += box.height + Inches(0.1)
    for table in section.tables:
        chunks = [
            table.rows[i : i + TABLE_ROWS_PER_SLIDE]
            for i in range(0, len(table.rows), TABLE_ROWS_PER_SLIDE)
        ] or [[]]
        for n, rows in enumerate(chunks):
            if n:
                slide, top = _slide(deck, layout, f"{section.title} (continued)"), Inches(1.4)
            top += _table(slide, table.headers, rows, MARGIN, top, left_w)
    chart_top = Inches(1.4)
    chart_w = SLIDE_W - 3 * MARGIN - left_w
    for chart in section.charts:
        picture = slide.shapes.add_picture(
            BytesIO(svg_png(chart)), MARGIN * 2 + left_w, chart_top, width=chart_w
        )
        chart_top += picture.height + Inches(0.2)


def _slide(deck, layout, title: str):
    slide = deck.slides.add_slide(layout)
    slide.shapes.title.text = title
    slide.shapes.title.text_frame.paragraphs[0].font.size = Pt(28)
    return slide


def _table(slide, headers: list[str], rows: list[list[str]], left, top, width) -> Emu:
    row_h = Inches(0.32)
    shape = slide.shapes.add_table(len(rows) + 1, len(headers), left, top, width, row_h)
    cells = shape.table
    for r, values in enumerate([headers, *rows]):
        for c, value in enumerate(values):
            cell = cells.cell(r, c)
            cell.text = value
            cell.text_frame.paragraphs[0].font.size = Pt(11)
    return Emu(row_h * (len(rows) + 1) + Inches(0.3))
