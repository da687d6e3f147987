"""Connectors against real sources: SQLite files, a PostgreSQL table, CSV folders, a local HTTP API.

None of these tests use Django's database; the PostgreSQL one talks to
DATABASE_URL directly with psycopg.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy

from portal.sync.base import Batch, Connector, PermanentError, ShapeError, TransientError
from portal.sync.connectors import build_connector
from portal.sync.connectors.csv_drop import CsvDropConnector
from portal.sync.connectors.http_api import HttpApiConnector
from portal.sync.connectors.sql import SqlConnector, cursor_text
from portal.sync.tests.http_server import ApiServer, Reply

STARTED = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def collect(connector: Connector, cursor: str | None = None) -> list[Batch]:
    return list(connector.fetch(cursor, started_at=STARTED))


def ids(batches: list[Batch]) -> list[Any]:
    return [record["id"] for batch in batches for record in batch.records]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# build_connector


@pytest.mark.parametrize(
    ("kind", "config", "cls"),
    [
        (
            "sql",
            {"dsn_env": "X", "table": "t", "cursor_column": "u", "key_column": "id"},
            SqlConnector,
        ),
        ("csv", {"path": "/srv/drop"}, CsvDropConnector),
        ("http", {"url": "http://127.0.0.1/", "token_env": "X"}, HttpApiConnector),
    ],
)
def test_build_connector_picks_the_connector_for_the_kind(kind, config, cls):
    assert isinstance(build_connector(kind, config, is_processed=lambda checksum: False), cls)


def test_build_connector_refuses_an_unknown_kind():
    with pytest.raises(PermanentError, match="unknown connector kind 'ftp'"):
        build_connector("ftp", {})


def test_build_connector_reports_a_missing_config_key():
    with pytest.raises(PermanentError, match="'table' is required"):
        build_connector("sql", {"dsn_env": "X"})


# SQL on SQLite

ROWS = [(i, f"SO-{i}", f"2024-05-0{i}T10:00:00+00:00") for i in range(1, 6)]


@pytest.fixture
def sqlite_db(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "orders.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, number TEXT, updated_at TEXT)")
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?)", ROWS)
    conn.close()
    monkeypatch.setenv("ORDER_ENTRY_DSN", f"sqlite:///{path}")
    return path


def sql_connector(**config: Any) -> SqlConnector:
    defaults = {
        "dsn_env": "ORDER_ENTRY_DSN",
        "table": "orders",
        "cursor_column": "updated_at",
        "key_column": "id",
    }
    return SqlConnector({**defaults, **config})


def test_sqlite_full_read_comes_in_batches_of_batch_size(sqlite_db):
    batches = collect(sql_connector(batch_size=2))

    assert [len(batch.records) for batch in batches] == [2, 2, 1]
    assert batches[0].records[0] == {"id": 1, "number": "SO-1", "updated_at": ROWS[0][2]}
    assert {tuple(batch.columns) for batch in batches} == {("id", "number", "updated_at")}
    assert {batch.label for batch in batches} == {"orders"}
    assert [batch.cursor for batch in batches] == [ROWS[1][2], ROWS[3][2], ROWS[4][2]]


def test_sqlite_incremental_read_includes_rows_exactly_at_the_cursor(sqlite_db):
    batches = collect(sql_connector(), cursor=ROWS[2][2])

    assert ids(batches) == [3, 4, 5]


def test_sqlite_reads_only_the_listed_columns_plus_the_cursor_column(sqlite_db):
    batches = collect(sql_connector(columns=["id"]))

    assert batches[0].columns == ["id", "updated_at"]
    assert batches[0].records[0] == {"id": 1, "updated_at": ROWS[0][2]}


@pytest.mark.parametrize(
    ("future", "expected"),
    [
        ("2024-06-02T08:00:00+00:00", "2024-06-01T12:00:00+00:00"),
        ("2024-06-02T08:00:00Z", "2024-06-01T12:00:00Z"),
        ("2024-06-02 08:00:00", "2024-06-01 12:00:00"),
        ("2024-06-02 08:00:00.250", "2024-06-01 12:00:00.000000"),
    ],
)
def test_sqlite_cursor_never_passes_started_at(sqlite_db, future, expected):
    with sqlite3.connect(sqlite_db) as conn:
        conn.execute("INSERT INTO orders VALUES (6, 'SO-6', ?)", [future])
    conn.close()

    batches = collect(sql_connector(batch_size=5))

    assert ids(batches) == [1, 2, 3, 4, 5, 6]  # the row is read, the cursor stays behind
    assert [batch.cursor for batch in batches] == [ROWS[4][2], expected]


def test_sqlite_missing_table_is_a_shape_error(sqlite_db):
    with pytest.raises(ShapeError, match="table invoices not found"):
        collect(sql_connector(table="invoices"))


def test_sqlite_missing_column_is_a_shape_error(sqlite_db):
    with pytest.raises(ShapeError, match="orders: no such column: changed_at"):
        collect(sql_connector(cursor_column="changed_at"))


def test_sqlite_identifiers_are_quoted_names_never_sql(sqlite_db):
    with pytest.raises(ShapeError, match="not found"):
        collect(sql_connector(table='orders"; DROP TABLE orders; --'))
    assert ids(collect(sql_connector())) == [1, 2, 3, 4, 5]


def test_sql_missing_env_var_is_a_permanent_error(monkeypatch):
    monkeypatch.delenv("ORDER_ENTRY_DSN", raising=False)

    with pytest.raises(PermanentError, match="environment variable ORDER_ENTRY_DSN is not set"):
        collect(sql_connector())


def test_sql_unreachable_postgres_is_a_transient_error(monkeypatch):
    monkeypatch.setenv("ORDER_ENTRY_DSN", f"postgresql://sync@127.0.0.1:{closed_port()}/erp")

    with pytest.raises(TransientError, match="PostgreSQL"):
        collect(sql_connector())


@pytest.mark.parametrize(
    ("highest", "expected"),
    [
        (datetime(2024, 5, 1, 9, 30, tzinfo=UTC), "2024-05-01T09:30:00+00:00"),
        (datetime(2024, 7, 1, tzinfo=UTC), "2024-06-01T12:00:00+00:00"),
        (datetime(2024, 6, 1, 13, 0), "2024-06-01T12:00:00"),  # naive: taken as UTC
        (datetime(2024, 5, 1, 9, 30), "2024-05-01T09:30:00"),
        (date(2024, 7, 1), "2024-06-01"),
        (42, "42"),  # not a time: used as it is
        ("v-17", "v-17"),
        (None, None),
    ],
)
def test_sql_cursor_is_the_highest_value_but_never_past_started_at(highest, expected):
    assert cursor_text(highest, STARTED) == expected


# SQL on PostgreSQL


@pytest.fixture
def pg_table(monkeypatch) -> Iterator[str]:
    """A scratch `orders` table in a schema of its own, dropped afterwards."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        pytest.skip("needs DATABASE_URL (set by scripts/with-services.sh, i.e. `make test`)")
    schema = f"sync_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(
            f"CREATE TABLE {schema}.orders "
            "(id int PRIMARY KEY, number text, updated_at timestamptz NOT NULL)"
        )
        for i in range(1, 6):
            conn.execute(
                f"INSERT INTO {schema}.orders VALUES (%s, %s, %s)",  # noqa: S608
                [i, f"SO-{i}", datetime(2024, 5, i, 10, tzinfo=UTC)],
            )
        # Changed after the run started: read, but the cursor must not pass started_at.
        conn.execute(
            f"INSERT INTO {schema}.orders VALUES (6, 'SO-6', '2024-06-02T08:00:00Z')"  # noqa: S608
        )
    monkeypatch.setenv("ORDER_ENTRY_DSN", url)
    try:
        yield f"{schema}.orders"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def fetching_sessions() -> list[str]:
    """Queries of the connector's sessions that are reading a server-side cursor."""
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        rows = conn.execute(
            "SELECT query FROM pg_stat_activity "
            "WHERE application_name = 'portal-sync' AND query LIKE 'FETCH %%'"
        ).fetchall()
    return [row[0] for row in rows]


def test_postgres_reads_incrementally_through_a_server_side_cursor(pg_table):
    fetch = sql_connector(table=pg_table, batch_size=2).fetch(None, started_at=STARTED)

    first = next(fetch)
    # Paused after one batch, the connector's session sits on a FETCH: rows stream
    # (SQLAlchemy's buffer starts with a row or a few, then fetches a batch at a time).
    assert any(query.startswith("FETCH FORWARD") for query in fetching_sessions())
    batches = [first, *fetch]

    assert ids(batches) == [1, 2, 3, 4, 5, 6]
    assert batches[0].records[0]["updated_at"] == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert batches[0].columns == ["id", "number", "updated_at"]
    assert [batch.cursor for batch in batches] == [
        "2024-05-02T10:00:00+00:00",
        "2024-05-04T10:00:00+00:00",
        STARTED.isoformat(),  # row 6 is newer than started_at
    ]

    again = collect(sql_connector(table=pg_table), cursor=batches[1].cursor)
    assert ids(again) == [4, 5, 6]  # inclusive: row 4 sits exactly at the cursor


def test_postgres_missing_column_is_a_shape_error(pg_table):
    with pytest.raises(ShapeError, match="no such column: changed_at"):
        collect(sql_connector(table=pg_table, cursor_column="changed_at"))


def test_postgres_missing_table_is_a_shape_error(pg_table):
    with pytest.raises(ShapeError, match=r"table public\.nope not found"):
        collect(sql_connector(table="public.nope"))


# SQL on MariaDB (MySQL's protocol), started by scripts/with-services.sh


@pytest.fixture
def maria_table(monkeypatch) -> Iterator[str]:
    """A scratch `orders` table with naive DATETIME stamps (MySQL has no zone), dropped after."""
    url = os.environ.get("TEST_MARIADB_URL")
    if not url:
        pytest.skip("needs TEST_MARIADB_URL (set by scripts/with-services.sh, i.e. `make test`)")
    engine = sqlalchemy.create_engine(url.replace("mysql://", "mysql+pymysql://", 1))
    name = f"orders_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TABLE `{name}` (id INT PRIMARY KEY, number VARCHAR(20), "
            "`updated at` DATETIME(6) NOT NULL)"
        )
        for i in range(1, 6):
            conn.exec_driver_sql(
                f"INSERT INTO `{name}` VALUES (%s, %s, %s)",  # noqa: S608
                (i, f"SO-{i}", datetime(2024, 5, i, 10)),
            )
        conn.exec_driver_sql(f"INSERT INTO `{name}` VALUES (6, 'SO-6', '2024-06-02 08:00:00')")  # noqa: S608
    monkeypatch.setenv("ORDER_ENTRY_DSN", url)
    try:
        yield name
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE `{name}`")
        engine.dispose()


def test_mariadb_reads_incrementally_in_batches_with_a_typed_cursor(maria_table):
    connector = sql_connector(table=maria_table, cursor_column="updated at", batch_size=2)
    batches = collect(connector)

    assert ids(batches) == [1, 2, 3, 4, 5, 6]
    assert [len(batch.records) for batch in batches] == [2, 2, 2]
    assert batches[0].records[0] == {"id": 1, "number": "SO-1",
                                     "updated at": datetime(2024, 5, 1, 10)}  # fmt: skip
    assert [batch.cursor for batch in batches] == [
        "2024-05-02T10:00:00",
        "2024-05-04T10:00:00",
        "2024-06-01T12:00:00",  # row 6 is newer than started_at: naive UTC, as the column
    ]
    again = collect(connector, cursor="2024-05-04T10:00:00+00:00")
    assert ids(again) == [4, 5, 6]  # inclusive, an aware cursor read as UTC


def test_mariadb_missing_column_and_table_are_shape_errors(maria_table):
    with pytest.raises(ShapeError, match="no such column: changed_at"):
        collect(sql_connector(table=maria_table, cursor_column="changed_at"))
    with pytest.raises(ShapeError, match="table nope not found"):
        collect(sql_connector(table="nope", cursor_column="updated at"))


def test_mariadb_refused_password_is_permanent_and_unreachable_is_transient(
    maria_table, monkeypatch
):
    url = os.environ["TEST_MARIADB_URL"]
    monkeypatch.setenv("ORDER_ENTRY_DSN", url.replace("sync-secret", "wrong"))
    with pytest.raises(PermanentError, match="credentials refused: MySQL/MariaDB") as caught:
        collect(sql_connector(table=maria_table))
    assert "sync-secret" not in str(caught.value)
    monkeypatch.setenv("ORDER_ENTRY_DSN", f"mysql://sync:x@127.0.0.1:{closed_port()}/erp")
    with pytest.raises(TransientError, match="MySQL/MariaDB"):
        collect(sql_connector(table=maria_table))


# CSV drop folder


@pytest.fixture
def drop(tmp_path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder


def csv_connector(folder: Path, processed: frozenset[str] = frozenset(), **config: Any):
    return CsvDropConnector({"path": str(folder), **config}, processed.__contains__)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_csv_utf8_with_bom_and_commas(drop):
    (drop / "orders.csv").write_bytes(b'\xef\xbb\xbfid, name \r\n1,Ann\r\n2,"Bo, Jr."\r\n')

    [batch] = collect(csv_connector(drop))

    assert batch.columns == ["id", "name"]
    assert batch.records == [{"id": "1", "name": "Ann"}, {"id": "2", "name": "Bo, Jr."}]
    assert batch.label == "orders.csv"
    assert batch.cursor is None


def test_csv_windows_1252_with_semicolons_is_decoded(drop):
    text = "id;name;city;price\n1;Müller;Köln;5 €\n2;Café Olé;Zürich;3,50 €\n"
    (drop / "export.csv").write_bytes(text.encode("cp1252"))

    [batch] = collect(csv_connector(drop))

    assert batch.records == [
        {"id": "1", "name": "Müller", "city": "Köln", "price": "5 €"},
        {"id": "2", "name": "Café Olé", "city": "Zürich", "price": "3,50 €"},
    ]


def test_csv_explicit_tab_delimiter(drop):
    (drop / "lines.tsv").write_text("id\tqty\n1\t1,5\n", encoding="utf-8")

    [batch] = collect(csv_connector(drop, pattern="*.tsv", delimiter="\t", encoding="utf-8"))

    assert batch.records == [{"id": "1", "qty": "1,5"}]


def test_csv_files_come_in_name_order_and_batches(drop):
    (drop / "b.csv").write_text("id\n1\n2\n3\n")
    (drop / "a.csv").write_text("id\n9\n")

    batches = collect(csv_connector(drop, batch_size=2))

    assert [(batch.label, ids([batch])) for batch in batches] == [
        ("a.csv", ["9"]),
        ("b.csv", ["1", "2"]),
        ("b.csv", ["3"]),
    ]


def test_csv_last_batch_of_each_file_carries_completed_file_and_snapshot_flag(drop):
    path = drop / "accounts.csv"
    path.write_text("id,name\n1,a\n2,b\n3,c\n4,d\n")  # exactly two full batches
    checksum = sha256(path)

    batches = collect(csv_connector(drop, batch_size=2, snapshot=True))

    assert [len(batch.records) for batch in batches] == [2, 2]
    assert [batch.completed_file for batch in batches] == [None, checksum]
    assert [batch.snapshot_complete for batch in batches] == [False, True]


def test_csv_header_only_file_yields_one_empty_completed_batch(drop):
    path = drop / "empty.csv"
    path.write_text("id,name\n")
    checksum = sha256(path)

    [batch] = collect(csv_connector(drop))

    assert batch.records == []
    assert batch.columns == ["id", "name"]
    assert batch.completed_file == checksum
    assert batch.snapshot_complete is False


def test_csv_short_rows_get_empty_trailing_values_and_blank_lines_are_skipped(drop):
    (drop / "short.csv").write_text("id,name,city\n1,a\n\n2,b,c\n")

    [batch] = collect(csv_connector(drop))

    assert batch.records == [
        {"id": "1", "name": "a", "city": ""},
        {"id": "2", "name": "b", "city": "c"},
    ]


def test_csv_already_processed_checksum_is_skipped_and_archived(drop):
    old = drop / "old.csv"
    old.write_text("id\n1\n")
    (drop / "new.csv").write_text("id\n2\n")
    connector = csv_connector(drop, processed=frozenset({sha256(old)}))

    batches = collect(connector)
    connector.finish(succeeded=True)

    assert [batch.label for batch in batches] == ["new.csv"]
    assert sorted(path.name for path in (drop / "archive").iterdir()) == ["new.csv", "old.csv"]
    assert not list(drop.glob("*.csv"))


def test_csv_files_are_archived_after_success_and_not_after_failure(drop):
    (drop / "orders.csv").write_text("id\n1\n")

    failed = csv_connector(drop)
    collect(failed)
    failed.finish(succeeded=False)
    # Claimed, not archived: the next run reads it first.
    assert (drop / "processing" / "orders.csv").exists()
    assert not (drop / "archive").exists()

    succeeded = csv_connector(drop)
    assert len(collect(succeeded)) == 1  # read again: the failed run landed nothing
    succeeded.finish(succeeded=True)
    assert not (drop / "orders.csv").exists()
    assert (drop / "archive" / "orders.csv").read_text() == "id\n1\n"

    assert collect(csv_connector(drop)) == []  # archived files are not read


def test_csv_archive_keeps_an_earlier_file_of_the_same_name(drop):
    (drop / "archive").mkdir()
    (drop / "archive" / "orders.csv").write_text("id\n1\n")
    path = drop / "orders.csv"
    path.write_text("id\n2\n")
    checksum = sha256(path)
    connector = csv_connector(drop)

    collect(connector)
    connector.finish(succeeded=True)

    assert (drop / "archive" / "orders.csv").read_text() == "id\n1\n"
    assert (drop / "archive" / f"orders.{checksum[:12]}.csv").read_text() == "id\n2\n"


def test_csv_archive_off_leaves_files_in_place(drop):
    (drop / "orders.csv").write_text("id\n1\n")
    connector = csv_connector(drop, archive=False)

    collect(connector)
    connector.finish(succeeded=True)

    assert (drop / "orders.csv").exists()


def test_csv_file_only_partly_read_is_not_archived(drop):
    (drop / "orders.csv").write_text("id\n1\n2\n3\n")
    connector = csv_connector(drop, batch_size=2)

    next(connector.fetch(None, started_at=STARTED))  # the engine stopped after one batch
    connector.finish(succeeded=True)

    assert (drop / "processing" / "orders.csv").exists()  # claimed, not archived


def test_csv_undecodable_bytes_are_a_shape_error(drop):
    # 0x81 and 0x8d are neither UTF-8 here nor defined in Windows-1252.
    (drop / "garbage.csv").write_bytes(b"id,name\n1,\x81\x8d\xff\n")

    with pytest.raises(ShapeError, match=r"garbage\.csv could not be decoded as cp1252"):
        collect(csv_connector(drop))


def test_csv_undecodable_bytes_with_an_explicit_encoding_are_a_shape_error(drop):
    (drop / "latin.csv").write_bytes("id,name\n1,Müller\n".encode("cp1252"))

    with pytest.raises(ShapeError, match=r"latin\.csv could not be decoded as utf-8"):
        collect(csv_connector(drop, encoding="utf-8"))


def test_csv_row_with_more_fields_than_the_header_is_a_shape_error(drop):
    (drop / "ragged.csv").write_text("id,name\n1,a\n2,b,extra\n")

    with pytest.raises(ShapeError, match=r"ragged\.csv, line 3: 3 fields, the header has 2"):
        collect(csv_connector(drop))


def test_csv_broken_quoting_is_a_shape_error(drop):
    (drop / "quotes.csv").write_text('id,name\n1,"unterminated\n')

    with pytest.raises(ShapeError, match=r"quotes\.csv, line \d+: unexpected end of data"):
        collect(csv_connector(drop))


@pytest.mark.parametrize(
    ("content", "problem"),
    [("", "is empty: no header row"), ("id,name,id\n1,a,2\n", "empty or repeated column name")],
)
def test_csv_file_without_a_usable_header_is_a_shape_error(drop, content, problem):
    (drop / "bad.csv").write_text(content)

    with pytest.raises(ShapeError, match=problem):
        collect(csv_connector(drop))


def test_csv_missing_folder_is_a_permanent_error(tmp_path):
    with pytest.raises(PermanentError, match=r"drop folder .* does not exist"):
        collect(csv_connector(tmp_path / "nowhere"))


# HTTP JSON API

TOKEN = "s3cret-token"


@pytest.fixture
def api(monkeypatch) -> Iterator[ApiServer]:
    monkeypatch.setenv("HELPDESK_TOKEN", TOKEN)
    with ApiServer(token=TOKEN) as server:
        yield server


def http_connector(api: ApiServer, **config: Any) -> HttpApiConnector:
    defaults = {"url": api.url("/tickets"), "token_env": "HELPDESK_TOKEN", "backoff": 0.01}
    return HttpApiConnector({**defaults, **config})


PATHS = ["/tickets", "/tickets/page2", "/tickets/page3"]


def page(api: ApiServer, number: int, *, last: bool = False) -> dict[str, Any]:
    """Page `number` (1-3): two tickets updated on days 2n-1 and 2n of May."""
    records = [
        {"id": day, "subject": f"Ticket {day}", "updated_at": f"2024-05-{day:02}T10:00:00Z"}
        for day in (2 * number - 1, 2 * number)
    ]
    following = None if last or number == 3 else api.url(PATHS[number])
    return {"results": records, "next": following}


def serve_pages(api: ApiServer) -> None:
    for number, path in enumerate(PATHS, start=1):
        api.route(path, (200, page(api, number)))


def test_http_follows_next_links_with_the_bearer_token(api):
    serve_pages(api)

    batches = collect(http_connector(api))

    assert ids(batches) == [1, 2, 3, 4, 5, 6]
    assert [batch.label for batch in batches] == [api.url(path) for path in PATHS]
    assert [batch.cursor for batch in batches] == [
        "2024-05-02T10:00:00+00:00",
        "2024-05-04T10:00:00+00:00",
        "2024-05-06T10:00:00+00:00",
    ]
    assert batches[0].columns == ["id", "subject", "updated_at"]
    assert {request.authorization for request in api.requests} == {f"Bearer {TOKEN}"}


def test_http_next_links_keep_their_query_string(api):
    # Page-number pagination on one path: the query string is all that tells pages apart.
    api.route(
        "/tickets",
        (200, {"results": [{"id": 1, "updated_at": "2024-05-01T10:00:00Z"}],
               "next": api.url("/tickets") + "?page=2"}),
        (200, {"results": [{"id": 2, "updated_at": "2024-05-02T10:00:00Z"}], "next": None}),
    )  # fmt: skip

    batches = collect(http_connector(api))

    assert ids(batches) == [1, 2]
    assert [request.query for request in api.requests] == [{}, {"page": ["2"]}]


def test_http_wrong_token_is_refused_permanently(api, monkeypatch):
    serve_pages(api)
    monkeypatch.setenv("HELPDESK_TOKEN", "wrong")

    with pytest.raises(PermanentError, match="credentials refused"):
        collect(http_connector(api))


def test_http_missing_token_env_var_is_a_permanent_error(api, monkeypatch):
    monkeypatch.delenv("HELPDESK_TOKEN")

    with pytest.raises(PermanentError, match="environment variable HELPDESK_TOKEN is not set"):
        collect(http_connector(api))


def test_http_an_open_api_is_read_without_a_token():
    with ApiServer(token=None) as open_api:
        serve_pages(open_api)
        connector = HttpApiConnector({"url": open_api.url("/tickets"), "backoff": 0.01})
        batches = collect(connector)
    assert ids(batches) == [1, 2, 3, 4, 5, 6]
    assert {request.authorization for request in open_api.requests} == {None}


def test_http_cursor_is_sent_as_updated_since(api):
    api.route("/tickets", (200, page(api, 1, last=True)))

    collect(http_connector(api), cursor="2024-05-01T00:00:00+00:00")

    assert api.requests[0].query == {"updated_since": ["2024-05-01T00:00:00+00:00"]}


def test_http_no_cursor_sends_no_since_parameter(api):
    api.route("/tickets", (200, page(api, 1, last=True)))

    collect(http_connector(api))

    assert api.requests[0].query == {}


def test_http_cursor_never_passes_started_at(api):
    future = {"id": 9, "updated_at": "2024-06-02T08:00:00"}  # naive: taken as UTC
    api.route("/tickets", (200, {"results": [future], "next": None}))

    [batch] = collect(http_connector(api))

    assert batch.cursor == STARTED.isoformat()


def test_http_page_failing_with_503_twice_is_retried_and_the_run_completes(api):
    serve_pages(api)
    api.route(PATHS[1], (503, "busy"), (503, "busy"), (200, page(api, 2)))

    batches = collect(http_connector(api))

    assert ids(batches) == [1, 2, 3, 4, 5, 6]
    assert api.hits(PATHS[1]) == 3


def test_http_page_that_keeps_failing_raises_transient_after_the_earlier_pages(api):
    serve_pages(api)
    api.route(PATHS[2], (503, "down"))
    fetch = http_connector(api, max_retries=2).fetch(None, started_at=STARTED)
    landed = [next(fetch), next(fetch)]  # what the engine stores before the failure

    with pytest.raises(
        TransientError, match=r"/tickets/page3 failed after 3 tries, last: HTTP 503"
    ):
        next(fetch)

    assert [batch.cursor for batch in landed] == [
        "2024-05-02T10:00:00+00:00",
        "2024-05-04T10:00:00+00:00",
    ]
    assert api.hits(PATHS[2]) == 3


def test_http_429_is_retried(api):
    api.route("/tickets", (429, {"detail": "slow down"}), (200, page(api, 1, last=True)))

    assert ids(collect(http_connector(api))) == [1, 2]


def test_http_read_timeout_is_retried_then_transient(api):
    api.route("/tickets", Reply(200, page(api, 1, last=True), delay=0.5))

    with pytest.raises(TransientError, match="failed after 2 tries, last: ReadTimeout"):
        collect(http_connector(api, timeout=0.1, max_retries=1))


def test_http_unreachable_server_is_transient(api):
    url = f"http://127.0.0.1:{closed_port()}/tickets"

    with pytest.raises(TransientError, match="failed after 2 tries, last: ConnectError"):
        collect(http_connector(api, url=url, max_retries=1))


def test_http_other_4xx_is_permanent(api):
    with pytest.raises(PermanentError, match="HTTP 404"):
        collect(http_connector(api, url=api.url("/nowhere")))
    assert api.hits("/nowhere") == 1  # not retried


def test_http_non_json_body_is_a_shape_error(api):
    api.route("/tickets", (200, "<html>Maintenance</html>"))

    with pytest.raises(ShapeError, match="not JSON"):
        collect(http_connector(api))


def test_http_body_without_the_results_key_is_a_shape_error(api):
    api.route("/tickets", (200, {"items": [], "next": None}))

    with pytest.raises(ShapeError, match="no 'results' list"):
        collect(http_connector(api))


def test_http_next_link_to_another_host_is_refused(api):
    api.route("/tickets", (200, {"results": [], "next": "http://evil.example/steal"}))

    with pytest.raises(PermanentError, match="refusing to follow"):
        collect(http_connector(api))


def test_http_a_total_above_what_was_read_fails_unless_the_total_key_is_turned_off(api):
    body = {"results": [{"id": 1, "updated_at": "2024-05-01T10:00:00Z"}], "next": None}
    api.route("/tickets", (200, {**body, "count": 5}))  # e.g. counting archived ones too

    with pytest.raises(PermanentError, match=r"page 1 \(.*\) says more exists \(a total of 5\)"):
        collect(http_connector(api))
    assert ids(collect(http_connector(api, total_key=False))) == [1]
