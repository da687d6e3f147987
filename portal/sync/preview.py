"""'Test this source': read what its next run would read first, map it, and write nothing.

For an admin setting a source up: the first records as the mapping turns them into the
portal's fields, each bad one with the reason it would be quarantined, and for each
customer id whether it is already an organisation, one of our customer numbers, or would
wait in the review queue (with the suggestions the queue would show). A connection or
shape problem is shown instead of rows. Nothing is written: no run, no identity, no
cursor, no processed file.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.utils import timezone

from portal.sync.base import PermanentError, ShapeError, TransientError
from portal.sync.choices import IdentityStatus
from portal.sync.entities import ENTITIES
from portal.sync.mapping import ConfigError, Layouts, MappingError
from portal.sync.matching import OrganisationIndex, keys_in
from portal.sync.models import CustomerIdentity, SourceSystem
from portal.sync.runs import customer_evidence, source_connector

PREVIEW_RECORDS = 20


@dataclass
class PreviewRow:
    raw: dict
    values: dict | None
    problem: str = ""
    customer: str = ""


@dataclass
class Preview:
    source: SourceSystem
    label: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[PreviewRow] = field(default_factory=list)
    problem: str = ""

    @property
    def quarantined(self) -> int:
        return sum(1 for row in self.rows if row.problem)


def source_preview(*, source: SourceSystem, limit: int = PREVIEW_RECORDS) -> Preview:
    """The first records the source's next run would read, mapped; nothing written."""
    preview = Preview(source=source)
    try:
        layouts = Layouts(source.entity, source.config)
        mapping = layouts.default
        connector = source_connector(source, look_only=True)  # moves no file
        batches = connector.fetch(source.cursor or None, started_at=timezone.now())
        try:
            batch = next(iter(batches), None)
        finally:
            getattr(batches, "close", lambda: None)()  # lets go of the file or connection
        if batch is None:
            preview.problem = "Nothing new to read: the next run would find no records."
            return preview
        preview.label, preview.columns = batch.label, list(batch.columns)
        if batch.columns:
            mapping = layouts.choose(batch.columns, batch.records)
    except (ConfigError, PermanentError, TransientError, ShapeError) as error:
        preview.problem = str(error)
        return preview
    for raw in batch.records[:limit]:
        try:
            preview.rows.append(PreviewRow(raw=raw, values=mapping.apply(raw)))
        except MappingError as error:
            preview.rows.append(PreviewRow(raw=raw, values=None, problem=str(error)))
    _customers(source, preview.rows)
    return preview


def _customers(source: SourceSystem, rows: list[PreviewRow]) -> None:
    """What the run would make of each row's customer, read only: the identity
    engine's verdict, or the decision already taken."""
    key = ENTITIES[source.entity].customer_key
    ids = {str(r.values[key]) for r in rows if r.values and r.values.get(key)} if key else set()
    if not ids:
        return
    decided = {
        identity.external_id: identity
        for identity in CustomerIdentity.objects.filter(system=source.system, external_id__in=ids)
        .exclude(status=IdentityStatus.WAITING)
        .select_related("organisation")
    }
    index = OrganisationIndex.build()
    ours = source.config.get("customer_ids_are_ours", False)
    for row in rows:
        if not row.values or not row.values.get(key):
            continue
        cid = str(row.values[key])
        if cid in decided:
            before = decided[cid]
            row.customer = (
                f"{before.organisation.name} (matched before)"
                if before.organisation
                else "not our customer (decided before): kept hidden"
            )
            continue
        evidence = customer_evidence(source.entity, row.values, number=cid if ours else "")
        number, registry = keys_in(row.raw, index)
        evidence = replace(
            evidence,
            number=evidence.number or number,
            registry_id=evidence.registry_id or registry,
        )
        verdict = index.resolve(evidence, system=source.system)
        if verdict.organisation_id:
            name = index.organisations[verdict.organisation_id].name
            row.customer = f"{name} (matched automatically: {', '.join(verdict.why)})"
        else:
            found = ", ".join(
                f"{index.organisations[c['organisation']].name} ({', '.join(c['why'])})"
                for c in verdict.candidates[:3]
            )
            row.customer = "waits in the review queue" + (f"; candidates: {found}" if found else "")
