"""Set-based writes of synced records: stage the batch, count, upsert what changed.

Per batch, in the caller's transaction:

1. the rows go into a temporary stage table (COPY on PostgreSQL; a plain
   multi-row insert on SQLite, the embedded demo database);
2. one query counts how many already exist and how many of those are unchanged;
3. one INSERT ... ON CONFLICT (source, external_id) DO UPDATE writes new rows
   and rows whose content hash changed (or that come back after a delete);
   unchanged rows are not written at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, models

# Columns every synced table has and the engine fills itself.
KEY = ("source_id", "external_id")


@dataclass
class UpsertCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def columns_of(model: type[models.Model], fields: list[str]) -> list[str]:
    return [model._meta.get_field(name).column for name in fields]


def stage_name(model: type[models.Model]) -> str:
    return f"sync_stage_{model._meta.db_table}"


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _prepare_stage(model, columns: list[str]) -> str:
    stage = stage_name(model)
    cols = ", ".join(_quote(c) for c in columns)
    table = _quote(model._meta.db_table)
    with connection.cursor() as cursor:
        # The stage table lives as long as the database session; emptied per batch.
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_quote(stage)} AS "  # noqa: S608 - identifiers from model meta
            f"SELECT {cols} FROM {table} WHERE 1 = 0"
        )
        # TRUNCATE where there is one: DELETE would bloat a temporary table nobody
        # vacuums, and the planner would then misjudge every batch's size.
        empty = "TRUNCATE" if connection.vendor == "postgresql" else "DELETE FROM"
        cursor.execute(f"{empty} {_quote(stage)}")
    return stage


def _load_stage(model, stage: str, fields: list[str], columns: list[str], rows: list[tuple]):
    cols = ", ".join(_quote(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {_quote(stage)} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        # Other databases: Django's own value adaptation, then a multi-row insert.
        prepared = [model._meta.get_field(f) for f in fields]
        values = [
            tuple(
                field.get_db_prep_save(value, connection)
                for field, value in zip(prepared, row, strict=True)
            )
            for row in rows
        ]
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(
            f"INSERT INTO {_quote(stage)} ({cols}) VALUES ({marks})",  # noqa: S608
            values,
        )


def upsert(model: type[models.Model], fields: list[str], rows: list[tuple]) -> UpsertCounts:
    """Write `rows` (tuples in `fields` order, which include source and external_id).

    Rows must have distinct (source, external_id) within the batch.
    """
    if not rows:
        return UpsertCounts()
    columns = columns_of(model, fields)
    stage = _prepare_stage(model, columns)
    _load_stage(model, stage, fields, columns, rows)
    table = _quote(model._meta.db_table)
    st = _quote(stage)
    on_key = " AND ".join(f"t.{_quote(c)} = s.{_quote(c)}" for c in KEY)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(t.id), COALESCE(SUM(CASE WHEN t.content_hash = s.content_hash "  # noqa: S608
            f"AND t.deleted_at IS NULL THEN 1 ELSE 0 END), 0) "
            f"FROM {st} s JOIN {table} t ON {on_key}"
        )
        existing, unchanged = cursor.fetchone()
        cols = ", ".join(_quote(c) for c in columns)
        updates = ", ".join(f"{_quote(c)} = EXCLUDED.{_quote(c)}" for c in columns if c not in KEY)
        cursor.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {st} WHERE 1 = 1 "  # noqa: S608
            f"ON CONFLICT (source_id, external_id) DO UPDATE SET {updates} "
            f"WHERE {table}.content_hash <> EXCLUDED.content_hash "
            f"OR {table}.deleted_at IS NOT NULL"
        )
    existing, unchanged = int(existing), int(unchanged)
    return UpsertCounts(
        created=len(rows) - existing, updated=existing - unchanged, unchanged=unchanged
    )


def staged_external_ids_sql(model) -> str:
    """SQL for the external ids of the batch just staged (for follow-up updates)."""
    return f"SELECT external_id FROM {_quote(stage_name(model))}"  # noqa: S608
