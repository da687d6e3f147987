"""Read one table of a SQL database incrementally: PostgreSQL (psycopg 3) or SQLite.

Configuration keys:

- ``dsn_env`` (required): name of the environment variable holding the DSN, read
  when a run starts. ``postgresql://...`` (or ``postgres://...``) connects with
  psycopg 3; ``sqlite:///abs/path.db`` opens that file read-only with sqlite3.
- ``table`` (required): the table (or view) to read, optionally schema-qualified
  (``erp.orders``). Identifiers are quoted, so they are case-sensitive.
- ``cursor_column`` (required): a column that grows whenever a row changes,
  e.g. ``updated_at``. It is always read, even if ``columns`` leaves it out.
- ``key_column`` (required): a unique column ordering rows that share a cursor
  value, e.g. ``id``, so batches come in a stable order.
- ``columns``: list of the columns to read (default: all of them).
- ``batch_size``: rows per batch (default 5000).
- ``query_timeout``: seconds one statement, i.e. each FETCH of a batch, may take
  on PostgreSQL (default 300). Connecting times out after 10 s on both.

The query is ``SELECT cols FROM table WHERE cursor_column >= :cursor ORDER BY
cursor_column, key_column`` (no WHERE when there is no cursor yet). PostgreSQL
rows stream through a server-side cursor in a read-only transaction; SQLite rows
through ``fetchmany``. Either way one batch is in memory at a time.

Each batch's cursor is min(highest cursor value read so far, started_at) as text:

- datetime values compare as datetimes (naive ones taken as UTC, as naive
  ``started_at`` is) and are written with ``isoformat()``; when ``started_at``
  wins it is written in UTC, naive if the column is naive;
- date values compare with the UTC date of ``started_at``;
- strings that parse as ISO 8601 (SQLite has no datetime type, so timestamps are
  text there) compare as datetimes too, and when ``started_at`` wins it is written
  in the column's own format (separator, fraction, ``Z``/offset/naive) so the next
  run's string comparison ``cursor_column >= cursor`` stays right. This assumes
  the column holds UTC (or naive) timestamps in one format;
- anything else (integers, version strings) is used as it is, unclamped.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors, sql

from portal.sync.base import Batch, PermanentError, ShapeError, TransientError
from portal.sync.connectors import batch_size_of, required, secret_from_env

CONNECT_TIMEOUT = 10
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SqlConnector:
    def __init__(self, config: Mapping[str, Any]) -> None:
        self.dsn_env: str = required(config, "dsn_env")
        self.table: str = required(config, "table")
        self.cursor_column: str = required(config, "cursor_column")
        self.key_column: str = required(config, "key_column")
        self.columns: list[str] | None = config.get("columns") or None
        if self.columns is not None and self.cursor_column not in self.columns:
            self.columns = [*self.columns, self.cursor_column]
        self.batch_size = batch_size_of(config)
        self.query_timeout = float(config.get("query_timeout", 300))

    def fetch(self, cursor: str | None, *, started_at: datetime) -> Iterator[Batch]:
        dsn = secret_from_env(self.dsn_env)
        if dsn.startswith(("postgresql://", "postgres://")):
            yield from self._fetch_postgres(dsn, cursor, started_at)
        elif dsn.startswith("sqlite:///"):
            yield from self._fetch_sqlite(Path(dsn.removeprefix("sqlite://")), cursor, started_at)
        else:
            # Never echo the DSN: it may carry a password.
            raise PermanentError(f"{self.dsn_env} must hold a postgresql:// or sqlite:/// URL")

    def finish(self, *, succeeded: bool) -> None:
        """Nothing to clean up: the connection closes when fetch ends."""

    # PostgreSQL

    def _fetch_postgres(
        self, dsn: str, cursor: str | None, started_at: datetime
    ) -> Iterator[Batch]:
        timeout_ms = int(self.query_timeout * 1000)
        with (
            _postgres_errors(self.table),
            psycopg.connect(
                dsn,
                connect_timeout=CONNECT_TIMEOUT,
                application_name="portal-sync",
                # UTC sessions: timestamptz values, hence cursors, come back in UTC.
                options=f"-c statement_timeout={timeout_ms} -c TimeZone=UTC",
            ) as conn,
        ):
            conn.read_only = True  # a connector only ever reads the source
            # A named cursor is a server-side one: rows come FETCH by FETCH.
            with conn.cursor(name="portal_sync") as cur:
                params = {"cursor": cursor} if cursor is not None else None
                cur.execute(self._postgres_query(cursor), params)
                columns = [column.name for column in cur.description or []]
                yield from self._batches(cur.fetchmany, columns, started_at)

    def _postgres_query(self, cursor: str | None) -> sql.Composed:
        table = sql.Identifier(*self.table.split("."))
        selected = (
            sql.SQL(", ").join(map(sql.Identifier, self.columns)) if self.columns else sql.SQL("*")
        )
        cursor_column = sql.Identifier(self.cursor_column)
        where = sql.SQL("WHERE {} >= %(cursor)s").format(cursor_column)
        return sql.SQL("SELECT {} FROM {} {} ORDER BY {}, {}").format(
            selected,
            table,
            where if cursor is not None else sql.SQL(""),
            cursor_column,
            sql.Identifier(self.key_column),
        )

    # SQLite

    def _fetch_sqlite(
        self, path: Path, cursor: str | None, started_at: datetime
    ) -> Iterator[Batch]:
        if not path.is_absolute():
            raise PermanentError(f"{self.dsn_env}: the SQLite path must be absolute")
        if not path.is_file():
            raise PermanentError(f"SQLite database {path} does not exist")
        # mode=ro: a connector never writes, and a wrong path must not create a file.
        uri = f"{path.as_uri()}?mode=ro"
        with (
            _sqlite_errors(self.table),
            closing(sqlite3.connect(uri, uri=True, timeout=CONNECT_TIMEOUT)) as conn,
        ):
            self._check_sqlite_columns(conn)
            params = {"cursor": cursor} if cursor is not None else {}
            cur = conn.execute(self._sqlite_query(cursor), params)
            columns = [column[0] for column in cur.description]
            yield from self._batches(cur.fetchmany, columns, started_at)

    def _check_sqlite_columns(self, conn: sqlite3.Connection) -> None:
        # SQLite reads a double-quoted name that is not a column as a string
        # literal, so a missing column would not fail the query: check first.
        empty = conn.execute(f"SELECT * FROM {_sqlite_name(self.table)} LIMIT 0")  # noqa: S608
        present = {column[0] for column in empty.description}
        wanted = [*(self.columns or []), self.cursor_column, self.key_column]
        missing = sorted({name for name in wanted if name not in present})
        if missing:
            raise ShapeError(f"{self.table}: no such column: {', '.join(missing)}")

    def _sqlite_query(self, cursor: str | None) -> str:
        selected = ", ".join(map(_sqlite_name, self.columns)) if self.columns else "*"
        cursor_column = _sqlite_name(self.cursor_column)
        where = f"WHERE {cursor_column} >= :cursor" if cursor is not None else ""
        # Every identifier went through _sqlite_name; the cursor is a parameter.
        return (
            f"SELECT {selected} FROM {_sqlite_name(self.table)} {where} "  # noqa: S608
            f"ORDER BY {cursor_column}, {_sqlite_name(self.key_column)}"
        )

    # Both

    def _batches(
        self,
        fetchmany: Callable[[int], Sequence[Sequence[Any]]],
        columns: list[str],
        started_at: datetime,
    ) -> Iterator[Batch]:
        position = columns.index(self.cursor_column)
        highest: Any = None
        while rows := fetchmany(self.batch_size):
            values = [row[position] for row in rows if row[position] is not None]
            if values and (highest is None or max(values) > highest):
                highest = max(values)
            yield Batch(
                records=[dict(zip(columns, row, strict=True)) for row in rows],
                cursor=cursor_text(highest, started_at),
                label=self.table,
                columns=columns,
            )


def cursor_text(highest: Any, started_at: datetime) -> str | None:
    """min(highest, started_at) as text, as the module docstring describes."""
    if highest is None:
        return None
    started = _as_utc(started_at)
    if isinstance(highest, datetime):
        if _as_utc(highest) <= started:
            return highest.isoformat()
        return (started if highest.tzinfo else started.replace(tzinfo=None)).isoformat()
    if isinstance(highest, date):
        return min(highest, started.date()).isoformat()
    if isinstance(highest, str):
        return _clamp_iso_string(highest, started)
    return str(highest)


def _clamp_iso_string(value: str, started: datetime) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value  # not a timestamp: nothing to clamp against
    if _as_utc(moment) <= started:
        return value
    return iso_like(started, value)


def iso_like(moment: datetime, sample: str) -> str:
    """`moment` (UTC) written the way `sample` writes timestamps, so strings compare right."""
    if len(sample) == 10:  # a date
        return moment.date().isoformat()
    separator = sample[10]
    # Without a fraction in the column, truncate: rounding down keeps the cursor
    # at or before started_at.
    has_fraction = len(sample) > 19 and sample[19] == "."
    timespec = "microseconds" if has_fraction else "seconds"
    if datetime.fromisoformat(sample).tzinfo is None:
        return moment.replace(tzinfo=None).isoformat(separator, timespec)
    text = moment.isoformat(separator, timespec)
    return (text.removesuffix("+00:00") + "Z") if sample.endswith("Z") else text


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _sqlite_name(name: str) -> str:
    parts = name.split(".")
    for part in parts:
        if not IDENTIFIER.match(part):
            raise PermanentError(f"{name!r} is not a plain SQL identifier")
    return ".".join(f'"{part}"' for part in parts)


@contextmanager
def _postgres_errors(table: str) -> Iterator[None]:
    try:
        yield
    except errors.UndefinedTable as error:
        raise ShapeError(
            f"table {table} not found in the source database: {_first_line(error)}"
        ) from error
    except errors.UndefinedColumn as error:
        raise ShapeError(f"{table}: {_first_line(error)}") from error
    except psycopg.OperationalError as error:
        # Class 28 is a refused login: retrying will not help.
        if (error.sqlstate or "").startswith("28"):
            raise PermanentError(f"credentials refused: {_first_line(error)}") from error
        raise TransientError(f"PostgreSQL: {_first_line(error)}") from error
    except psycopg.Error as error:
        raise PermanentError(f"PostgreSQL: {_first_line(error)}") from error


@contextmanager
def _sqlite_errors(table: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as error:
        message = str(error)
        if message.startswith("no such table"):
            missing = f"table {table} not found in the source database"
            raise ShapeError(f"{missing}: {message}") from error
        if message.startswith("no such column"):
            raise ShapeError(f"{table}: {message}") from error
        raise TransientError(f"SQLite: {message}") from error  # locked, I/O
    except sqlite3.Error as error:
        raise PermanentError(f"SQLite: {error}") from error


def _first_line(error: Exception) -> str:
    return str(error).strip().split("\n", 1)[0]
