"""What a dropped file is, told by its bytes, and the reader of Excel workbooks.

A drop folder gets what departments export: CSV in any encoding, Excel's "Unicode text"
(UTF-16 with a byte-order mark, tab-separated), .xlsx workbooks, and now and then a
PDF or a ZIP archive by mistake. `sniff` looks at the first bytes (a byte-order mark, a
file signature) rather than the name, so the CSV connector (csv_drop.py) reads text in
the encoding its BOM names, reads workbooks with openpyxl, and names a file it cannot
read for what it is ("report.pdf is a PDF") instead of reporting its lines as the
wrong shape.

Workbooks are read with openpyxl in read-only mode, streaming rows from the zip with
memory that stays flat however long the sheet (see "Streaming with flat memory"): the
sheet named by ``sheet`` (default the first), the header on row ``header_row`` (default
1; rows above it, a report's title, are skipped). Cells come as Python values: text,
int, float (a whole float as int), datetime; empty cells as "".
"""

from __future__ import annotations

import functools
import sqlite3
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl.cell.text import Text
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.worksheet._reader import DATA_TAG, ROW_TAG, WorkSheetParser
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

from portal.sync.base import PermanentError, ShapeError, TransientError

HEAD_BYTES = 4096

# Byte-order marks, longest first (UTF-32 LE starts with UTF-16 LE's).
BOMS = [
    (b"\xff\xfe\x00\x00", "utf-32", "UTF-32 text"),
    (b"\x00\x00\xfe\xff", "utf-32", "UTF-32 text"),
    (b"\xef\xbb\xbf", "utf-8-sig", "UTF-8 text"),
    (b"\xff\xfe", "utf-16", "UTF-16 text"),
    (b"\xfe\xff", "utf-16", "UTF-16 text"),
]
# Signatures of files that are not text, and what to call them.
SIGNATURES = [
    (b"%PDF", "a PDF"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-style Excel workbook (.xls) or Office file"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"{\\rtf", "an RTF document"),
    (b"SQLite format 3\x00", "an SQLite database"),
]
ZIP = b"PK\x03\x04"
EMPTY_ZIP = b"PK\x05\x06"


@dataclass(frozen=True)
class FileKind:
    """What a file is: text in an encoding (None: not known from its bytes), a workbook,
    or something else, described for messages."""

    description: str
    encoding: str | None = None  # from a byte-order mark
    workbook: bool = False
    text: bool = True


def sniff(path: Path) -> FileKind:
    try:
        with path.open("rb") as file:
            head = file.read(HEAD_BYTES)
    except OSError as error:
        raise TransientError(f"could not read {path.name}: {error}") from error
    for bom, encoding, description in BOMS:
        if head.startswith(bom):
            return FileKind(description, encoding=encoding)
    if head.startswith((ZIP, EMPTY_ZIP)):
        return _zip_kind(path)
    for signature, description in SIGNATURES:
        if head.startswith(signature):
            return FileKind(description, text=False)
    if b"\x00" in head:
        # UTF-16 without a BOM puts a NUL beside every ASCII letter.
        if head[1::2].count(0) > len(head) // 4 or head[0::2].count(0) > len(head) // 4:
            return FileKind("UTF-16 text without a byte-order mark", text=False)
        return FileKind("binary data, not text", text=False)
    return FileKind("text")


def _zip_kind(path: Path) -> FileKind:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        return FileKind("a damaged ZIP archive", text=False)
    if "xl/workbook.xml" in names:
        return FileKind("an Excel workbook", workbook=True, text=False)
    if "xl/workbook.bin" in names:
        return FileKind("an Excel binary workbook (.xlsb)", text=False)
    if "word/document.xml" in names:
        return FileKind("a Word document", text=False)
    if "content.xml" in names:
        return FileKind("an OpenDocument file", text=False)
    return FileKind("a ZIP archive", text=False)


def text_encoding(kind: FileKind, configured: str, is_utf8: bool, name: str) -> str:
    """The encoding to read a text file with; a ShapeError naming what the file is when it
    is not text this source can read."""
    if not kind.text:
        raise ShapeError(
            f"{name} is {kind.description}: this source reads CSV or tab-separated text and "
            "Excel workbooks (.xlsx); save it as one of those, or narrow the folder's 'pattern'"
        )
    if configured == "auto":
        return kind.encoding or ("utf-8-sig" if is_utf8 else "cp1252")
    if kind.encoding and not _same_family(kind.encoding, configured):
        raise ShapeError(
            f"{name} is {kind.description} (it starts with a byte-order mark), but the source "
            f'reads {configured}: set "encoding": "auto" or {kind.encoding!r}'
        )
    return configured


def _same_family(bom_encoding: str, configured: str) -> bool:
    family = bom_encoding.split("-")[1].removesuffix("sig")  # 8, 16, 32
    return configured.lower().replace("_", "-").replace("utf-", "utf").startswith(f"utf{family}")


def workbook_rows(path: Path, *, sheet: str | None, header_row: int) -> Iterator[Any]:
    """(header, records) of a workbook's sheet, streamed; a ShapeError naming the sheets
    when the one asked for is not there."""
    reader = _WorkbookReader.open(path)
    try:
        names = list(reader.sheets)
        if sheet is not None and sheet not in reader.sheets:
            raise ShapeError(f"{path.name} has no sheet {sheet!r}; its sheets: {', '.join(names)}")
        if not names:
            raise ShapeError(f"{path.name} has no worksheet")
        rows = _sheet_rows(reader, reader.sheets[sheet or names[0]], header_row)
        number, first = next(rows, (header_row, None))
        header = _header(first if number == header_row else None, path.name, header_row)
        yield header
        yield from _records(rows, header, path.name)
    finally:
        reader.close()


# --- Streaming with flat memory ------------------------------------------------------------
# openpyxl's read-only mode streams a sheet's rows, but keeps two things that grow with the
# sheet: the whole shared-strings table (Excel writes every text cell there), and each
# parsed row's emptied XML element (about 90 bytes a row). The reader below is openpyxl's
# with those two replaced, so a 100,000-row sheet reads in the memory of a 10,000-row one
# (`make bench BENCH_ARGS=xlsx`). It uses openpyxl internals: the version is pinned to 3.1.


class _WorkbookReader(ExcelReader):
    """openpyxl's reader with our SharedStrings for its list, which reads no worksheet
    when it opens: openpyxl's read-only sheets parse the whole sheet once just to size it
    when it states no dimension (as most exporters write them)."""

    shared_strings: SharedStrings
    sheets: dict[str, str]  # worksheet name: its part in the archive

    @classmethod
    def open(cls, path: Path) -> _WorkbookReader:
        """The workbook opened; a ShapeError when it is no readable workbook."""
        reader = None
        try:
            reader = cls(path, read_only=True, data_only=True)
            reader.read()
        except (zipfile.BadZipFile, KeyError, ValueError) as error:
            if reader is not None:
                reader.close()
            raise ShapeError(f"{path.name} is not a readable Excel workbook: {error}") from error
        except OSError as error:
            if reader is not None:
                reader.close()
            raise TransientError(f"could not read {path.name}: {error}") from error
        return reader

    def read(self) -> None:
        self.shared_strings = SharedStrings()
        self.read_manifest()
        self.read_strings()
        self.read_workbook()
        apply_stylesheet(self.archive, self.wb)  # the date formats of number cells
        self.sheets = {
            sheet.name: rel.target
            for sheet, rel in self.parser.find_sheets()
            if rel.target in self.valid_files and "chartsheet" not in rel.Type
        }

    def read_strings(self) -> None:
        part = self.package.find(SHARED_STRINGS)
        if part is not None:
            with self.archive.open(part.PartName[1:]) as source:
                self.shared_strings.read(source)

    def close(self) -> None:
        if isinstance(self.shared_strings, SharedStrings):
            self.shared_strings.close()
        self.archive.close()


class SharedStrings(Sequence):
    """A workbook's shared strings: a list while small; past IN_MEMORY of them, a temporary
    SQLite file (deleted on close) with a bounded cache in front, as sheets refer to the
    same customer names again and again."""

    IN_MEMORY = 20_000
    CACHED = 4_096

    def __init__(self) -> None:
        self._strings: list[str] = []
        self._database: sqlite3.Connection | None = None
        self._count = 0
        self._lookup = functools.lru_cache(maxsize=self.CACHED)(self._select)

    def read(self, source) -> None:
        item = f"{{{SHEET_MAIN_NS}}}si"
        events = iterparse(source, events=("start", "end"))
        _, root = next(events)
        for event, element in events:
            if event == "end" and element.tag == item:
                self._append(Text.from_tree(element).content.replace("x005F_", ""))
                root.clear()  # the parsed <si>: without this the tree keeps them all
        self._flush()

    def _append(self, text: str) -> None:
        self._strings.append(text)
        self._count += 1
        if len(self._strings) >= self.IN_MEMORY:
            self._flush(spill=True)

    def _flush(self, *, spill: bool = False) -> None:
        if self._database is None and not spill:
            return
        if self._database is None:
            self._database = sqlite3.connect("")  # a temporary file, deleted on close
            self._database.execute("CREATE TABLE strings (n INTEGER PRIMARY KEY, text TEXT)")
        first = self._count - len(self._strings)
        self._database.executemany(
            "INSERT INTO strings VALUES (?, ?)", enumerate(self._strings, start=first)
        )
        self._strings = []

    def _select(self, index: int) -> str:
        row = self._database.execute("SELECT text FROM strings WHERE n = ?", (index,)).fetchone()
        if row is None:
            raise IndexError(index)
        return row[0]

    def __getitem__(self, index):
        if self._database is None:
            return self._strings[index]
        if not 0 <= index < self._count:
            raise IndexError(index)
        return self._lookup(index)

    def __len__(self) -> int:
        return self._count

    def close(self) -> None:
        if self._database is not None:
            self._database.close()
            self._database = None


def _sheet_rows(reader: _WorkbookReader, part: str, first: int) -> Iterator[tuple[int, list]]:
    """(row number, values) of the sheet's rows from row `first`, values by column
    (None where a row has no cell)."""
    book = reader.wb
    with reader.archive.open(part) as source:
        parser = WorkSheetParser(
            source,
            reader.shared_strings,
            data_only=True,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )
        sheet_data = None
        for event, element in iterparse(source, events=("start", "end")):
            if event == "start":
                if element.tag == DATA_TAG:
                    sheet_data = element
                continue
            if element.tag != ROW_TAG:
                continue
            number, cells = parser.parse_row(element)
            parser.row_dimensions.clear()  # row heights and styles: not ours to keep
            if sheet_data is not None:
                sheet_data.clear()  # the parsed row's element
            if number < first:
                continue
            values = [None] * (cells[-1]["column"] if cells else 0)
            for cell in cells:
                values[cell["column"] - 1] = cell["value"]
            yield number, values


def _header(row: tuple | None, name: str, number: int) -> list[str]:
    if row is None:
        raise ShapeError(f"{name}: no header on row {number} (the sheet has fewer rows)")
    cells = ["" if cell is None else str(cell).strip() for cell in row]
    while cells and not cells[-1]:
        cells.pop()
    if not cells or "" in cells or len(set(cells)) != len(cells):
        raise ShapeError(
            f"{name}, row {number}: the header has an empty or repeated column name: {cells} "
            "(set 'header_row' to the row of column names)"
        )
    return cells


def _records(rows: Iterator[tuple[int, list]], header: list[str], name: str) -> Iterator[dict]:
    width = len(header)
    for number, row in rows:
        values = [_cell(cell) for cell in row]
        if not any(value != "" for value in values):
            continue  # an empty row
        if any(value != "" for value in values[width:]):
            raise ShapeError(f"{name}, row {number}: a value beyond the header's {width} columns")
        values += [""] * (width - len(values))
        yield dict(zip(header, values[:width], strict=True))


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def check_header_row(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PermanentError(f"'header_row' must be a row number from 1, not {value!r}")
    return value
