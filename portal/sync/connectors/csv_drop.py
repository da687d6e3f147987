"""Read the CSV files dropped into a folder, each once, in name order.

Configuration keys:

- ``path`` (required): the drop folder.
- ``pattern``: glob of the files to read, relative to ``path`` (default ``*.csv``).
  Files under ``<path>/archive/`` are never read.
- ``encoding``: ``auto`` (default) reads a file in the encoding its byte-order mark
  names (UTF-8, UTF-16 or UTF-32: Excel's "Unicode text" is UTF-16), else as UTF-8 if
  all of it is valid UTF-8, else as Windows-1252; or any Python codec name.
- ``sheet``, ``header_row``: for Excel workbooks (.xlsx, told by their bytes, read by
  file_formats.py): the sheet to read (default the first) and the row of column names
  (default 1). A file that is neither text nor a workbook (a PDF, a ZIP archive, an
  old .xls) pauses the source, named for what it is.
- ``delimiter``: ``auto`` (default) guesses one of ``,`` ``;`` tab ``|`` from the
  first 64 KB (csv.Sniffer, falling back to the one most frequent in the header
  line, then ``,``); or the delimiter itself. Quoting is always the standard
  one (``"``, doubled to escape).
- ``archive``: move the files a run read, and files skipped as already
  processed, into ``<path>/archive/`` when the run succeeded (default true).
  Nothing is moved after a failed run.
- ``snapshot``: each file is a full snapshot of the source (default false): the
  last batch of each file says so, and the engine deletes records not seen.
- ``batch_size``: records per batch (default 5000).

A file is identified by the SHA-256 of its bytes; files for which
``is_processed(checksum)`` is true are skipped. Files should be dropped
atomically (written elsewhere, then renamed into the folder).

Records map the header's names (stripped) to the row's strings, unchanged.
What makes a file unreadable (a ShapeError naming the file and line):

- bytes that do not decode with the chosen encoding;
- no header row (an empty file), or a header with an empty or repeated name;
- a row with more fields than the header, or broken quoting (csv strict mode).

Rows with fewer fields than the header are accepted, the missing trailing
values being ``""`` (some exporters drop trailing empty fields). Blank lines
are skipped.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from portal.sync.base import Batch, PermanentError, ShapeError, TransientError
from portal.sync.connectors import batch_size_of, file_formats, required

logger = logging.getLogger(__name__)

ARCHIVE = "archive"
DELIMITERS = ",;\t|"
SNIFF_CHARS = 64 * 1024
CHUNK_BYTES = 1024 * 1024

T = TypeVar("T")


class CsvDropConnector:
    def __init__(self, config: Mapping[str, Any], is_processed: Callable[[str], bool]) -> None:
        self.folder = Path(required(config, "path"))
        self.pattern: str = config.get("pattern", "*.csv")
        self.encoding: str = config.get("encoding", "auto")
        self.delimiter: str = config.get("delimiter", "auto")
        self.archive = bool(config.get("archive", True))
        self.snapshot = bool(config.get("snapshot", False))
        self.sheet: str | None = config.get("sheet")  # workbooks: file_formats.py
        self.header_row = file_formats.check_header_row(config.get("header_row", 1))
        self.batch_size = batch_size_of(config)
        self.is_processed = is_processed
        if self.encoding != "auto":
            try:
                codecs.lookup(self.encoding)
            except LookupError as error:
                raise PermanentError(f"unknown encoding {self.encoding!r}") from error
        if self.delimiter != "auto" and len(self.delimiter) != 1:
            raise PermanentError(f"delimiter must be 'auto' or one character: {self.delimiter!r}")
        # Files to archive once the run succeeded: read to the end, or skipped.
        self._done: list[tuple[Path, str]] = []

    def fetch(self, cursor: str | None, *, started_at: datetime) -> Iterator[Batch]:
        """Batches of every new file; `cursor` is unused, files are tracked by checksum."""
        self._done = []
        for path in self._files():
            checksum, is_utf8 = _scan(path)
            if not self.is_processed(checksum):
                kind = file_formats.sniff(path)
                # Returns once the engine asked for more after the file's last batch,
                # i.e. after that batch landed.
                if kind.workbook:
                    yield from self._read_workbook(path, checksum)
                else:
                    encoding = file_formats.text_encoding(kind, self.encoding, is_utf8, path.name)
                    yield from self._read(path, checksum, encoding)
            self._done.append((path, checksum))

    def finish(self, *, succeeded: bool) -> None:
        done, self._done = self._done, []
        if not (succeeded and self.archive):
            return
        for path, checksum in done:
            try:
                _archive(path, checksum, self.folder / ARCHIVE)
            except OSError as error:
                # Harmless: the file is skipped by checksum and archived next run.
                logger.warning("could not archive %s: %s", path, error)

    def _files(self) -> list[Path]:
        if not self.folder.is_dir():
            raise PermanentError(f"drop folder {self.folder} does not exist")
        archive = self.folder / ARCHIVE
        return sorted(
            path
            for path in self.folder.glob(self.pattern)
            if path.is_file() and archive not in path.parents
        )

    def _read(self, path: Path, checksum: str, encoding: str) -> Iterator[Batch]:
        try:
            with path.open(encoding=encoding, errors="strict", newline="") as file:
                reader = csv.reader(file, delimiter=self._delimiter_for(file), strict=True)
                rows = _rows(reader, path.name)
                header = _header(next(rows, None), path.name)
                records = _records(rows, header, path.name, reader)
                for chunk, last in _chunks(records, self.batch_size):
                    yield Batch(
                        records=chunk,
                        label=path.name,
                        columns=header,
                        completed_file=checksum if last else None,
                        snapshot=self.snapshot,
                        snapshot_complete=self.snapshot and last,
                    )
        except UnicodeDecodeError as error:
            raise ShapeError(f"{path.name} could not be decoded as {encoding}") from error
        except OSError as error:
            raise TransientError(f"could not read {path.name}: {error}") from error

    def _read_workbook(self, path: Path, checksum: str) -> Iterator[Batch]:
        rows = file_formats.workbook_rows(path, sheet=self.sheet, header_row=self.header_row)
        header = next(rows)
        for chunk, last in _chunks(rows, self.batch_size):
            yield Batch(
                records=chunk,
                label=path.name,
                columns=header,
                completed_file=checksum if last else None,
                snapshot=self.snapshot,
                snapshot_complete=self.snapshot and last,
            )

    def _delimiter_for(self, file: Any) -> str:
        if self.delimiter != "auto":
            return self.delimiter
        sample = file.read(SNIFF_CHARS)
        file.seek(0)
        return sniff_delimiter(sample)


def sniff_delimiter(sample: str) -> str:
    # The sample's last line may be cut off mid-row, which misleads the sniffer.
    whole_lines = sample[: sample.rfind("\n") + 1] or sample
    try:
        return csv.Sniffer().sniff(whole_lines, delimiters=DELIMITERS).delimiter
    except csv.Error:
        header = whole_lines.split("\n", 1)[0]
        best = max(DELIMITERS, key=header.count)
        return best if header.count(best) else ","


def _scan(path: Path) -> tuple[str, bool]:
    """The file's SHA-256 and whether it is valid UTF-8, in one streaming pass."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    is_utf8 = True
    try:
        with path.open("rb") as file:
            while chunk := file.read(CHUNK_BYTES):
                digest.update(chunk)
                if is_utf8:
                    is_utf8 = _decodes(decoder, chunk)
    except OSError as error:
        raise TransientError(f"could not read {path.name}: {error}") from error
    return digest.hexdigest(), is_utf8 and _decodes(decoder, b"", final=True)


def _decodes(decoder: codecs.IncrementalDecoder, chunk: bytes, *, final: bool = False) -> bool:
    try:
        decoder.decode(chunk, final)
    except UnicodeDecodeError:
        return False
    return True


def _rows(reader: Any, name: str) -> Iterator[list[str]]:
    """The reader's non-blank rows, a parse error naming the file and line."""
    try:
        for row in reader:
            if row:
                yield row
    except csv.Error as error:
        raise ShapeError(f"{name}, line {reader.line_num}: {error}") from error


def _header(row: list[str] | None, name: str) -> list[str]:
    if row is None:
        raise ShapeError(f"{name} is empty: no header row")
    header = [cell.strip() for cell in row]
    header[0] = header[0].lstrip("\ufeff").strip()  # a BOM left by an explicit utf-8
    if "" in header or len(set(header)) != len(header):
        raise ShapeError(f"{name}: the header has an empty or repeated column name: {header}")
    return header


def _records(
    rows: Iterable[list[str]], header: list[str], name: str, reader: Any
) -> Iterator[dict[str, str]]:
    width = len(header)
    for row in rows:
        if len(row) > width:
            raise ShapeError(
                f"{name}, line {reader.line_num}: {len(row)} fields, the header has {width}"
            )
        yield dict(zip(header, row + [""] * (width - len(row)), strict=True))


def _chunks(items: Iterable[T], size: int) -> Iterator[tuple[list[T], bool]]:
    """Lists of up to `size` items, each with whether it is the last (at least one list)."""
    chunk: list[T] = []
    for item in items:
        # A full chunk waits for the next item, to know it is not the last.
        if len(chunk) == size:
            yield chunk, False
            chunk = []
        chunk.append(item)
    yield chunk, True


def _archive(path: Path, checksum: str, archive: Path) -> None:
    archive.mkdir(exist_ok=True)
    target = archive / path.name
    if target.exists():
        # Another file of the same name was archived before: keep both.
        target = archive / f"{path.stem}.{checksum[:12]}{path.suffix}"
    os.replace(path, target)
