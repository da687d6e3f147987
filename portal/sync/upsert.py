"""Set-based writes of synced records: compare, stage what changed, upsert it.

Per batch, in the caller's transaction:

1. once the source has records, one query fetches the content hashes of the
   batch's keys (unique-index probes), and rows whose hash is unchanged are
   dropped there: they are not staged, not written and not even locked;
2. the rest go into a temporary stage table (COPY on PostgreSQL; a plain
   multi-row insert on SQLite, the embedded demo database);
3. one INSERT ... ON CONFLICT (source, external_id) DO UPDATE writes them.

A source's first sync skips step 1 (there is nothing to compare with): on
PostgreSQL the upsert's RETURNING (xmax = 0) then tells created rows from
updated ones, so counting costs no extra query either way.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, models

# Columns every synced table has and the engine fills itself.
KEY = ("source_id", "external_id")
# Keys per lookup query where the database has no array parameters (SQLite).
LOOKUP_CHUNK = 500


@dataclass
class UpsertCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # Rows the source flagged deleted that were live (or new) here: hidden by this write.
    deleted: int = 0
    # The external ids of the rows created (the rest of those written were updated).
    created_keys: frozenset[str] = frozenset()

    @property
    def written(self) -> int:
        return self.created + self.updated


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


def upsert(
    model: type[models.Model], fields: list[str], rows: list[tuple], *, compare: bool = True
) -> UpsertCounts:
    """Write `rows` (tuples in `fields` order, which include source, external_id and
    content_hash) and leave the rows written in the stage (see staged_external_ids_sql).

    Rows must have distinct (source, external_id) within the batch and one source.
    `compare=False` skips the lookup of existing hashes, for a source that had no
    records when its run started; the result is the same, only cheaper there.
    """
    if not rows:
        return UpsertCounts()
    counts = None
    if compare or connection.vendor != "postgresql":
        rows, counts = _changed(model, fields, rows)
    columns = columns_of(model, fields)
    stage = _prepare_stage(model, columns)
    if not rows:
        return counts
    _load_stage(model, stage, fields, columns, rows)
    if counts is not None:
        _insert_on_conflict(model, stage, columns, count=False)
        return counts
    written, created = _insert_on_conflict(model, stage, columns, count=True)
    gone = fields.index("deleted_at")
    flagged = sum(1 for row in rows if row[gone] is not None)
    return UpsertCounts(
        created=len(created),
        updated=written - len(created),
        unchanged=len(rows) - written,
        deleted=flagged,
        created_keys=frozenset(created),
    )


def _changed(model, fields: list[str], rows: list[tuple]) -> tuple[list[tuple], UpsertCounts]:
    """The rows that are new or differ from what is stored, and the batch's counts.

    A row differs when its content does, or whether it is deleted: a record marked
    deleted that comes back live, or one the source now flags deleted (its row carries
    `deleted_at`), is written; one flagged deleted again is not. One run per source at
    a time (runs.run_claim) means nothing else writes these rows meanwhile.
    """
    key, digest = fields.index("external_id"), fields.index("content_hash")
    gone = fields.index("deleted_at")
    stored = _stored_hashes(model, rows[0][fields.index("source")], [row[key] for row in rows])
    changed = [row for row in rows if stored.get(row[key]) != (row[digest], row[gone] is not None)]
    created = frozenset(row[key] for row in changed if row[key] not in stored)
    deleted = sum(1 for row in changed if row[gone] is not None)
    return changed, UpsertCounts(
        created=len(created),
        updated=len(changed) - len(created),
        unchanged=len(rows) - len(changed),
        deleted=deleted,
        created_keys=created,
    )


def _stored_hashes(model, source_id: int, keys: list[str]) -> dict[str, tuple[str, bool]]:
    """{external id: (content hash, whether it is marked deleted)} of stored `keys`."""
    if connection.vendor == "postgresql":
        # One probe of the unique index per key, in index order. Written as a LATERAL
        # subquery so that the plan stays that: as a join or `= ANY(...)` the planner
        # takes a few thousand probes for dearer than a scan of the whole source, and
        # scans it every batch. One array parameter, not thousands of placeholders.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT k.external_id, t.content_hash, t.gone FROM unnest(%s::text[]) "  # noqa: S608
                f"AS k(external_id) CROSS JOIN LATERAL (SELECT content_hash, "
                f"deleted_at IS NOT NULL AS gone FROM {_quote(model._meta.db_table)} "
                f"WHERE source_id = %s AND external_id = k.external_id LIMIT 1) AS t",
                [sorted(keys), source_id],
            )
            return {key: (digest, gone) for key, digest, gone in cursor.fetchall()}
    stored = {}
    for start in range(0, len(keys), LOOKUP_CHUNK):
        found = model.objects.filter(
            source_id=source_id, external_id__in=keys[start : start + LOOKUP_CHUNK]
        ).values_list("external_id", "content_hash", "deleted_at")
        stored.update({k: (digest, gone is not None) for k, digest, gone in found})
    return stored


def _insert_on_conflict(model, stage: str, columns: list[str], *, count: bool) -> tuple:
    """INSERT the stage, updating rows whose hash differs or whose deletion does.

    With `count` (PostgreSQL only), (rows written, external ids of those created): the new
    row version's xmax is 0 when INSERT made it and set when ON CONFLICT updated a row.
    """
    table, st = _quote(model._meta.db_table), _quote(stage)
    cols = ", ".join(_quote(c) for c in columns)
    updates = ", ".join(f"{_quote(c)} = EXCLUDED.{_quote(c)}" for c in columns if c not in KEY)
    statement = (
        f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {st} WHERE 1 = 1 "  # noqa: S608
        f"ON CONFLICT (source_id, external_id) DO UPDATE SET {updates} "
        f"WHERE {table}.content_hash <> EXCLUDED.content_hash "
        f"OR ({table}.deleted_at IS NULL) <> (EXCLUDED.deleted_at IS NULL)"
    )
    with connection.cursor() as cursor:
        if not count:
            cursor.execute(statement)
            return ()
        cursor.execute(
            f"WITH written AS ({statement} RETURNING external_id, xmax = 0 AS created) "  # noqa: S608
            f"SELECT count(*), coalesce(array_agg(external_id) FILTER (WHERE created), '{{}}') "
            f"FROM written"
        )
        written, created = cursor.fetchone()
        return written, created


def analyze(model: type[models.Model]) -> None:
    """Refresh the planner's statistics of `model`'s table (PostgreSQL).

    For a table that grows fast within one run, such as a new source's first sync,
    statistics from before the run say the source has no rows, and plans built on
    that (the link UPDATE hashing all of a source's rows every batch) go quadratic
    well before autovacuum comes round. SKIP_LOCKED: when autovacuum is already at
    the table, waiting for it would stall the run (and cancel autovacuum after a
    second); the next call tries again. Without the right to analyse the table
    PostgreSQL only warns, which is fine: it is an optimisation.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE (SKIP_LOCKED) {_quote(model._meta.db_table)}")


def staged_external_ids_sql(model) -> str:
    """SQL for the external ids of the rows just staged, i.e. new or changed (for links)."""
    return f"SELECT external_id FROM {_quote(stage_name(model))}"  # noqa: S608
