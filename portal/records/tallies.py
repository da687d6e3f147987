"""Per-organisation tallies of the synced records, kept by the database (RecordTally).

The lists of the largest organisation count 100,000 orders per request, collect their
statuses and sum the invoices still to pay (docs/benchmarks.md). These numbers change
only when those rows do, and the rows are written by many paths: the sync's COPY and
INSERT ... ON CONFLICT, identity links (a raw UPDATE of organisation_id), deletions
flagged by a source, the admin, queryset.update(). So the database keeps them, with
triggers on the three tables: no write path can forget them, and they change in the
transaction of the write that changed the rows.

On PostgreSQL one statement-level trigger per table and event adds up the change of
the whole statement from its transition tables (a 5,000-row sync batch costs one
grouped INSERT ... ON CONFLICT, not 5,000); on SQLite (`make run`) row triggers do the
same a row at a time.

`TALLIES` is the one definition: the triggers, `rebuild` (the migration's backfill) and
`drift` (the tests, and an operator's check) are all generated from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.records.choices import SETTLED_STATUSES

TABLE = "portal_recordtally"
# RecordTally.NO_DUE_DAY as a date: PostgreSQL types it, SQLite stores dates as text.
NO_DUE = {"postgresql": "DATE '9999-12-31'", "sqlite": "'9999-12-31'"}
# The records the customer's screens show (SyncedRecordQuerySet.visible_to).
LIVE = "{r}deleted_at IS NULL AND {r}organisation_id IS NOT NULL"
_SETTLED = ", ".join(f"'{status}'" for status in SETTLED_STATUSES)


@dataclass(frozen=True)
class Tally:
    record: str  # RecordTally.record
    table: str
    key: str = "''"  # SQL of RecordTally.key, {r} the row's qualifier
    due_on: str = "{no_due}"  # NO_DUE_DAY
    amount: str = "0"
    condition: str = "1 = 1"

    def where(self, r: str) -> str:
        return f"{LIVE.format(r=r)} AND {self.condition.format(r=r)}"


TALLIES = [
    Tally("order", "portal_order", key="{r}status"),
    Tally("shipment", "portal_shipment", key="{r}status"),
    Tally("invoice", "portal_invoice"),
    # Invoice.is_settled's rule (records.models.UNPAID), per currency and due day.
    Tally(
        "unpaid",
        "portal_invoice",
        key="{r}currency",
        due_on="coalesce({r}due_on, {no_due})",
        amount="{r}amount",
        condition=f"{{r}}paid_on IS NULL AND {{r}}status NOT IN ({_SETTLED})",
    ),
]
TABLES = sorted({tally.table for tally in TALLIES})
COLUMNS = "organisation_id, record, key, due_on, count, amount"
ADD = (
    f"ON CONFLICT (organisation_id, record, key, due_on) DO UPDATE SET "
    f"count = {TABLE}.count + excluded.count, amount = {TABLE}.amount + excluded.amount"
)


def _grouped(tally: Tally, sources: list[tuple[str, int]], vendor: str) -> str:
    """SELECT of the tally rows of `sources` (table, sign: +1 counts, -1 discounts)."""
    parts = " UNION ALL ".join(
        f"SELECT organisation_id, {tally.key.format(r='')} AS key, "  # noqa: S608 - from TALLIES
        f"{tally.due_on.format(r='', no_due=NO_DUE[vendor])} AS due_on, {sign} AS n, "
        f"{sign} * {tally.amount.format(r='')} AS amount "
        f"FROM {table} WHERE {tally.where('')}"
        for table, sign in sources
    )
    return (
        f"SELECT organisation_id, '{tally.record}', key, due_on, sum(n), sum(amount) "  # noqa: S608
        f"FROM ({parts}) AS rows GROUP BY organisation_id, key, due_on"
    )


# --- PostgreSQL: statement-level triggers over transition tables ----------------------


def _postgresql_function(table: str) -> str:
    tallies = [tally for tally in TALLIES if tally.table == table]

    # In key order: two transactions that change the same organisations' tallies lock
    # their rows in the same order, and wait for each other instead of deadlocking.
    # Records taken off only change the tally rows that counted them, never add one (as on
    # SQLite): deleting an organisation may delete its tallies (Django's fast delete) before
    # it sets its records' organisation to NULL, and a new negative row would be left behind.
    def statements(sources) -> str:
        return "\n".join(
            f"INSERT INTO {TABLE} ({COLUMNS}) {_grouped(tally, sources, 'postgresql')} "  # noqa: S608 - from TALLIES
            f"HAVING (sum(n) <> 0 OR sum(amount) <> 0) AND (sum(n) > 0 OR EXISTS (SELECT 1 "
            f"FROM {TABLE} t WHERE t.organisation_id = rows.organisation_id AND "
            f"t.record = '{tally.record}' AND t.key = rows.key AND t.due_on = rows.due_on)) "
            f"ORDER BY organisation_id, key, due_on {ADD};"
            for tally in tallies
        )

    # Identifiers and literals from TALLIES, none from a request.
    return f"""
CREATE OR REPLACE FUNCTION {table}_tally() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {statements([("new_rows", 1)])}
  ELSIF TG_OP = 'UPDATE' THEN
    {statements([("new_rows", 1), ("old_rows", -1)])}
  ELSIF TG_OP = 'DELETE' THEN
    {statements([("old_rows", -1)])}
  ELSE
    DELETE FROM {TABLE} WHERE record IN ({", ".join(f"'{t.record}'" for t in tallies)});
  END IF;
  RETURN NULL;
END
$body$;"""  # noqa: S608


def _postgresql_install() -> list[str]:
    sql = []
    for table in TABLES:
        sql.append(_postgresql_function(table))
        for event, referencing in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        ):
            sql.append(
                f"CREATE TRIGGER {table}_tally_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {table}_tally()"
            )
        sql.append(
            f"CREATE TRIGGER {table}_tally_truncate AFTER TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_tally()"
        )
    return sql


def _postgresql_uninstall() -> list[str]:
    return [f"DROP FUNCTION IF EXISTS {table}_tally() CASCADE" for table in TABLES]


# --- SQLite: row triggers ----------------------------------------------------------------


def _sqlite_row(tally: Tally, r: str, sign: int) -> str:
    if sign < 0:
        return _sqlite_discount(tally, r)
    # Only for an organisation that is still there: SQLite's flush deletes the tables one
    # by one, organisations before their records (PostgreSQL truncates them together).
    return (
        f"INSERT INTO {TABLE} ({COLUMNS}) SELECT {r}organisation_id, '{tally.record}', "  # noqa: S608
        f"{tally.key.format(r=r)}, {tally.due_on.format(r=r, no_due=NO_DUE['sqlite'])}, {sign}, "
        f"{sign} * {tally.amount.format(r=r)} WHERE {tally.where(r)} AND EXISTS (SELECT 1 "
        f"FROM accounts_organisation WHERE id = {r}organisation_id) {ADD};"
    )


def _sqlite_discount(tally: Tally, r: str) -> str:
    # A row taken off only changes the tally row that counted it, never adds one: SQLite's
    # flush deletes table by table in no fixed order, and a record deleted after the
    # tallies must not bring back a row for an organisation deleted after it.
    due_on = tally.due_on.format(r=r, no_due=NO_DUE["sqlite"])
    return (
        f"UPDATE {TABLE} SET count = count - 1, amount = amount - {tally.amount.format(r=r)} "  # noqa: S608
        f"WHERE organisation_id = {r}organisation_id AND record = '{tally.record}' "
        f"AND key = {tally.key.format(r=r)} AND due_on = {due_on} AND {tally.where(r)};"
    )


def _sqlite_install() -> list[str]:
    sql = []
    for table in TABLES:
        tallies = [tally for tally in TALLIES if tally.table == table]
        for event, rows in (
            ("INSERT", [("NEW.", 1)]),
            ("UPDATE", [("OLD.", -1), ("NEW.", 1)]),
            ("DELETE", [("OLD.", -1)]),
        ):
            body = " ".join(_sqlite_row(t, r, sign) for r, sign in rows for t in tallies)
            sql.append(
                f"CREATE TRIGGER {table}_tally_{event.lower()} AFTER {event} ON {table} "
                f"FOR EACH ROW BEGIN {body} END"
            )
    return sql


def _sqlite_uninstall() -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_tally_{event}"
        for table in TABLES
        for event in ("insert", "update", "delete")
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
    statements = (
        _postgresql_uninstall() if connection.vendor == "postgresql" else _sqlite_uninstall()
    )
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def _expected_sql(vendor: str) -> str:
    return " UNION ALL ".join(_grouped(t, [(t.table, 1)], vendor) for t in TALLIES)


def rebuild(connection) -> None:
    """Every tally counted again from the rows (a backfill; the triggers keep them after)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")  # noqa: S608 - fixed names
        cursor.execute(f"INSERT INTO {TABLE} ({COLUMNS}) {_expected_sql(connection.vendor)}")


def drift(connection) -> dict[tuple, tuple]:
    """Tallies that differ from the rows: {(organisation, record, key, due_on):
    (stored count and amount, counted)}. Empty when every write kept them."""
    stored = f"SELECT {COLUMNS} FROM {TABLE} WHERE count <> 0 OR amount <> 0"  # noqa: S608
    return differences(connection, _expected_sql(connection.vendor), stored)


def differences(connection, expected_sql: str, stored_sql: str) -> dict[tuple, tuple]:
    """{key: (stored, counted)} where the rows of `stored_sql` and `expected_sql` differ;
    each row is four key columns, then a count and an amount (this module's tallies and
    revenue_tallies.py's)."""
    with connection.cursor() as cursor:
        cursor.execute(expected_sql)
        expected = {tuple(map(str, row[:4])): (row[4], row[5]) for row in cursor.fetchall()}
        cursor.execute(stored_sql)
        stored = {tuple(map(str, row[:4])): (row[4], row[5]) for row in cursor.fetchall()}

    def same(a, b) -> bool:
        return a is not None and b is not None and a[0] == b[0] and float(a[1]) == float(b[1])

    return {
        key: (stored.get(key), expected.get(key))
        for key in stored.keys() | expected.keys()
        if not same(stored.get(key), expected.get(key))
    }
