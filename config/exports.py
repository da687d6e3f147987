"""CSV downloads of what a customer screen lists: streamed, safe in a spreadsheet, audited.

Rows are streamed, so a large organisation's export neither holds the table in memory nor
costs a query per row; every export is recorded in the audit trail with its filters and
row count.
"""

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.text import slugify

from accounts.choices import AuditAction
from accounts.platform.middleware import client_ip
from accounts.services import audit_record

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 2000


class _Echo:
    """csv.writer writes into this and gets the line back."""

    def write(self, value: str) -> str:
        return value


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    return str(value)


def _stream(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # a BOM: spreadsheet programs then read the file as UTF-8
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([_cell(value) for value in row])


def _in_locale(lines: Iterator[str], language: str, zone) -> Iterator[str]:
    """Rows are made while the response streams, after the view returned: in the reader's
    language and zone all the same."""
    with translation.override(language), timezone.override(zone):
        yield from lines


def zone_now():
    """The reader's zone, taken while the request's is active: rows stream after the view
    (and the middleware that set the zone) returned."""
    return timezone.get_current_timezone()


def local_time(value, zone) -> str:
    """A time in the reader's zone (the column heading names it), with its UTC offset."""
    return value.astimezone(zone).isoformat() if value else ""


def csv_response(request, kind: str, header: list[str], rows, count: int, filters: dict):
    """A download of the current organisation's `kind`, audited with its filters and count."""
    organisation = request.organisation
    audit_record(
        actor=request.user,
        action=AuditAction.DATA_EXPORTED,
        organisation=organisation,
        target=f"{kind} (CSV)",
        detail={"rows": count, "filters": {k: v for k, v in filters.items() if v}},
        via_view_as=request.viewing_as,
        ip_address=client_ip(request),
    )
    name = f"{slugify(organisation.name)}-{kind}-{timezone.localdate():%Y-%m-%d}.csv"
    stream = _in_locale(_stream(header, rows), translation.get_language(), zone_now())
    response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
