"""The generated landing estate (portal/demo/landing_estate.py) read through real sources:
every number style, file type and API pagination lands every record exactly, and what
cannot be read says so. Runs on PostgreSQL (scripts/with-services.sh) and on SQLite."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from portal.demo import landing_estate as estate
from portal.records.models import Invoice
from portal.sync.choices import RunStatus
from portal.sync.models import SourceSystem
from portal.sync.tests.legacy import sync

COUNT = 347  # not a multiple of any page size


@pytest.fixture(scope="module")
def items() -> list[estate.Invoice]:
    return estate.invoices(COUNT)


def assert_landed_exactly(items: list[estate.Invoice]) -> None:
    landed = {
        number: (amount, due)
        for number, amount, due in Invoice.objects.filter(deleted_at__isnull=True).values_list(
            "number", "amount", "due_on"
        )
    }
    expected = {i.number: (i.amount, i.due_on) for i in items if not i.deleted}
    assert landed == expected


def api_source(api: estate.PagedApi, paging: str, **config) -> SourceSystem:
    return SourceSystem.objects.create(
        name=f"Billing API ({paging})",
        system="billing",
        department="billing",
        kind="http",
        entity="invoices",
        config={
            "url": api.url(paging),
            "cursor_field": "Updated",
            "backoff": 0.01,
            "null_values": estate.NULL_TOKENS,
            "fields": estate.fields(api.style),
            **estate.API_CONFIGS[paging],
            **config,
        },
    )


# --- APIs: every way of paging is read through --------------------------------------------


@pytest.mark.parametrize("pagination", estate.PAGINATIONS)
def test_an_api_is_read_through_whichever_way_it_pages(pagination, items, db):
    with estate.PagedApi(items) as api:
        run = sync(api_source(api, pagination))
    assert (run.status, run.error) == (RunStatus.SUCCEEDED, "")
    assert (run.read, run.created, run.quarantined) == (COUNT, COUNT, 0)
    # Offset and page numbers learn the end from an empty page or the total.
    pages = math.ceil(COUNT / 100)
    assert run.pages in (pages, pages + 1)
    assert_landed_exactly(items)


def test_a_cursor_token_at_a_dotted_path_is_sent_back_as_its_parameter(items, db):
    with estate.PagedApi(items) as api:
        sync(api_source(api, "cursor"))
        cursors = [path for path in api.requests if "cursor=" in path]
    assert len(cursors) == 3
    assert all("updated_since" not in path for path in cursors)  # a first run: no cursor
    assert "cursor=100" in cursors[0]


@pytest.mark.parametrize(
    ("pagination", "config", "said"),
    [
        # The two: a token looked up flat, a Link header not looked at.
        ("cursor", {"pagination": "next", "next_key": "meta_next"}, "\"meta.next_cursor\": '100'"),
        ("link_offset", {"pagination": "cursor"}, 'a Link header rel="next" to http'),
        ("page_has_more", {"pagination": "next"}, '"has_more": true'),
        ("offset_total", {"pagination": "next"}, "a total of 347"),
    ],
    ids=["cursor token not followed", "link", "has_more", "total"],
)
def test_a_page_that_says_more_exists_fails_the_run_naming_the_page_and_what_it_said(
    pagination, config, said, items, db
):
    with estate.PagedApi(items) as api:
        source = api_source(api, pagination)
        source.config |= config
        source.save()
        run = sync(source)
    assert run.status == RunStatus.FAILED
    assert "page 1 (" in run.error
    assert f"says more exists ({said}" in run.error
    assert Invoice.objects.count() == 0  # the page that said so did not land alone


def test_a_token_where_a_link_is_expected_is_named_with_the_setting_that_reads_it(items, db):
    with estate.PagedApi(items) as api:
        source = api_source(api, "cursor", pagination="next")
        run = sync(source)
    assert run.status == RunStatus.FAILED
    assert "'meta.next_cursor' holds '100', a token rather than a link" in run.error
    assert '"pagination": "cursor"' in run.error


# --- Deletion flags -----------------------------------------------------------------------


def flagged(items, numbers, *, deleted: bool, at: str | None = None):
    return [
        replace(i, deleted=deleted, updated_at=at or i.updated_at) if i.number in numbers else i
        for i in items
    ]


def test_records_flagged_deleted_are_hidden_at_once_and_restored_when_the_flag_clears(items, db):
    gone = {items[0].number, items[5].number, items[200].number}
    later = "2026-04-01T00:00:00Z"
    with estate.PagedApi(flagged(items, gone, deleted=True)) as api:
        source = api_source(api, "next_url", deleted_field="Deleted")
        run = sync(source)
        assert (run.status, run.read, run.deleted) == (RunStatus.SUCCEEDED, COUNT, 3)
        assert_landed_exactly(api.items)
        hidden = set(
            Invoice.objects.filter(deleted_at__isnull=False).values_list("number", flat=True)
        )
        assert hidden == gone

        # An incremental run: one comes back, another goes; the rest write nothing.
        back, newly = items[0].number, items[7].number
        api.items = flagged(flagged(api.items, {back}, deleted=False, at=later), {newly},
                            deleted=True, at=later)  # fmt: skip
        again = sync(source)
        assert again.cursor_from  # incremental
        assert (again.updated, again.deleted) == (2, 1)
        assert_landed_exactly(api.items)
        unchanged = sync(source)
        assert (unchanged.created, unchanged.updated, unchanged.deleted) == (0, 0, 0)


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"delete_flag": "Deleted"}, "'delete_flag': write 'deleted_field'"),
        ({"deleted_values": ["Y"]}, "'deleted_values' needs 'deleted_field'"),
        ({"deleted_field": "Deleted", "deleted_values": "Y"}, "must be a list of the values"),
        ({"lookback": 30}, "'lookback': write 'lookback_minutes'"),
        ({"lookback_minutes": -5}, "'lookback_minutes' must be a whole number"),
        ({"attention_percent": 120}, "'attention_percent' must be a number from 0 to 100"),
        ({"pagination": "cursors"}, "'pagination' must be one of next, cursor, offset, page"),
        ({"next_cursor": "meta.next"}, "'next_cursor': write 'next_key'"),
        ({"na_values": ["N/A"]}, "'na_values': write 'null_values'"),
    ],
)
def test_source_settings_an_operator_would_try_are_supported_or_named(config, problem):
    from portal.sync.config import config_problems

    base = {"url": "http://127.0.0.1:1/x", "fields": estate.fields()}
    problems = config_problems(kind="http", entity="invoices", config={**base, **config})
    assert any(problem in p for p in problems), problems


# --- Files: every number style, Excel's Unicode text, workbooks; what cannot be read ------


def drop_source(tmp_path, style: str = "us_thousands", **config) -> tuple:
    drop = tmp_path / "drop"
    drop.mkdir(exist_ok=True)
    source = SourceSystem.objects.create(
        name="Billing drop",
        system="billing",
        department="billing",
        kind="csv",
        entity="invoices",
        config={
            "path": str(drop),
            "pattern": "*",
            "null_values": estate.NULL_TOKENS,
            "fields": estate.fields(style),
            **config,
        },
    )
    return drop, source


@pytest.mark.parametrize("style", sorted(estate.STYLES))
def test_every_amount_style_of_a_csv_export_lands_exactly(style, items, tmp_path, db):
    drop, source = drop_source(tmp_path, style)
    estate.write_csv(drop / "invoices.csv", items, style)
    run = sync(source)
    assert (run.status, run.read, run.quarantined) == (RunStatus.SUCCEEDED, COUNT, 0)
    assert_landed_exactly(items)


def test_excel_unicode_text_is_read_by_its_byte_order_mark(items, tmp_path, db):
    drop, source = drop_source(tmp_path, "no_break_space_decimal_comma")
    estate.write_unicode_text(drop / "invoices.txt", items, "no_break_space_decimal_comma")
    run = sync(source)
    assert (run.status, run.read, run.quarantined) == (RunStatus.SUCCEEDED, COUNT, 0)
    assert_landed_exactly(items)


@pytest.mark.parametrize("encoding", ["utf-32", "utf-16-be"])
def test_utf32_and_big_endian_utf16_with_a_bom_are_read(encoding, items, tmp_path, db):
    drop, source = drop_source(tmp_path)
    text = "\ufeff" if encoding.endswith("be") else ""
    path = drop / "invoices.csv"
    estate.write_csv(path, items[:20], "us_thousands", encoding=encoding)
    if text:  # Python's utf-16-be writes no BOM: add one, as Windows does
        path.write_bytes(text.encode(encoding) + path.read_bytes())
    run = sync(source)
    assert (run.status, run.read, run.quarantined) == (RunStatus.SUCCEEDED, 20, 0)
    assert_landed_exactly(items[:20])


def test_an_excel_workbook_is_read_from_its_named_sheet_below_its_title(items, tmp_path, db):
    drop, source = drop_source(tmp_path, "accounting_parentheses", sheet="Invoices", header_row=3)
    estate.write_xlsx(drop / "invoices.xlsx", items, "accounting_parentheses", title_rows=2)
    run = sync(source)
    assert (run.status, run.read, run.quarantined) == (RunStatus.SUCCEEDED, COUNT, 0)
    assert_landed_exactly(items)


def test_a_workbook_without_the_sheet_asked_for_names_its_sheets(items, tmp_path, db):
    drop, source = drop_source(tmp_path, sheet="Rechnungen")
    estate.write_xlsx(drop / "invoices.xlsx", items[:5], "us_thousands")
    run = sync(source)
    assert run.status == RunStatus.FAILED
    assert "invoices.xlsx has no sheet 'Rechnungen'; its sheets: Cover, Invoices" in run.error


def pdf(path):
    path.write_bytes(b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n")


def zip_archive(path):
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("invoices.csv", "a,b\n1,2\n")


def old_excel(path):
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)


@pytest.mark.parametrize(
    ("name", "write", "named"),
    [
        ("invoices.pdf", pdf, "invoices.pdf is a PDF"),
        ("invoices.zip", zip_archive, "invoices.zip is a ZIP archive"),
        ("invoices.xls", old_excel, "invoices.xls is an old-style Excel workbook (.xls)"),
        ("invoices.csv", zip_archive, "invoices.csv is a ZIP archive"),  # the bytes decide
    ],
)
def test_a_file_the_source_cannot_read_is_named_for_what_it_is(name, write, named, tmp_path, db):
    drop, source = drop_source(tmp_path)
    write(drop / name)
    run = sync(source)
    source.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert named in source.paused_reason
    assert "could not be decoded" not in run.error
    assert "fields, the header" not in run.error


def test_a_bom_that_contradicts_the_configured_encoding_is_named(items, tmp_path, db):
    drop, source = drop_source(tmp_path, encoding="cp1252")
    estate.write_unicode_text(drop / "invoices.txt", items[:3], "us_thousands")
    run = sync(source)
    assert "invoices.txt is UTF-16 text (it starts with a byte-order mark)" in run.error


def test_a_customer_whose_every_record_is_quarantined_still_reaches_the_review_queue(
    items, tmp_path, db
):
    from portal.sync.models import CustomerIdentity

    # Parentheses for negatives, read without `negative_parentheses`: credit notes fail.
    drop, source = drop_source(tmp_path, "us_thousands")
    estate.write_csv(drop / "invoices.csv", items, "accounting_parentheses")
    landed = {i.customer for i in items if i.amount >= 0}
    only_quarantined = {i.customer for i in items} - landed
    assert only_quarantined  # the estate has customers with only credit notes in it

    run = sync(source)

    assert run.quarantined == sum(1 for i in items if i.amount < 0)
    waiting = set(
        CustomerIdentity.objects.filter(system="billing").values_list("external_id", flat=True)
    )
    assert waiting == landed | only_quarantined
