"""The workbook reader (portal/sync/connectors/file_formats.py) on workbooks as Excel
writes them: text in the shared-strings table, rows with gaps, dates and numbers."""

from __future__ import annotations

import re
import zipfile
from datetime import datetime

import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.sync.base import ShapeError
from portal.sync.connectors import file_formats

# XML 1.0 cannot carry control characters (Excel escapes them as _xHHHH_, which openpyxl
# does not undo): texts without them, and without a literal escape.
TEXTS = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(
    lambda text: not re.search(r"_x[0-9A-Fa-f]{4}_", text)
)


def write(path, rows, *, header=("Name", "Amount", "When")):
    """A workbook written as Excel writes one: text in the shared-strings table."""
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("Data")
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for number, row in enumerate([header, *rows]):
        for column, value in enumerate(row):
            if isinstance(value, str):
                sheet.write_string(number, column, value)
            elif isinstance(value, datetime):
                sheet.write_datetime(number, column, value, stamp)
            elif value is not None:
                sheet.write_number(number, column, value)
    book.close()
    with zipfile.ZipFile(path) as archive:
        assert "xl/sharedStrings.xml" in archive.namelist()
    return path


def read(path, **options):
    rows = file_formats.workbook_rows(path, sheet=options.pop("sheet", None), header_row=1)
    return next(rows), list(rows)


@settings(max_examples=25, deadline=None)
@given(names=st.lists(TEXTS, min_size=1, max_size=60))
def test_shared_strings_read_back_whether_kept_in_memory_or_spilled(names, tmp_path_factory):
    path = write(
        tmp_path_factory.mktemp("xlsx") / "book.xlsx",
        [(name, n, datetime(2026, 1, 1 + n % 28)) for n, name in enumerate(names)],
    )
    expected = [
        {"Name": name, "Amount": n, "When": datetime(2026, 1, 1 + n % 28)}
        for n, name in enumerate(names)
    ]
    for in_memory in (file_formats.SharedStrings.IN_MEMORY, 3):
        file_formats.SharedStrings.IN_MEMORY = in_memory
        try:
            assert read(path) == (["Name", "Amount", "When"], expected)
        finally:
            file_formats.SharedStrings.IN_MEMORY = 20_000


def test_a_row_with_gaps_keeps_its_columns_and_a_stray_value_is_named(tmp_path):
    path = write(tmp_path / "gaps.xlsx", [("Acme", None, None), (None, 5, None)])
    assert read(path)[1] == [
        {"Name": "Acme", "Amount": "", "When": ""},
        {"Name": "", "Amount": 5, "When": ""},
    ]
    path = write(tmp_path / "stray.xlsx", [("Acme", 1, None, "a note")])
    with pytest.raises(ShapeError, match=r"stray.xlsx, row 2: a value beyond the header's 3"):
        read(path)


def test_spilled_strings_refuse_an_index_past_the_table(tmp_path):
    strings = file_formats.SharedStrings()
    strings.IN_MEMORY = 2
    for text in "abc":
        strings._append(text)
    strings._flush()
    try:
        assert [strings[n] for n in range(3)] == ["a", "b", "c"]
        with pytest.raises(IndexError):
            strings[3]
    finally:
        strings.close()
