"""Read one table of a SQL database incrementally, through SQLAlchemy Core.

Tested against PostgreSQL (psycopg 3), MariaDB (PyMySQL; MySQL speaks the same) and
SQLite. SQL Server and Oracle go through the same code with their SQLAlchemy dialects
but were **not tested** here: install their driver (``pymssql`` or ``pyodbc``;
``oracledb``, whose thin mode needs no Oracle client) and give its URL.

Configuration keys:

- ``dsn_env`` (required): name of the environment variable holding the database URL,
  read when a run starts (never stored, never echoed: it may carry a password).
  ``postgresql://`` (or ``postgres://``) connects with psycopg 3; ``mysql://`` or
  ``mariadb://`` with PyMySQL; ``sqlite:///abs/path.db`` opens that file read-only;
  any SQLAlchemy URL naming its driver is used as it is
  (``mssql+pymssql://``, ``mssql+pyodbc://``, ``oracle+oracledb://``).
- ``table`` (required): the table (or view) to read, optionally schema-qualified
  (``erp.orders``). Its columns are read from the database (reflection), so a
  missing one is named before anything is read; names are quoted as the dialect needs.
- ``cursor_column`` (required): a column that grows whenever a row changes,
  e.g. ``updated_at``. It is always read, even if ``columns`` leaves it out.
- ``key_column`` (required): a unique column ordering rows that share a cursor
  value, e.g. ``id``, so batches come in a stable order.
- ``columns``: list of the columns to read (default: all of them).
- ``batch_size``: rows per batch (default 5000).
- ``query_timeout``: seconds one statement may take where the driver lets us say so
  (PostgreSQL's statement_timeout, PyMySQL's read timeout; default 300). Connecting
  times out after 10 s.

The query is ``SELECT cols FROM table WHERE cursor_column >= :cursor ORDER BY
cursor_column, key_column`` (no WHERE when there is no cursor yet), the cursor given
as the column's own Python type (a datetime for a timestamp column). Rows stream
(``stream_results``): a server-side cursor on PostgreSQL, an unbuffered cursor on
MySQL/MariaDB, ``fetchmany`` on SQLite; one batch is in memory at a time.

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

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.pool import NullPool

from portal.sync.base import Batch, PermanentError, ShapeError, TransientError
from portal.sync.connectors import batch_size_of, required, secret_from_env

CONNECT_TIMEOUT = 10
# URL schemes without a driver, and the driver we ship for them.
DRIVERS = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}
NAMES = {"postgresql": "PostgreSQL", "mysql": "MySQL/MariaDB", "mariadb": "MySQL/MariaDB",
         "sqlite": "SQLite", "mssql": "SQL Server", "oracle": "Oracle"}  # fmt: skip
# Login refused: PostgreSQL's SQLSTATE class 28, MySQL's 1044/1045/1698.
REFUSED_LOGINS = {1044, 1045, 1698}


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
        engine = self._engine(secret_from_env(self.dsn_env))
        name = NAMES.get(engine.dialect.name, engine.dialect.name)
        try:
            with _errors(self.table, name), engine.connect() as conn:
                if engine.dialect.name == "postgresql":
                    conn.execution_options(postgresql_readonly=True)  # a connector only reads
                table = self._reflect(conn)
                query = self._query(table, cursor)
                options = {"stream_results": True, "yield_per": self.batch_size}
                result = conn.execution_options(**options).execute(query)
                columns = list(result.keys())
                position = columns.index(self.cursor_column)
                highest: Any = None
                for rows in result.partitions(self.batch_size):
                    values = [row[position] for row in rows if row[position] is not None]
                    if values and (highest is None or max(values) > highest):
                        highest = max(values)
                    yield Batch(
                        records=[dict(zip(columns, row, strict=True)) for row in rows],
                        cursor=cursor_text(highest, started_at),
                        label=self.table,
                        columns=columns,
                    )
        finally:
            engine.dispose()

    def finish(self, *, succeeded: bool) -> None:
        """Nothing to clean up: the connection closes when fetch ends."""

    def _engine(self, dsn: str) -> sa.Engine:
        try:
            url = sa.make_url(dsn)
        except exc.ArgumentError:
            # Never echo the DSN: it may carry a password.
            raise PermanentError(f"{self.dsn_env} does not hold a database URL") from None
        url = url.set(drivername=DRIVERS.get(url.drivername, url.drivername))
        backend = url.get_backend_name()
        args: dict[str, Any] = {}
        if backend == "postgresql":
            timeout_ms = int(self.query_timeout * 1000)
            # UTC sessions: timestamptz values, hence cursors, come back in UTC.
            args = {"connect_timeout": CONNECT_TIMEOUT, "application_name": "portal-sync",
                    "options": f"-c statement_timeout={timeout_ms} -c TimeZone=UTC"}  # fmt: skip
        elif backend in ("mysql", "mariadb"):
            args = {"connect_timeout": CONNECT_TIMEOUT, "read_timeout": int(self.query_timeout),
                    "init_command": "SET time_zone = '+00:00'"}  # fmt: skip
        elif backend == "sqlite":
            url, args = self._sqlite_url(url), {"timeout": CONNECT_TIMEOUT}
        try:
            return sa.create_engine(url, poolclass=NullPool, connect_args=args)
        except (exc.NoSuchModuleError, ModuleNotFoundError) as error:
            raise PermanentError(
                f"{self.dsn_env}: no driver for {url.drivername} is installed ({error})"
            ) from None

    def _sqlite_url(self, url: sa.URL) -> sa.URL:
        path = Path(url.database or "")
        if not path.is_absolute():
            raise PermanentError(f"{self.dsn_env}: the SQLite path must be absolute")
        if not path.is_file():
            raise PermanentError(f"SQLite database {path} does not exist")
        # mode=ro: a connector never writes, and a wrong path must not create a file.
        return sa.make_url(f"sqlite:///{path.as_uri()}?mode=ro&uri=true")

    def _reflect(self, conn: sa.Connection) -> sa.Table:
        schema, _, name = self.table.rpartition(".")
        try:
            table = sa.Table(name, sa.MetaData(), schema=schema or None, autoload_with=conn)
        except exc.NoSuchTableError:
            raise ShapeError(f"table {self.table} not found in the source database") from None
        wanted = [*(self.columns or []), self.cursor_column, self.key_column]
        missing = sorted({column for column in wanted if column not in table.c})
        if missing:
            raise ShapeError(f"{self.table}: no such column: {', '.join(missing)}")
        return table

    def _query(self, table: sa.Table, cursor: str | None) -> sa.Select:
        selected = [table.c[name] for name in self.columns] if self.columns else [table]
        column = table.c[self.cursor_column]
        query = sa.select(*selected).order_by(column, table.c[self.key_column])
        if cursor is None:
            return query
        return query.where(column >= sa.bindparam("cursor", _typed(cursor, column)))


def _typed(cursor: str, column: sa.Column) -> Any:
    """The stored cursor as the column's own Python type: a driver compares a datetime
    with a timestamp column the same way everywhere, a string not always."""
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return cursor
    try:
        if kind is datetime:
            moment = datetime.fromisoformat(cursor)
            if moment.tzinfo is not None and not getattr(column.type, "timezone", False):
                moment = moment.astimezone(UTC).replace(tzinfo=None)  # a naive UTC column
            return moment
        if kind is date:
            return date.fromisoformat(cursor[:10])
        if kind is int:
            return int(cursor)
    except ValueError:
        return cursor
    return cursor


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
    """`moment` written the way `sample` writes timestamps (a date, naive, "Z", or the
    moment's own offset), so strings compare right."""
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


@contextmanager
def _errors(table: str, database: str) -> Iterator[None]:
    try:
        yield
    except exc.DBAPIError as error:
        message = f"{database}: {_first_line(error.orig or error)}"
        if _login_refused(error):
            raise PermanentError(f"credentials refused: {message}") from error
        if isinstance(error, exc.OperationalError) or error.connection_invalidated:
            raise TransientError(message) from error  # unreachable, restarting, locked
        raise PermanentError(message) from error
    except exc.SQLAlchemyError as error:
        raise PermanentError(f"{database}: {_first_line(error)}") from error


def _login_refused(error: exc.DBAPIError) -> bool:
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None) or ""
    code = original.args[0] if original is not None and original.args else None
    return sqlstate.startswith("28") or code in REFUSED_LOGINS


def _first_line(error: BaseException) -> str:
    return str(error).strip().split("\n", 1)[0]
