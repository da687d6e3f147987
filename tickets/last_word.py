"""Who spoke last in public on a ticket, kept on the ticket by the database.

"Waiting for us" (the AM's work queue and My accounts' queue card) is the open tickets whose
last public message is the customer's, or that have none yet. Looking that message up for
each of an AM's few hundred open tickets was most of those pages' PostgreSQL time
(docs/benchmarks.md), so `Ticket.last_public_by_customer` holds the answer.

Messages are written by the portal's reply, the API, inbound mail, merges, the admin and
deletes, and an ORM `ticket.save()` writes back whatever the instance held when it was read.
So triggers keep the column, never the code: the ticket's own insert or update computes it
again from the thread (an instance's stale value is never what lands), a message written,
moved, made internal or deleted computes it again for its tickets, and so does a change of
an author's kind (a customer made staff, or back). `drift` lists the tickets that disagree
with their thread (the tests, and an operator's check).

The rule, stated once in `_SPOKE_LAST`: the newest public message (by time, then id) is the
customer's when its author is a customer or is gone (a deleted user's messages keep no
author); a ticket without public messages counts as the customer's.
"""

from __future__ import annotations

TABLE = "tickets_ticket"
COLUMN = "last_public_by_customer"

# SQL of the rule for the ticket whose id is `{ticket}`.
_SPOKE_LAST = (
    "COALESCE((SELECT COALESCE(u.kind, 'customer') = 'customer' FROM tickets_message m "
    "LEFT JOIN accounts_user u ON u.id = m.author_id "
    "WHERE m.ticket_id = {ticket} AND NOT m.is_internal "
    "ORDER BY m.created_at DESC, m.id DESC LIMIT 1), {true})"
)
_TRUE = {"postgresql": "TRUE", "sqlite": "1"}
# The tickets of the messages written by the person whose kind changed.
_AUTHORED = "SELECT ticket_id FROM tickets_message WHERE author_id = NEW.id"


def spoke_last(vendor: str, ticket: str) -> str:
    return _SPOKE_LAST.format(ticket=ticket, true=_TRUE[vendor])


def _renew(vendor: str, tickets: str) -> str:
    """An UPDATE of the column of the tickets whose ids `tickets` (SQL) gives, where it
    changes (an unchanged ticket is not written: no page version renewed for nothing)."""
    value = spoke_last(vendor, f"{TABLE}.id")
    differs = "IS DISTINCT FROM" if vendor == "postgresql" else "IS NOT"
    return (
        f"UPDATE {TABLE} SET {COLUMN} = {value} "  # noqa: S608 - fixed names
        f"WHERE id IN ({tickets}) AND {COLUMN} {differs} {value};"
    )


# --- PostgreSQL ----------------------------------------------------------------------------


def _postgresql_install() -> list[str]:
    pg = "postgresql"
    return [
        # The ticket's own writes: whatever the statement set, the thread decides.
        f"""CREATE OR REPLACE FUNCTION ticket_last_word() RETURNS trigger LANGUAGE plpgsql
AS $body$
BEGIN
  NEW.{COLUMN} := {spoke_last(pg, "NEW.id")};
  RETURN NEW;
END
$body$""",
        f"CREATE TRIGGER ticket_last_word BEFORE INSERT OR UPDATE ON {TABLE} "
        f"FOR EACH ROW EXECUTE FUNCTION ticket_last_word()",
        # A message statement: once for all the tickets it touched (a merge, a bulk_create).
        f"""CREATE OR REPLACE FUNCTION message_last_word() RETURNS trigger LANGUAGE plpgsql
AS $body$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_renew(pg, "SELECT ticket_id FROM new_rows")}
  ELSIF TG_OP = 'UPDATE' THEN
    {_renew(pg, "SELECT ticket_id FROM new_rows UNION SELECT ticket_id FROM old_rows")}
  ELSE
    {_renew(pg, "SELECT ticket_id FROM old_rows")}
  END IF;
  RETURN NULL;
END
$body$""",  # noqa: S608 - fixed names
        *(
            f"CREATE TRIGGER message_last_word_{event.lower()} AFTER {event} ON tickets_message "
            f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION message_last_word()"
            for event, referencing in (
                ("INSERT", "NEW TABLE AS new_rows"),
                ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                ("DELETE", "OLD TABLE AS old_rows"),
            )
        ),
        f"""CREATE OR REPLACE FUNCTION author_last_word() RETURNS trigger LANGUAGE plpgsql
AS $body$
BEGIN
  {_renew(pg, _AUTHORED)}
  RETURN NULL;
END
$body$""",
        "CREATE TRIGGER author_last_word AFTER UPDATE OF kind ON accounts_user FOR EACH ROW "
        "WHEN (OLD.kind IS DISTINCT FROM NEW.kind) EXECUTE FUNCTION author_last_word()",
    ]


def _postgresql_uninstall() -> list[str]:
    return [
        f"DROP FUNCTION IF EXISTS {name}() CASCADE"
        for name in ("ticket_last_word", "message_last_word", "author_last_word")
    ]


# --- SQLite: row triggers ------------------------------------------------------------------

_SQLITE_TRIGGERS = {
    "ticket_last_word_insert": f"AFTER INSERT ON {TABLE} BEGIN {_renew('sqlite', 'NEW.id')} END",
    # SQLite runs no trigger from within itself (recursive_triggers is off), and the
    # condition stops it after one write anyway.
    "ticket_last_word_update": f"AFTER UPDATE ON {TABLE} BEGIN {_renew('sqlite', 'NEW.id')} END",
    "message_last_word_insert": (
        f"AFTER INSERT ON tickets_message BEGIN {_renew('sqlite', 'NEW.ticket_id')} END"
    ),
    "message_last_word_update": (
        "AFTER UPDATE ON tickets_message BEGIN "
        f"{_renew('sqlite', 'NEW.ticket_id, OLD.ticket_id')} END"
    ),
    "message_last_word_delete": (
        f"AFTER DELETE ON tickets_message BEGIN {_renew('sqlite', 'OLD.ticket_id')} END"
    ),
    "author_last_word": "AFTER UPDATE OF kind ON accounts_user WHEN OLD.kind IS NOT NEW.kind "
    f"BEGIN {_renew('sqlite', _AUTHORED)} END",
}


# --- Installing, filling, checking -------------------------------------------------------------


def install(connection) -> None:
    """Create the triggers and fill the column from the threads (the migration)."""
    if connection.vendor == "postgresql":
        statements = _postgresql_install()
    else:
        statements = [f"CREATE TRIGGER {name} {body}" for name, body in _SQLITE_TRIGGERS.items()]
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
        cursor.execute(_renew(connection.vendor, f"SELECT id FROM {TABLE}"))  # noqa: S608


def uninstall(connection) -> None:
    if connection.vendor == "postgresql":
        statements = _postgresql_uninstall()
    else:
        statements = [f"DROP TRIGGER IF EXISTS {name}" for name in _SQLITE_TRIGGERS]
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def drift(connection) -> list[int]:
    """The tickets whose stored last word disagrees with their thread: empty when every
    write kept it."""
    vendor = connection.vendor
    differs = "IS DISTINCT FROM" if vendor == "postgresql" else "IS NOT"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {TABLE} WHERE {COLUMN} {differs} "  # noqa: S608 - fixed names
            f"{spoke_last(vendor, f'{TABLE}.id')} ORDER BY id"
        )
        return [row[0] for row in cursor.fetchall()]
