"""What a run lands: the plan of one source's entity (its model, columns, mapping), and
the content hash that tells an unchanged record from a changed one."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.core.serializers.json import DjangoJSONEncoder

from portal.sync.entities import ENTITIES
from portal.sync.mapping import DeletionFlag, Layouts
from portal.sync.matching import OrganisationIndex
from portal.sync.models import SourceSystem, SyncRun

BOOKKEEPING = ["source", "external_id", "organisation", "content_hash", "synced_at", "deleted_at"]
# Columns the engine works out after landing (identity.link_children), never mapped.
DERIVED = ["held"]
# The raw record, kept beside its mapped values (never a column).
RAW = "_raw"
# Whether the source flags the record deleted (`deleted_field`), beside its values.
DELETED = "_deleted"

Progress = Callable[[SyncRun], None]

# A run that creates many records refreshes the table's planner statistics as it goes:
# after this many, then each time its count doubles (see upsert.analyze).
ANALYZE_AFTER_CREATED = 50_000
ANALYZE_AT_END = 1_000  # ... and at the end of a run that created at least this many


class Plan:
    """What a source's batches turn into: the model, its columns and how to fill them."""

    def __init__(self, source: SourceSystem):
        self.source = source
        schema = ENTITIES[source.entity]
        self.model, renames = schema.model, schema.renames
        self.layouts = Layouts(source.entity, source.config)
        self.mapping = self.layouts.default
        self.deletion = DeletionFlag(source.config)
        # Every data column of the model, filled from the mapping field of the same
        # name (after renames) or left empty when the source does not have it.
        source_name = {model_field: name for name, model_field in renames.items() if model_field}
        mapped = self.layouts.fields
        columns = [
            f
            for f in self.model._meta.concrete_fields
            if f.name not in (*BOOKKEEPING, *DERIVED, "id", "order")
        ]
        self.targets = [
            (
                source_name.get(f.name, f.name)
                if source_name.get(f.name, f.name) in mapped
                else None,
                f.name,
            )
            for f in columns
        ]
        self.fields = BOOKKEEPING + [f.name for f in columns]
        # A value the column takes when the source leaves an optional field empty.
        self.empty = [None if f.null else "" for f in columns]
        self.system_sources = list(
            SourceSystem.objects.filter(system=source.system).values_list("pk", flat=True)
        )
        # A source without records yet has no hashes to compare with: its first run
        # upserts every row without looking them up first (see upsert.upsert).
        self.compare = self.model.objects.filter(source=source).exists()
        self.analyze_at = ANALYZE_AFTER_CREATED
        self._index: OrganisationIndex | None = None

    def index(self) -> OrganisationIndex:
        """The identity engine's view of the organisations, built once per run (on the
        first batch with a customer nobody has decided on yet)."""
        if self._index is None:
            self._index = OrganisationIndex.build()
        return self._index


def content_hash(values: tuple) -> str:
    return hashlib.blake2b(repr(values).encode(), digest_size=16).hexdigest()


def jsonable(raw: dict) -> dict:
    return json.loads(json.dumps(raw, cls=DjangoJSONEncoder, default=str))


# --- Claiming a run -----------------------------------------------------------------------------


# Errors that pass: the source's own (TransientError: a timeout, a 5xx, a refused
# connection) and the database's (restarting, a dropped connection; psycopg's own where
# a raw COPY raises them unwrapped). A run that meets one fails and its task retries.
