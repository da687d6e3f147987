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
- ``archive``: claim each file before reading it, by renaming it into
  ``<path>/processing/``, and move what a run read (and files skipped as
  already processed) into ``<path>/archive/`` when the run succeeded
  (default true). After a failed run the claimed files stay in
  ``processing/`` and the next run reads them first. With ``archive: false``
  files are read where they are and left there.
- ``settle_seconds``: a file is taken only once its size and modification
  time have not changed for this long (default ``SYNC_DROP_SETTLE_SECONDS``,
  10). A run that meets a younger file waits for it once, at most that long;
  a file still changing after that waits for the next run.
- ``ready_marker``: e.g. ``".done"``: a file is taken only once
  ``<name>.done`` exists beside it (the settle time is then not needed); the
  marker is archived with it.
- ``snapshot``: each file is a full snapshot of the source (default false): the
  last batch of each file says so, and the engine deletes records not seen.
- ``batch_size``: records per batch (default 5000).

A file is identified by the SHA-256 of its bytes; files for which
``is_processed(checksum)`` is true are skipped. Files should be dropped
atomically (written as ``x.csv.part``, or elsewhere, then renamed into the
folder): names ending ``.part``, ``.tmp`` or ``.partial`` are never taken.
Whatever the sender does, a file whose last line has no line ending is held
(never half a row), and a file that changed while it was read (its inode,
size or modification time) is read again before it counts as read.

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
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from django.conf import settings

from portal.sync.base import Batch, PermanentError, ShapeError, TransientError
from portal.sync.connectors import batch_size_of, file_formats, required

logger = logging.getLogger(__name__)

ARCHIVE = "archive"
PROCESSING = "processing"
# Names writers give a file while they write it, before renaming it into place.
WRITING_SUFFIXES = (".part", ".tmp", ".partial")
# A file that keeps changing while it is read is given up on (for this run) after this.
MAX_READS = 3
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
        self.settle_seconds = float(config.get("settle_seconds", settings.SYNC_DROP_SETTLE_SECONDS))
        self.ready_marker: str = config.get("ready_marker", "")
        if self.settle_seconds < 0:
            raise PermanentError(f"settle_seconds must be 0 or more: {self.settle_seconds}")
        if self.encoding != "auto":
            try:
                codecs.lookup(self.encoding)
            except LookupError as error:
                raise PermanentError(f"unknown encoding {self.encoding!r}") from error
        if self.delimiter != "auto" and len(self.delimiter) != 1:
            raise PermanentError(f"delimiter must be 'auto' or one character: {self.delimiter!r}")
        # Files to archive once the run succeeded: read to the end, or skipped.
        self._done: list[tuple[Path, str]] = []
        # Files left for a later run, with why ("still being written").
        self.held: list[str] = []

    def fetch(self, cursor: str | None, *, started_at: datetime) -> Iterator[Batch]:
        """Batches of every new file; `cursor` is unused, files are tracked by checksum.

        Files claimed by an earlier run that failed come first, then the files that are
        complete, each claimed (renamed into processing/) just before it is read.
        """
        self._done, self.held = [], []
        claimed = self._claimed() if self.archive else []
        for path in claimed + self._ready(self._files()):
            if self.archive and path.parent != self.folder / PROCESSING:
                path = self._claim(path)
                if path is None:
                    continue
            yield from self._read_until_unchanged(path)

    def finish(self, *, succeeded: bool) -> None:
        done, self._done = self._done, []
        if not (succeeded and self.archive):
            return
        for path, checksum in done:
            try:
                _archive(path, checksum, self.folder / ARCHIVE)
                marker = self._marker_of(self.folder / path.name)
                if marker is not None and marker.exists():
                    _archive(marker, checksum, self.folder / ARCHIVE)
            except OSError as error:
                # Harmless: the file is skipped by checksum and archived next run.
                logger.warning("could not archive %s: %s", path, error)

    def _files(self) -> list[Path]:
        """The drop folder's candidates, in name order (not yet checked for completeness)."""
        if not self.folder.is_dir():
            raise PermanentError(f"drop folder {self.folder} does not exist")
        return sorted(
            path
            for path in self.folder.glob(self.pattern)
            if path.is_file()
            and path.parent == self.folder
            and not path.name.endswith(WRITING_SUFFIXES)
            and not (self.ready_marker and path.name.endswith(self.ready_marker))
        )

    def _claimed(self) -> list[Path]:
        """Files an earlier run claimed and did not archive (it failed): read them first."""
        processing = self.folder / PROCESSING
        if not processing.is_dir():
            return []
        return sorted(p for p in processing.glob(self.pattern) if p.is_file())

    def _marker_of(self, path: Path) -> Path | None:
        return path.with_name(path.name + self.ready_marker) if self.ready_marker else None

    def _ready(self, paths: list[Path]) -> list[Path]:
        """The complete ones; a file still settling is waited for once, at most
        `settle_seconds`, then left for the next run (named in `held`)."""
        waiting = {path: self._not_ready(path) for path in paths}
        young = [path for path, why in waiting.items() if why == STILL_WRITTEN]
        if young:
            time.sleep(self.settle_seconds)
            waiting.update((path, self._not_ready(path)) for path in young)
        for path, why in waiting.items():
            if why:
                self.held.append(f"{path.name} ({why})")
                logger.info("drop file %s held: %s", path.name, why)
        return [path for path in paths if not waiting[path]]

    def _not_ready(self, path: Path) -> str:
        """Why `path` may not be taken yet, or "" when it is complete."""
        marker = self._marker_of(path)
        try:
            stamp = _stamp(path)
            if marker is not None:
                if not marker.exists():
                    return f"waiting for its marker {marker.name}"
            elif time.time() - stamp.mtime_ns / 1e9 < self.settle_seconds:
                return STILL_WRITTEN
            if not _ends_with_line_ending(path):
                return "its last line has no line ending yet"
        except FileNotFoundError:
            return "gone before it was taken"
        except OSError as error:
            raise TransientError(f"could not read {path.name}: {error}") from error
        return ""

    def _claim(self, path: Path) -> Path | None:
        """Rename `path` into processing/ (atomic: a file replaced under its name after
        this is a new file for the next run); None when it is gone already."""
        processing = self.folder / PROCESSING
        processing.mkdir(exist_ok=True)
        target = processing / path.name
        if target.exists():  # a file of that name is still claimed from a failed run
            target = processing / f"{path.stem}.{_stamp(path).inode}{path.suffix}"
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise TransientError(f"could not claim {path.name}: {error}") from error
        return target

    def _read_until_unchanged(self, path: Path) -> Iterator[Batch]:
        """Read `path` (unless its checksum landed before), again if it changed meanwhile;
        only once what was read is what the file holds does it count as done."""
        for _ in range(MAX_READS):
            try:
                before = _stamp(path)
            except OSError as error:
                raise TransientError(f"could not read {path.name}: {error}") from error
            kind = file_formats.sniff(path)
            if not _ends_with_line_ending(path):
                self.held.append(f"{path.name} (its last line has no line ending yet)")
                return
            checksum, is_utf8 = _scan(path)
            if not self.is_processed(checksum):
                # Returns once the engine asked for more after the file's last batch,
                # i.e. after that batch landed.
                if kind.workbook:
                    yield from self._read_workbook(path, checksum)
                else:
                    encoding = file_formats.text_encoding(kind, self.encoding, is_utf8, path.name)
                    yield from self._read(path, checksum, encoding)
            if _stamp(path) == before:
                self._done.append((path, checksum))
                return
            logger.warning("drop file %s changed while it was read: reading it again", path.name)
        raise TransientError(f"{path.name} kept changing while it was read")

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


STILL_WRITTEN = "still being written"


class Stamp(NamedTuple):
    """What tells a file's content changed without reading it."""

    inode: int
    size: int
    mtime_ns: int


def _stamp(path: Path) -> Stamp:
    stat = path.stat()
    return Stamp(stat.st_ino, stat.st_size, stat.st_mtime_ns)


# The end of a last line that is complete: in one-byte encodings and UTF-8, UTF-16 or UTF-32
# (big-endian ones end in the byte itself). Workbooks have no lines: their reader refuses a
# cut file (file_formats.py).
LINE_ENDINGS = (b"\n", b"\r", b"\n\x00", b"\r\x00", b"\n\x00\x00\x00", b"\r\x00\x00\x00")


def _ends_with_line_ending(path: Path) -> bool:
    """False when the last line of a text file has no line ending (a writer may be half-way
    through it). An empty file passes: it is refused as having no header, by name; so does
    what is not text (a workbook's reader refuses a cut file; anything else is named)."""
    if not file_formats.sniff(path).text:
        return True
    with path.open("rb") as file:
        size = file.seek(0, os.SEEK_END)
        if size == 0:
            return True
        file.seek(max(0, size - 4))
        return file.read(4).endswith(LINE_ENDINGS)


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
