"""Revenue per organisation, month, currency and product line, kept by the database
(RevenueTally): what the value screens (the 80/20 and tier fit) sum for a period's whole
months instead of every invoice of the book (docs/benchmarks.md, issue 26).

It counts exactly the invoices those screens count (SyncedRecordQuerySet.visible_to):
live ones (not deleted) of a matched organisation, whatever their status; the screens
convert currencies and normalise product lines when they read it. Invoices are written
by many paths (the sync's COPY and upsert, identity links, deletions flagged by a source,
the admin, queryset.update()), so, like RecordTally (tallies.py, whose design this
follows), triggers on the invoice table keep it in the transaction of each write:
statement triggers over transition tables on PostgreSQL, row triggers on SQLite.
`drift` is the check the tests and an operator run.
"""

from __future__ import annotations

from portal.records import tallies

TABLE = "portal_revenuetally"
INVOICES = "portal_invoice"
LIVE = "{r}deleted_at IS NULL AND {r}organisation_id IS NOT NULL"
MONTH = {
    "postgresql": "CAST(date_trunc('month', {r}issued_on) AS date)",
    "sqlite": "strftime('%Y-%m-01', {r}issued_on)",
}
KEY = "organisation_id, month, currency, product_line"
COLUMNS = f"{KEY}, invoices, amount"
ADD = (
    f"ON CONFLICT ({KEY}) DO UPDATE SET invoices = {TABLE}.invoices + excluded.invoices, "
    f"amount = {TABLE}.amount + excluded.amount"
)


def _grouped(sources: list[tuple[str, int]], vendor: str) -> str:
    """SELECT of the tally rows of `sources` (table, sign: +1 counts, -1 discounts)."""
    parts = " UNION ALL ".join(
        f"SELECT organisation_id, {MONTH[vendor].format(r='')} AS month, currency, "  # noqa: S608 - fixed names
        f"product_line, {sign} AS n, {sign} * amount AS amount "
        f"FROM {table} WHERE {LIVE.format(r='')}"
        for table, sign in sources
    )
    return (
        f"SELECT {KEY}, sum(n), sum(amount) FROM ({parts}) AS rows "  # noqa: S608
        f"GROUP BY {KEY}"
    )


# --- PostgreSQL: statement-level triggers over transition tables ----------------------


def _postgresql_function() -> str:
    # In key order: two transactions that change the same organisations' tallies lock
    # their rows in the same order, and wait for each other instead of deadlocking.
    # Invoices taken off only change the tally rows that counted them, never add one (as on
    # SQLite, and as tallies.py): deleting an organisation may delete its tallies (Django's
    # fast delete) before it sets its invoices' organisation to NULL.
    counted = " AND ".join(f"t.{column} = rows.{column}" for column in KEY.split(", "))

    def statement(sources) -> str:
        return (
            f"INSERT INTO {TABLE} ({COLUMNS}) {_grouped(sources, 'postgresql')} "  # noqa: S608
            f"HAVING (sum(n) <> 0 OR sum(amount) <> 0) AND (sum(n) > 0 OR EXISTS "
            f"(SELECT 1 FROM {TABLE} t WHERE {counted})) ORDER BY {KEY} {ADD};"
        )

    return f"""
CREATE OR REPLACE FUNCTION {INVOICES}_revenue() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {statement([("new_rows", 1)])}
  ELSIF TG_OP = 'UPDATE' THEN
    {statement([("new_rows", 1), ("old_rows", -1)])}
  ELSIF TG_OP = 'DELETE' THEN
    {statement([("old_rows", -1)])}
  ELSE
    DELETE FROM {TABLE};
  END IF;
  RETURN NULL;
END
$body$;"""  # noqa: S608


def _postgresql_install() -> list[str]:
    sql = [_postgresql_function()]
    for event, referencing in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        sql.append(
            f"CREATE TRIGGER {INVOICES}_revenue_{event.lower()} AFTER {event} ON {INVOICES} "
            f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {INVOICES}_revenue()"
        )
    sql.append(
        f"CREATE TRIGGER {INVOICES}_revenue_truncate AFTER TRUNCATE ON {INVOICES} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {INVOICES}_revenue()"
    )
    return sql


# --- SQLite: row triggers ----------------------------------------------------------------


def _sqlite_add(r: str) -> str:
    # Only for an organisation that is still there: SQLite's flush deletes the tables one
    # by one, organisations before their records (as tallies.py).
    return (
        f"INSERT INTO {TABLE} ({COLUMNS}) SELECT {r}organisation_id, "  # noqa: S608
        f"{MONTH['sqlite'].format(r=r)}, {r}currency, {r}product_line, 1, {r}amount "
        f"WHERE {LIVE.format(r=r)} AND EXISTS (SELECT 1 FROM accounts_organisation "
        f"WHERE id = {r}organisation_id) {ADD};"
    )


def _sqlite_discount(r: str) -> str:
    # Only changes the row that counted it, never adds one (as tallies.py).
    return (
        f"UPDATE {TABLE} SET invoices = invoices - 1, amount = amount - {r}amount "  # noqa: S608
        f"WHERE organisation_id = {r}organisation_id AND month = {MONTH['sqlite'].format(r=r)} "
        f"AND currency = {r}currency AND product_line = {r}product_line "
        f"AND {LIVE.format(r=r)};"
    )


def _sqlite_install() -> list[str]:
    bodies = {
        "insert": _sqlite_add("NEW."),
        "update": _sqlite_discount("OLD.") + " " + _sqlite_add("NEW."),
        "delete": _sqlite_discount("OLD."),
    }
    return [
        f"CREATE TRIGGER {INVOICES}_revenue_{event} AFTER {event.upper()} ON {INVOICES} "
        f"FOR EACH ROW BEGIN {body} END"
        for event, body in bodies.items()
    ]


# --- Installing, rebuilding, checking -------------------------------------------------------


def install(connection) -> None:
    """Create the triggers and fill the tallies from the rows (the migration)."""
    statements = _postgresql_install() if connection.vendor == "postgresql" else _sqlite_install()
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    rebuild(connection)


def uninstall(connection) -> None:
    if connection.vendor == "postgresql":
        statements = [f"DROP FUNCTION IF EXISTS {INVOICES}_revenue() CASCADE"]
    else:
        statements = [
            f"DROP TRIGGER IF EXISTS {INVOICES}_revenue_{event}"
            for event in ("insert", "update", "delete")
        ]
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def rebuild(connection) -> None:
    """Every tally summed again from the invoices (a backfill; the triggers keep them)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")  # noqa: S608 - fixed names
        cursor.execute(
            f"INSERT INTO {TABLE} ({COLUMNS}) {_grouped([(INVOICES, 1)], connection.vendor)}"
        )


def drift(connection) -> dict[tuple, tuple]:
    """Tallies that differ from the invoices: {(organisation, month, currency, line):
    (stored count and amount, counted)}. Empty when every write kept them."""
    stored = f"SELECT {COLUMNS} FROM {TABLE} WHERE invoices <> 0 OR amount <> 0"  # noqa: S608
    return tallies.differences(connection, _grouped([(INVOICES, 1)], connection.vendor), stored)
