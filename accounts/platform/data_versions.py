"""Data versions kept by the database: what makes kept page content out of date.

Every table whose rows a page may show has triggers that renew the **version** of each
organisation a write touched (table `page_version`: one row per scope, the organisation's
id, or `GLOBAL` for shared rows such as tiers, calendars, sources and people), in the
transaction of the write. So no write path can forget it: a model save, the admin,
queryset.update(), bulk_create, the sync's COPY upsert and raw SQL all renew exactly the
organisations whose rows they changed, and nothing else.

- Which organisation a row belongs to is read from the model registry (`scope_path`): the
  organisation's own id, its `organisation_id`, or that of the row it belongs to (a
  message's ticket, an attachment's message's ticket); shared rows, and rows of no
  organisation yet (a legacy customer waiting for a match, its records), renew `GLOBAL`:
  staff pages across organisations show them.
- Bookkeeping columns (a sign-in, a sync source's cursor and clocks) renew nothing: the
  update trigger of those tables fires only for the other columns (`UPDATE OF`), so a sync
  run that lands nothing renews nothing. `IGNORED` tables (written all the time, shown on
  no kept page) have no triggers.
- Versions are drawn from one sequence, so a value is never reused: content kept under a
  replaced or rolled-back version never matches again (SQLite: see SQLITE_NEXT).
- PostgreSQL renews once per statement from its transition tables (a 5,000-row sync batch
  is one upsert of the organisations it touched), in scope order, so two transactions lock
  version rows in the same order; SQLite (`make run`) a row at a time.

The version row is an upsert, not an insert-only log read with max(): with a log, a long
transaction that drew its version before a shorter one committed would commit under a
version the page already read, and its rows would stay hidden under that key. The price is
that two transactions writing the same organisation's rows wait for each other (the sync
already does for RecordTally, portal/records/tallies.py): a ticket reply to an organisation
a sync batch is writing waits for that batch's commit, under a second.

`install` (re)creates the triggers of every concrete model of `APPS` after each migrate
(accounts.apps), so a new model is covered by construction; `read` gives the versions a
page's key holds (accounts/platform/page_cache.py).
"""

from __future__ import annotations

import hashlib

from django.apps import apps
from django.db import models

TABLE = "page_version"
SEQUENCE = "page_version_seq"
GLOBAL = 0  # the scope of shared rows (no organisation has id 0)
APPS = {"accounts", "portal", "tickets", "tiers", "knowledge"}
# Rows no kept content shows, written often (each API call, each sync batch's progress),
# and the tallies (kept by triggers on the records, which renew their organisations).
IGNORED = {
    "accounts.auditevent",
    "accounts.apitoken",
    "accounts.sentnotification",
    "accounts.pendingtask",
    "accounts.session",
    "portal.syncrun",
    "portal.processedfile",
    "portal.recordtally",
    "portal.revenuetally",
}
# Bookkeeping columns no kept content shows (or only as a time, "synced 3 minutes ago",
# which is at most a minute old anyway): a person's sign-in, a sync source's cursor and
# clocks. Their tables' rows are shared, so they renew GLOBAL when other columns change.
BOOKKEEPING = {
    "accounts.user": {"last_login", "password"},
    "portal.sourcesystem": {"cursor", "last_started_at", "last_success_at", "last_full_at"},
}
PREFIX = "pv_"  # of the triggers and functions made here


def covered_models() -> list[type[models.Model]]:
    """The models whose writes renew versions: every concrete table of the apps, their
    many-to-many tables too, except IGNORED."""
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label in APPS
        and model._meta.managed
        and not model._meta.proxy
        and model._meta.label_lower not in IGNORED
    ]


def scope_path(model) -> tuple[list[tuple[str, type[models.Model]]], str] | None:
    """How a row finds its organisation: the foreign keys to follow (column, model) and the
    column that holds the organisation's id at the end; None for shared rows (GLOBAL).

    A row belongs to an organisation through its own `organisation` key, else through a
    required key to a row that does (a message's ticket); optional keys (an article's
    source ticket) and people are not ownership.
    """
    if model._meta.label_lower == "accounts.organisation":
        return [], model._meta.pk.column
    names = {field.name: field for field in model._meta.concrete_fields}
    if "organisation" in names:
        return [], names["organisation"].column
    for field in model._meta.concrete_fields:
        if not field.many_to_one or field.null:
            continue
        parent = field.related_model
        if parent is model or parent._meta.label_lower in IGNORED:
            continue
        found = scope_path(parent)
        if found is not None:
            hops, column = found
            return [(field.column, parent), *hops], column
    return None


# --- Triggers ------------------------------------------------------------------------------


def _postgresql_scopes(model, rows: str) -> str:
    """SELECT of the scopes (column `scope`) of the rows in transition table `rows`."""
    path = scope_path(model)
    if path is None:
        return f"SELECT {GLOBAL} AS scope FROM {rows}"  # noqa: S608 - from models
    hops, column = path
    joins, alias = "", "r0"
    for depth, (fk, parent) in enumerate(hops, start=1):
        table, pk = parent._meta.db_table, parent._meta.pk.column
        joins += f" JOIN {table} r{depth} ON r{depth}.{pk} = {alias}.{fk}"
        alias = f"r{depth}"
    return f"SELECT {alias}.{column} AS scope FROM {rows} r0{joins}"  # noqa: S608 - from models


def _postgresql_renew(model, sources: list[str]) -> str:
    scopes = " UNION ALL ".join(_postgresql_scopes(model, rows) for rows in sources)
    # Names from the model registry, none from a request.
    return (
        f"INSERT INTO {TABLE} (scope, version) SELECT scope, nextval('{SEQUENCE}') "  # noqa: S608
        f"FROM (SELECT DISTINCT coalesce(scope, {GLOBAL}) AS scope FROM ({scopes}) AS s "
        f"ORDER BY scope) AS t ON CONFLICT (scope) DO UPDATE SET version = excluded.version;"
    )


def _bookkeeping_columns(model) -> list[str] | None:
    """The columns whose update renews versions, for a table with bookkeeping columns."""
    skipped = BOOKKEEPING.get(model._meta.label_lower)
    if skipped is None:
        return None
    return [f.column for f in model._meta.concrete_fields if f.name not in skipped]


def _postgresql_sql(model) -> list[str]:
    table = model._meta.db_table
    function = f"{PREFIX}{table}"
    columns = _bookkeeping_columns(model)
    # A transition table cannot go with UPDATE OF (PostgreSQL): the updates of a table with
    # bookkeeping columns (shared rows) renew GLOBAL without reading the rows.
    update = (
        _postgresql_renew(model, ["new_rows", "old_rows"])
        if columns is None
        else f"INSERT INTO {TABLE} (scope, version) VALUES ({GLOBAL}, nextval('{SEQUENCE}')) "  # noqa: S608
        f"ON CONFLICT (scope) DO UPDATE SET version = excluded.version;"
    )
    sql = [
        f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_postgresql_renew(model, ["new_rows"])}
  ELSIF TG_OP = 'UPDATE' THEN
    {update}
  ELSE
    {_postgresql_renew(model, ["old_rows"])}
  END IF;
  RETURN NULL;
END
$body$"""
    ]
    for event, referencing in (
        ("INSERT", "REFERENCING NEW TABLE AS new_rows"),
        ("UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "REFERENCING OLD TABLE AS old_rows"),
    ):
        if event == "UPDATE" and columns is not None:
            event, referencing = f"UPDATE OF {', '.join(columns)}", ""
        name = f"{PREFIX}{table}_{event.split()[0].lower()}"
        sql += [
            f"DROP TRIGGER IF EXISTS {name} ON {table}",
            f"CREATE TRIGGER {name} AFTER {event} ON {table} {referencing} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        ]
    return sql


def _sqlite_scope(model, row: str) -> str:
    """SELECT of the scope (column `scope`) of trigger row `row` (NEW or OLD)."""
    path = scope_path(model)
    if path is None:
        return f"SELECT {GLOBAL} AS scope"
    hops, column = path
    if not hops:
        return f"SELECT {row}.{column} AS scope"
    (first_fk, _), joins, alias = hops[0], "", ""
    for depth, (fk, parent) in enumerate(hops, start=1):
        table, pk = parent._meta.db_table, parent._meta.pk.column
        joins += f" {table} r{depth}" if depth == 1 else f" JOIN {table} r{depth}"
        joins += "" if depth == 1 else f" ON r{depth}.{pk} = {alias}.{fk}"
        alias = f"r{depth}"
    first_pk = hops[0][1]._meta.pk.column
    return f"SELECT {alias}.{column} AS scope FROM{joins} WHERE r1.{first_pk} = {row}.{first_fk}"


# SQLite has no sequence outside transactions: one more than the largest version, or the
# current millisecond times 1,000 if larger, so a rolled-back version can be drawn again
# only within the millisecond it was drawn in.
SQLITE_NEXT = (
    f"max((SELECT coalesce(max(version), 0) + 1 FROM {TABLE}), "  # noqa: S608
    "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) * 1000)"
)


def _sqlite_renew(model, row: str) -> str:
    # WHERE before ON CONFLICT: SQLite's parser needs it in an INSERT ... SELECT upsert.
    return (
        f"INSERT INTO {TABLE} (scope, version) SELECT coalesce(scope, {GLOBAL}), "  # noqa: S608
        f"{SQLITE_NEXT} FROM ({_sqlite_scope(model, row)}) "
        f"WHERE true ON CONFLICT (scope) DO UPDATE SET version = excluded.version;"
    )


def _sqlite_sql(model) -> list[str]:
    table = model._meta.db_table
    columns = _bookkeeping_columns(model)
    sql = []
    for event, rows in (("INSERT", ["NEW"]), ("UPDATE", ["OLD", "NEW"]), ("DELETE", ["OLD"])):
        name = f"{PREFIX}{table}_{event.lower()}"
        if event == "UPDATE" and columns is not None:
            event = f"UPDATE OF {', '.join(columns)}"
        body = " ".join(_sqlite_renew(model, row) for row in rows)
        sql += [
            f"DROP TRIGGER IF EXISTS {name}",
            f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW BEGIN {body} END",
        ]
    return sql


def _statements(vendor: str, models: list) -> list[str]:
    build = _postgresql_sql if vendor == "postgresql" else _sqlite_sql
    return [statement for model in models for statement in build(model)]


def install(connection) -> None:
    """(Re)create every covered table's triggers, unless the ones there are these already
    (a migrate, or a test's flush, that changed no table changes nothing)."""
    if connection.vendor not in ("postgresql", "sqlite"):
        return
    tables = set(connection.introspection.table_names())
    if TABLE not in tables:  # before the migration that makes it
        return
    # Only the tables there are: a test may migrate an app back, and its tables go.
    models = [model for model in covered_models() if model._meta.db_table in tables]
    statements = _statements(connection.vendor, models)
    current = hashlib.blake2b("\n".join(statements).encode(), digest_size=8).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT fingerprint FROM {TABLE}_installed")  # noqa: S608
        row = cursor.fetchone()
        # A table rebuilt by a migration (SQLite's ALTER) loses its triggers.
        present = trigger_names(models) <= installed_triggers(cursor, connection.vendor)
        if row and row[0] == current and present:
            return
        for statement in statements:
            cursor.execute(statement)
        cursor.execute(f"DELETE FROM {TABLE}_installed")  # noqa: S608
        cursor.execute(f"INSERT INTO {TABLE}_installed (fingerprint) VALUES (%s)", [current])  # noqa: S608


def trigger_names(models=None) -> set[str]:
    return {
        f"{PREFIX}{model._meta.db_table}_{event}"
        for model in (covered_models() if models is None else models)
        for event in ("insert", "update", "delete")
    }


def installed_triggers(cursor, vendor: str) -> set[str]:
    if vendor == "postgresql":
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE %s", [f"{PREFIX}%"])
    else:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s", [f"{PREFIX}%"]
        )
    return {name for (name,) in cursor.fetchall()}


def installed(sender, using, **kwargs) -> None:
    """post_migrate receiver (accounts.apps)."""
    from django.db import connections

    install(connections[using])


# --- Reading -------------------------------------------------------------------------------

PERSON_SCOPES = """
    SELECT organisation_id FROM accounts_membership WHERE user_id = %s
    UNION SELECT organisation_id FROM accounts_accountassignment WHERE user_id = %s
"""


def read(cursor, organisation_ids: list[int]) -> list[int]:
    """The versions of GLOBAL and of these organisations, in order (0: never written)."""
    scopes = [GLOBAL, *organisation_ids]
    placeholders = ", ".join(["%s"] * len(scopes))
    cursor.execute(f"SELECT scope, version FROM {TABLE} WHERE scope IN ({placeholders})", scopes)  # noqa: S608
    found = dict(cursor.fetchall())
    return [found.get(scope, 0) for scope in scopes]


def read_person(cursor, user_id: int) -> list[int]:
    """One value for GLOBAL and every organisation this person is or was a member or on
    the account team of (past ones too: an ended term takes the account off their pages).
    Any write to them draws a version above all others, so the largest changes; a term
    deleted takes its organisation out, so the count changes."""
    cursor.execute(
        f"SELECT coalesce(max(version), 0), count(*) FROM {TABLE} "  # noqa: S608
        f"WHERE scope = {GLOBAL} OR scope IN ({PERSON_SCOPES})",
        [user_id, user_id],
    )
    return list(cursor.fetchone())


def read_everything(cursor) -> list[int]:
    """One value for every organisation and GLOBAL (admins, agents): any write changes it."""
    cursor.execute(f"SELECT coalesce(max(version), 0) FROM {TABLE}")  # noqa: S608
    return list(cursor.fetchone())
