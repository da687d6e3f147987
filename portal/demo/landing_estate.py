"""A generated estate of what real departmental systems hand over: invoices whose amounts
are written in every style exports use, "N/A" for a missing date, CSV, Excel's UTF-16
"Unicode text" and .xlsx files, and one JSON API per way APIs page (a next URL, a cursor
token in the body, a Link header with offset/limit, offset/limit with a total, page
numbers with has_more), whose records may be flagged deleted.

Seeded, with ground truth: `invoices()` gives the exact amounts and dates, the writers
turn them into each format, and the tests (portal/sync/tests/test_landing_estate.py) and
`scripts/bench.py` read them back through real sources.
"""

from __future__ import annotations

import csv
import json
import random
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

NO_BREAK, THIN = "\u00a0", "\u202f"


@dataclass(frozen=True)
class Invoice:
    number: str
    customer: str
    amount: Decimal
    currency: str
    issued_on: date
    due_on: date | None
    updated_at: str
    deleted: bool = False


def invoices(count: int, seed: int = 24) -> list[Invoice]:
    """`count` invoices with amounts from -99,999.99 to 9,999,999.99 (credit notes negative),
    about one in five without a due date."""
    rng = random.Random(seed)  # noqa: S311 (seeded test data)
    start = date(2025, 1, 1)
    out = []
    for n in range(1, count + 1):
        small, large = rng.randint(1, 999), rng.randint(100_000_00, 999_999_999)
        cents = rng.choice([small, rng.randint(1000, 99_999_99), large, -rng.randint(1, 9_999_999)])
        issued = start + timedelta(days=rng.randint(0, 600))
        out.append(
            Invoice(
                number=f"INV-{n:07}",
                customer=f"C-{rng.randint(1, 400):04}",
                amount=Decimal(cents).scaleb(-2),
                currency=rng.choice(["USD", "EUR", "CHF", "GBP"]),
                issued_on=issued,
                due_on=None if rng.random() < 0.2 else issued + timedelta(days=30),
                updated_at=f"2026-03-{1 + n % 28:02}T{n % 24:02}:{n % 60:02}:00Z",
            )
        )
    return out


def _grouped(amount: Decimal, group: str, mark: str) -> str:
    whole, _, fraction = format(abs(amount), "f").partition(".")
    return f"{int(whole):,}".replace(",", group) + (mark + fraction if fraction else "")


# Each style: how a system writes an amount, and the field spec that reads it.
STYLES: dict[str, tuple[Any, dict[str, Any]]] = {
    "us_thousands": (
        lambda a: ("-" if a < 0 else "") + _grouped(a, ",", "."),
        {"thousands": ","},
    ),
    "currency_symbol_before": (
        lambda a: ("-" if a < 0 else "") + "$" + _grouped(a, ",", "."),
        {"thousands": ",", "strip": "currency"},
    ),
    "accounting_parentheses": (
        lambda a: f"({_grouped(a, ',', '.')})" if a < 0 else _grouped(a, ",", "."),
        {"thousands": ",", "negative_parentheses": True},
    ),
    "no_break_space_decimal_comma": (
        lambda a: ("-" if a < 0 else "") + _grouped(a, NO_BREAK, ","),
        {"decimal": ",", "thousands": " "},
    ),
    "french_thin_space": (
        lambda a: ("-" if a < 0 else "") + _grouped(a, THIN, ",") + f"{NO_BREAK}€",
        {"locale": "fr_FR", "strip": "currency"},
    ),
    "swiss_apostrophe": (
        lambda a: "CHF " + ("-" if a < 0 else "") + _grouped(a, "'", "."),
        {"locale": "de_CH", "strip": "currency"},
    ),
    "code_after_trailing_minus": (
        lambda a: _grouped(a, ".", ",") + " EUR" + ("-" if a < 0 else ""),
        {"decimal_comma": True, "strip": "currency", "trailing_minus": True},
    ),
}
NULL_TOKENS = ["N/A", "NULL", "-", "n.a."]
HEADER = ["Invoice", "Customer", "Amount", "Currency", "Issued", "Due", "Updated", "Deleted"]


def rows(items: list[Invoice], style: str, seed: int = 24) -> list[list[str]]:
    """The invoices as an export in `style` writes them, a null token for no due date."""
    rng = random.Random(seed)  # noqa: S311 (seeded test data)
    write = STYLES[style][0]
    return [
        [
            *(i.number, i.customer, write(i.amount), i.currency, i.issued_on.isoformat()),
            i.due_on.isoformat() if i.due_on else rng.choice(NULL_TOKENS),
            *(i.updated_at, "Y" if i.deleted else "N"),
        ]
        for i in items
    ]


def fields(style: str = "us_thousands") -> dict[str, Any]:
    """The invoices mapping for files and records in `style`."""
    return {
        "external_id": "Invoice",
        "number": "Invoice",
        "customer_id": "Customer",
        "amount": {"from": "Amount", "type": "decimal", **STYLES[style][1]},
        "currency": {"from": "Currency", "type": "currency"},
        "issued_on": {"from": "Issued", "type": "date"},
        "due_on": {"from": "Due", "type": "date"},
    }


def write_csv(path: Path, items: list[Invoice], style: str, **options: Any) -> Path:
    """A CSV export; `options` go to csv.writer (e.g. delimiter) and `encoding` to open."""
    encoding = options.pop("encoding", "utf-8")
    with path.open("w", encoding=encoding, newline="") as file:
        writer = csv.writer(file, **options)
        writer.writerow(HEADER)
        writer.writerows(rows(items, style))
    return path


def write_unicode_text(path: Path, items: list[Invoice], style: str) -> Path:
    """Excel's "Unicode text": UTF-16 LE with a BOM, tab-separated, CRLF."""
    return write_csv(path, items, style, encoding="utf-16", delimiter="\t", lineterminator="\r\n")


def write_xlsx(
    path: Path, items: list[Invoice], style: str, *, sheet: str = "Invoices", title_rows: int = 0
) -> Path:
    """An Excel workbook (write-only, streaming): a cover sheet first, then `sheet` with
    `title_rows` lines of report title above the header. Amounts are text in `style` for
    the odd rows and numbers for the even ones, as hand-kept workbooks mix them."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    book.create_sheet("Cover").append(["Exported by the billing system"])
    data = book.create_sheet(sheet)
    for n in range(title_rows):
        data.append([f"Invoice report, page title line {n + 1}"])
    data.append(HEADER)
    for n, (item, row) in enumerate(zip(items, rows(items, style), strict=True)):
        amount = row[2] if n % 2 else item.amount
        data.append([row[0], row[1], amount, row[3], item.issued_on, row[5], row[6], row[7]])
    book.save(path)
    return path


# --- The APIs -----------------------------------------------------------------------------

PAGINATIONS = ("next_url", "cursor", "link_offset", "offset_total", "page_has_more")


@dataclass
class PagedApi:
    """One invoices API per way of paging, on 127.0.0.1: `/<pagination>/invoices`.

    Records are JSON objects in `style` (amounts as text), ordered by `updated_at` and
    filtered by `updated_since`; `deleted` is a boolean flag. Pages hold `page_size`
    records at most, whatever the client asks (APIs cap their page size).
    """

    items: list[Invoice]
    style: str = "us_thousands"
    page_size: int = 100
    requests: list[str] = field(default_factory=list)

    def __enter__(self) -> PagedApi:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def url(self, pagination: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{pagination}/invoices"

    def records(self, since: str) -> list[dict[str, Any]]:
        items = sorted((i for i in self.items if i.updated_at >= since), key=lambda i: i.updated_at)
        return [
            dict(zip(HEADER, row[:7], strict=False)) | {"Deleted": item.deleted}
            for item, row in zip(items, rows(items, self.style), strict=True)
        ]

    def page(self, pagination: str, query: dict[str, str]) -> tuple[dict, dict[str, str]]:
        """The body and headers answering one request."""
        since = query.get("updated_since", "")
        records = self.records(since)
        size = min(int(query.get("limit", self.page_size)), self.page_size)
        base = self.url(pagination)
        if pagination in ("next_url", "page_has_more"):
            number = int(query.get("page", "1"))
            start = (number - 1) * size
            chunk, more = records[start : start + size], start + size < len(records)
            if pagination == "page_has_more":
                return {"data": chunk, "page": number, "has_more": more}, {}
            following = f"{base}?{urlencode({'updated_since': since, 'page': number + 1})}"
            return {"results": chunk, "next": following if more else None}, {}
        if pagination == "cursor":
            start = int(query.get("cursor", "0") or 0)
            chunk, more = records[start : start + size], start + size < len(records)
            meta = {"next_cursor": str(start + size) if more else None, "count": len(chunk)}
            return {"results": chunk, "meta": meta}, {}
        start = int(query.get("offset", "0"))
        chunk, more = records[start : start + size], start + size < len(records)
        if pagination == "offset_total":
            return {"items": chunk, "total": len(records)}, {}
        headers = {}
        if more:
            params = urlencode({"updated_since": since, "offset": start + size, "limit": size})
            headers["Link"] = f'<{base}?{params}>; rel="next", <{base}>; rel="first"'
        return {"results": chunk}, headers


def _handler(api: PagedApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            api.requests.append(self.path)
            pagination = parts.path.strip("/").split("/")[0]
            query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
            if pagination not in PAGINATIONS:
                body, headers, status = {"detail": "not found"}, {}, 404
            else:
                (body, headers), status = api.page(pagination, query), 200
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    return Handler


# How each API is configured as a source (pagination keys of portal/sync/connectors/http_api).
API_CONFIGS: dict[str, dict[str, Any]] = {
    "next_url": {},
    "cursor": {"pagination": "cursor", "next_key": "meta.next_cursor", "cursor_param": "cursor"},
    "link_offset": {"pagination": "next", "page_size": 100},
    "offset_total": {"pagination": "offset", "results_key": "items", "page_size": 250},
    "page_has_more": {"pagination": "page", "results_key": "data"},
}
