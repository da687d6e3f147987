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

    line(f"Invoice {invoice.number}", size=20, height=12)
    line(invoice.organisation.name, size=13)
    if invoice.organisation.customer_number:
        line(f"Customer number {invoice.organisation.customer_number}")
    pdf.ln(4)
    state = getattr(invoice, "state", "")
    if state == "overdue":
        state = f"overdue, {invoice.days_overdue} days"
    facts = [
        ("Amount", _money(invoice.amount, invoice.currency)),
        ("Issued", f"{invoice.issued_on:%-d %B %Y}"),
        ("Due", f"{invoice.due_on:%-d %B %Y}" if invoice.due_on else "-"),
        ("Paid", _paid(invoice)),
        (
            "State",
            state.capitalize(),
        ),
        ("Order", invoice.order.number if invoice.order else "-"),
    ]
    if invoice.product_line:
        facts.append(("Product line", invoice.product_line))
    for label, value in facts:
        line(f"{label}: {value}")
    pdf.ln(6)
    synced = timezone.localtime(invoice.synced_at)
    line(
        f"From {invoice.source.name} (system {invoice.source.system}), synced "
        f"{synced:%-d %B %Y %H:%M %Z}, its id there {invoice.external_id}. "
        "Rendered by the Customer Portal from that record.",
        size=9,
        height=5,
    )
    return bytes(pdf.output())


def _paid(invoice: Invoice) -> str:
    if invoice.paid_on:
        return f"{invoice.paid_on:%-d %B %Y}"
    if invoice.status in SETTLED_STATUSES:
        return "Cancelled" if invoice.status == InvoiceStatus.CANCELLED else "Yes"
    return "Not yet"
