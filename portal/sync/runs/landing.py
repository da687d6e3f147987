"""Landing one batch: map the records (quarantining the bad ones with their reason),
find their organisations, upsert the rows and link them to their orders, in one
transaction."""

from __future__ import annotations

from django.db import (
    transaction,
)
from django.utils import timezone

from portal.records import events as record_events
from portal.records.models import Invoice, Order, OrderLine, Shipment
from portal.sync import identity
from portal.sync.base import Batch, ShapeError
from portal.sync.choices import Entity
from portal.sync.entities import ENTITIES
from portal.sync.mapping import Mapping, MappingError
from portal.sync.matching import Evidence
from portal.sync.models import ProcessedFile, QuarantinedRecord, SyncRun
from portal.sync.runs.claims import save_progress
from portal.sync.runs.plan import DELETED, RAW, Plan, content_hash, jsonable
from portal.sync.seen import SeenKeys
from portal.sync.timings import PhaseTimes
from portal.sync.upsert import UpsertCounts, staged_external_ids_sql, upsert


def _map(plan: Plan, run: SyncRun, records: list[dict], label: str, mapping: Mapping):
    """Typed rows by external id (the last one wins), the quarantined records, and what
    those still say (the fields that read: their customer reaches the review queue even
    when every record of it is quarantined)."""
    rows: dict[str, dict] = {}
    bad: list[QuarantinedRecord] = []
    strays: list[dict] = []
    key_column = mapping.column_of("external_id")
    for raw in records:
        try:
            values = mapping.apply(raw)
        except MappingError as error:
            bad.append(
                QuarantinedRecord(
                    source=plan.source,
                    run=run,
                    external_id=str(raw.get(key_column) or "")[:100],
                    reason=str(error),
                    raw=jsonable(raw),
                    label=label[:300],
                )
            )
            strays.append(mapping.apply_partial(raw) | {RAW: raw})
        else:
            values[RAW] = raw  # for keys quoted anywhere in it (identity.resolve)
            values[DELETED] = bool(plan.deletion) and plan.deletion.is_deleted(raw)
            rows[str(values["external_id"])] = values
    return rows, bad, strays


def _quarantine(plan: Plan, bad: list[QuarantinedRecord], *, landed: list[str], now) -> None:
    """Keep one waiting row per bad record; a record that now lands is resolved."""
    waiting = QuarantinedRecord.objects.filter(source=plan.source, resolved_at__isnull=True)
    if landed and waiting.exists():  # the common case, nothing waiting, costs one query
        waiting.filter(external_id__in=landed).update(resolved_at=now)
    again = [q.external_id for q in bad if q.external_id]
    if again:
        waiting.filter(external_id__in=again).delete()
    QuarantinedRecord.objects.bulk_create(bad)


def _organisations(plan: Plan, rows: dict[str, dict], strays: list[dict] = ()) -> dict:
    """{customer id: organisation id or None} for the customers of a batch, including
    those only `strays` (its quarantined records) name."""
    key = ENTITIES[plan.source.entity].customer_key
    if key is None:
        return {}
    ours = plan.source.config.get("customer_ids_are_ours", False)
    customers, records = {}, {}
    # Landed records come last: what they say of a customer wins over a quarantined one.
    for values in [*strays, *rows.values()]:
        if not values.get(key):
            continue  # a shipment that does not name its customer follows its order
        cid = str(values[key])
        customers[cid] = customer_evidence(plan.source.entity, values, number=cid if ours else "")
        records[cid] = values[RAW]
    return identity.resolve(
        system=plan.source.system, customers=customers, index=plan.index, records=records
    )


def customer_evidence(entity: str, values: dict, *, number: str) -> Evidence:
    """What a record says of its customer, for the identity engine."""
    schema = ENTITIES[entity]
    own = schema.is_customer  # a CRM account's own fields
    email = str(values.get("email" if own else "customer_email") or "")
    return Evidence(
        name=str(values.get(schema.customer_name) or ""),
        number=number or str(values.get("customer_number") or ""),
        registry_id=str(values.get("registry_id" if own else "customer_registry_id") or ""),
        city=str(values.get("city" if own else "customer_city") or ""),
        postcode=str(values.get("postcode" if own else "customer_postcode") or ""),
        email_domain=email.rpartition("@")[2].lower(),
        phone=str(values.get("phone" if own else "customer_phone") or ""),
        street=str(values.get("street" if own else "customer_street") or ""),
    )


def _rows(plan: Plan, rows: dict[str, dict], organisations: dict, now) -> list[tuple]:
    key = ENTITIES[plan.source.entity].customer_key
    out = []
    for external_id, values in rows.items():
        data = tuple(
            empty if name is None or values.get(name) is None else values[name]
            for (name, _), empty in zip(plan.targets, plan.empty, strict=True)
        )
        organisation = organisations.get(str(values.get(key))) if key else None
        # Flagged deleted: kept and hidden at once, as a full run hides what is gone.
        deleted_at = now if values[DELETED] else None
        out.append(
            (plan.source.pk, external_id, organisation, content_hash(data), now, deleted_at, *data)
        )
    return out


def _link(plan: Plan) -> None:
    """Connect the batch to the orders it quotes, or the waiting records to its orders."""
    staged = staged_external_ids_sql(plan.model)
    own = plan.system_sources
    if plan.model is OrderLine:
        identity.link_children(
            plan.model, order_sources=own, child_sources=own, child_ids_sql=staged
        )
    elif plan.model is Shipment:
        identity.link_children(
            Shipment,
            order_sources=identity.order_sources_of(plan.source),
            child_sources=[plan.source.pk],
            child_ids_sql=staged,
        )
    elif plan.model is Invoice and plan.source.config.get("order_system"):
        identity.link_children(
            Invoice,
            order_sources=identity.order_sources_of(plan.source),
            child_sources=[plan.source.pk],
            child_ids_sql=staged,
        )
    elif plan.model is Order:
        system = plan.source.system
        identity.link_children(
            OrderLine, order_sources=own, child_sources=own, order_ids_sql=staged
        )
        identity.link_children(
            Shipment,
            order_sources=own,
            child_sources=identity.child_sources_for(Entity.SHIPMENTS, system),
            order_ids_sql=staged,
        )
        identity.link_children(
            Invoice,
            order_sources=[plan.source.pk],
            child_sources=identity.child_sources_for(Entity.INVOICES, system, own=False),
            order_ids_sql=staged,
        )


def land(
    plan: Plan,
    run: SyncRun,
    batch: Batch,
    seen: SeenKeys | None = None,
    times: PhaseTimes | None = None,
    mapping: Mapping | None = None,
) -> UpsertCounts:
    """Write one batch and everything that must move with it, in one transaction.

    `seen` collects the keys of a full run and of snapshot files, to find deletes;
    `times` the run's step timings (kept on the run as it goes). The batch is read
    with the layout its columns fit, or `mapping` (records kept without their file).
    """
    mapping = mapping or plan.mapping
    if batch.columns:
        try:
            mapping = plan.layouts.choose(batch.columns, batch.records)
        except ShapeError as error:  # the pause names where, and what the source has now
            found = ", ".join(map(str, batch.columns))
            raise ShapeError(f"{batch.label}: {error} (its columns: {found})") from error
    now = timezone.now()
    times = times or PhaseTimes()
    # What the steps below leave of the transaction is its bookkeeping and the commit.
    with times.phase("commit"), transaction.atomic():
        with times.phase("map"):
            rows, bad, strays = _map(plan, run, batch.records, batch.label, mapping)
            organisations = _organisations(plan, rows, strays)
        with times.phase("rows+hash"):
            tuples = _rows(plan, rows, organisations, now)
        with times.phase("write"):
            counts = upsert(plan.model, plan.fields, tuples, compare=plan.compare)
            if counts.written:  # links change only with what was written (or a match)
                _link(plan)
                record_events.records_emit(
                    plan.model,
                    plan.source,
                    written_sql=staged_external_ids_sql(plan.model),
                    created_keys=counts.created_keys,
                )
        with times.phase("quarantine"):
            _quarantine(plan, bad, landed=list(rows), now=now)
        if seen is not None and (run.full or batch.snapshot):
            seen.add(list(rows) + [q.external_id for q in bad if q.external_id])
        if seen is not None and batch.snapshot_complete:
            deleted = seen.mark_deleted(plan.model, plan.source.pk, now)
            run.deleted += deleted
        if batch.completed_file:
            ProcessedFile.objects.get_or_create(
                source=plan.source, checksum=batch.completed_file, defaults={"name": batch.label}
            )
        if batch.cursor is not None:
            plan.source.cursor = batch.cursor
            plan.source.save(update_fields=["cursor"])
            run.cursor_to = batch.cursor
        run.read += len(batch.records)
        run.pages += batch.pages
        run.deleted += counts.deleted
        run.created += counts.created
        run.updated += counts.updated
        run.unchanged += counts.unchanged
        run.quarantined += len(bad)
        # The same key twice in one batch: the last one landed, the others are counted.
        run.duplicates += len(batch.records) - len(bad) - len(rows)
        run.heartbeat_at = now
        run.progress = f"{run.read:,} read · {batch.label}"[:200]
        run.timings = times.as_dict()
        save_progress(run)
    return counts
