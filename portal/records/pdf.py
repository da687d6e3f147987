"""An invoice as a PDF, rendered by the portal from the synced record (fpdf2).

It is our rendering of what billing sent us, and says so: which system it came from
and when it was synced. The text font is DejaVu Sans where the machine has it (any
script); otherwise the PDF core font, which covers Latin-1 only, and other letters
show as "?" (docs/production.md: install fonts-dejavu-core).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from fpdf import FPDF

from portal.records.choices import SETTLED_STATUSES, InvoiceStatus
from portal.records.models import Invoice


def pdf_document() -> tuple[FPDF, str, bool]:
    """An A4 document with a first page: (pdf, font family, whether it takes any script)."""
    pdf = FPDF(format="A4")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    font = Path(settings.PDF_FONT_PATH)
    if font.is_file():
        pdf.add_font("portal", "", str(font))
        return pdf, "portal", True
    return pdf, "helvetica", False


def _money(amount, currency: str) -> str:
    return f"{amount:,.2f} {currency}"  # as the pages show it: 1,250.50 GBP


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice document: who, what, when due, its state, and where it came from."""
    pdf, family, unicode = pdf_document()

    def line(text: str, size: int = 11, height: float = 7) -> None:
        if not unicode:
            text = text.encode("latin-1", "replace").decode("latin-1")
        pdf.set_font(family, size=size)
        pdf.multi_cell(0, height, text, new_x="LMARGIN", new_y="NEXT")

    # In the reader's language and zone: the view renders it inside their request.
    line(_("Invoice %(number)s") % {"number": invoice.number}, size=20, height=12)
    line(invoice.organisation.name, size=13)
    if invoice.organisation.customer_number:
        line(_("Customer number %(number)s") % {"number": invoice.organisation.customer_number})
    pdf.ln(4)
    state = getattr(invoice, "state", "")
    if state == "overdue":
        state = _("overdue, %(days)s days") % {"days": invoice.days_overdue}
    facts = [
        (_("Amount"), _money(invoice.amount, invoice.currency)),
        (_("Issued"), _day(invoice.issued_on)),
        (_("Due"), _day(invoice.due_on) if invoice.due_on else "-"),
        (_("Paid"), _paid(invoice)),
        (_("State"), _(state).capitalize()),
        (_("Order"), invoice.order.number if invoice.order else "-"),
    ]
    if invoice.product_line:
        facts.append((_("Product line"), invoice.product_line))
    for label, value in facts:
        line(f"{label}: {value}")
    pdf.ln(6)
    synced = timezone.localtime(invoice.synced_at)
    line(
        _(
            "From %(source)s (system %(system)s), synced %(synced)s, its id there %(id)s. "
            "Rendered by the Customer Portal from that record."
        )
        % {
            "source": invoice.source.name,
            "system": invoice.source.system,
            "synced": f"{date_format(synced, 'j F Y H:i')} {synced:%Z}",
            "id": invoice.external_id,
        },
        size=9,
        height=5,
    )
    return bytes(pdf.output())


def _day(day) -> str:
    return date_format(day, "j F Y")  # month names in the reader's language


def _paid(invoice: Invoice) -> str:
    if invoice.paid_on:
        return _day(invoice.paid_on)
    if invoice.status in SETTLED_STATUSES:
        return _("Cancelled") if invoice.status == InvoiceStatus.CANCELLED else _("Yes")
    return _("Not yet")


STATEMENT_COLUMNS = [  # heading, width in mm, alignment
    (gettext_lazy("Invoice"), 38, "L"),
    (gettext_lazy("Issued"), 26, "L"),
    (gettext_lazy("Due"), 26, "L"),
    (gettext_lazy("Age (days)"), 22, "R"),
    (gettext_lazy("Overdue (days)"), 26, "R"),
    (gettext_lazy("Amount"), 32, "R"),
]


def statement_pdf(*, organisation, invoices, totals: list[dict], now) -> bytes:
    """A statement of open items: the organisation's unpaid invoices per currency, oldest
    due first, each with its age and days overdue, and the total per currency (never added
    across currencies), dated when it was made, in the reader's time zone."""
    pdf, family, unicode = pdf_document()

    def text(value: str) -> str:
        return value if unicode else value.encode("latin-1", "replace").decode("latin-1")

    def line(value: str, size: int = 11, height: float = 7) -> None:
        pdf.set_font(family, size=size)
        pdf.multi_cell(0, height, text(value), new_x="LMARGIN", new_y="NEXT")

    def row(cells: list[str], size: int = 10) -> None:
        pdf.set_font(family, size=size)
        for value, (_heading, width, align) in zip(cells, STATEMENT_COLUMNS, strict=True):
            pdf.cell(width, 7, text(value), align=align)
        pdf.ln(7)

    made = timezone.localtime(now)
    today = made.date()
    line(_("Statement of open items"), size=20, height=12)
    line(organisation.name, size=13)
    if organisation.customer_number:
        line(_("Customer number %(number)s") % {"number": organisation.customer_number})
    line(
        _("Generated %(when)s (%(zone)s)")
        % {"when": date_format(made, "j F Y H:i"), "zone": made.tzname()},
        size=9,
        height=6,
    )
    by_currency: dict[str, list] = {}
    for invoice in invoices:
        by_currency.setdefault(invoice.currency, []).append(invoice)
    if not by_currency:
        pdf.ln(4)
        line(_("Nothing is open: every invoice is paid or cancelled."))
    for total in totals:
        currency = total["currency"]
        pdf.ln(4)
        line(_("Open in %(currency)s") % {"currency": currency}, size=13, height=9)
        row([str(heading) for heading, _width, _align in STATEMENT_COLUMNS], size=9)
        for invoice in by_currency.get(currency, []):
            overdue = (today - invoice.due_on).days if invoice.due_on else 0
            row(
                [
                    invoice.number,
                    date_format(invoice.issued_on, "j M Y"),
                    date_format(invoice.due_on, "j M Y") if invoice.due_on else "-",
                    str((today - invoice.issued_on).days),
                    str(overdue) if overdue > 0 else "-",
                    _money(invoice.amount, currency),
                ]
            )
        line(
            _("Total open %(open)s, of which overdue %(overdue)s")
            % {
                "open": _money(total["open"], currency),
                "overdue": _money(total["overdue"], currency),
            },
            size=11,
        )
    pdf.ln(6)
    line(
        _("From the billing records the portal synced; a payment made since may not show yet."),
        size=9,
        height=5,
    )
    return bytes(pdf.output())
