"""The sync engine: one run of one source, batch by batch, each batch in one transaction.

    connector.fetch(cursor) -> mapping (bad record: quarantined with its reason)
    -> identity (unknown customer: kept, queued for matching) -> set-based upsert
    -> links to orders -> cursor and processed file saved with the batch -> run counts

A crash at any point leaves whole batches only, with the cursor of the last
one that landed; the next run starts from there and, since the cursor is
inclusive and unchanged rows are not written, converges to the same rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import psycopg
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    transaction,
)
from django.db import connection as db_connection
from django.utils import timezone

from portal.records import events as record_events
from portal.records.models import Invoice, Order, OrderLine, Shipment
from portal.sync import identity
from portal.sync.base import Batch, PermanentError, ShapeError, TransientError
from portal.sync.choices import Entity, RunStatus, SourceKind
from portal.sync.connectors import build_connector
from portal.sync.connectors.sql import iso_like
from portal.sync.entities import ENTITIES
from portal.sync.mapping import DeletionFlag, Layouts, Mapping, MappingError
from portal.sync.matching import Evidence, OrganisationIndex
from portal.sync.models import ProcessedFile, QuarantinedRecord, SourceSystem, SyncRun
from portal.sync.seen import SeenKeys
from portal.sync.timings import PhaseTimes
from portal.sync.upsert import UpsertCounts, analyze, staged_external_ids_sql, upsert

logger = logging.getLogger(__name__)

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
TRANSIENT_ERRORS = (
    TransientError,
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)
NO_HEARTBEAT = "The worker stopped (no heartbeat)."
REDELIVERED = (
    "The worker running it stopped; its task was delivered again and carried on from the "
    "saved cursor in the next run."
)


def run_claim(*, source: SourceSystem, full: bool, task_id: str = "") -> SyncRun | None:
    """Start a run unless one is already running; None means "already running".

    The database allows one running run per source. A run whose heartbeat
    stopped (its worker died) is failed first, and so is a run of this very task
    (`task_id`): a task delivered again while its run is still "running" is the
    redelivery of a task whose process died (acks_late, reject_on_worker_lost),
    so it takes its own run over at once instead of waiting for the heartbeat.
    """
    now = timezone.now()
    running = SyncRun.objects.filter(source=source, status=RunStatus.RUNNING)
    if task_id:
        running.filter(task_id=task_id).update(
            status=RunStatus.FAILED, finished_at=now, error=REDELIVERED
        )
    stale = now - timedelta(seconds=settings.SYNC_STALE_SECONDS)
    running.filter(heartbeat_at__lt=stale).update(
        status=RunStatus.FAILED, finished_at=now, error=NO_HEARTBEAT
    )
    try:
        with transaction.atomic():
            return SyncRun.objects.create(
                source=source,
                full=full,
                started_at=now,
                heartbeat_at=now,
                cursor_from="" if full else source.cursor,
                task_id=task_id,
            )
    except IntegrityError:
        return None


class RunHeartbeat:
    """Keeps a run's heartbeat fresh from a thread of its own while the run's process lives,
    so a run whose process died is known dead after SYNC_STALE_SECONDS however slow its
    batches are (each batch still beats too). Use as a context manager around the run."""

    def __init__(self, run: SyncRun):
        self.run_pk = run.pk
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"run-{run.pk}-heartbeat")
        self.thread.daemon = True

    def __enter__(self) -> RunHeartbeat:
        # SQLite (the embedded default: one process, tasks inline) has one writer at a time.
        if db_connection.vendor != "sqlite":
            self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join(timeout=10)

    def _beat(self) -> None:
        try:
            while not self.stopped.wait(settings.SYNC_HEARTBEAT_SECONDS):
                try:
                    SyncRun.objects.filter(pk=self.run_pk, status=RunStatus.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except DatabaseError as error:  # the run itself meets it too, and retries
                    logger.warning("run %s heartbeat: %s", self.run_pk, error)
                    db_connection.close()
        finally:
            db_connection.close()  # this thread's own connection


def sources_with_dead_runs(now=None) -> list[SourceSystem]:
    """Enabled sources whose running run lost its heartbeat: its process died (a worker
    killed whole, which no redelivery follows until the broker's visibility timeout)."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.SYNC_STALE_SECONDS)
    return list(
        SourceSystem.objects.filter(
            enabled=True,
            paused_reason="",
            runs__status=RunStatus.RUNNING,
            runs__heartbeat_at__lt=stale,
        ).distinct()
    )


def runs_of_task_end(*, task_id: str, error: str) -> int:
    """Fail whatever run `task_id` left running (its task ended for good, e.g. the
    database was still down when the run tried to record its end)."""
    if not task_id:
        return 0
    return SyncRun.objects.filter(task_id=task_id, status=RunStatus.RUNNING).update(
        status=RunStatus.FAILED, finished_at=timezone.now(), error=error
    )


# --- Landing a batch ----------------------------------------------------------------------------


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
        _save_progress(run)
    return counts


class RunTakenOver(PermanentError):
    """Another run took this one over (its heartbeat looked stale): stop, write nothing more."""


def _save_progress(run: SyncRun) -> None:
    fields = ["read", "created", "updated", "unchanged", "quarantined", "duplicates", "deleted"]
    fields += ["pages"]
    fields += ["heartbeat_at", "progress", "cursor_to", "timings"]
    # Compare-and-set on the status: a run failed as stale must not carry on writing.
    still_ours = SyncRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
        **{field: getattr(run, field) for field in fields}
    )
    if not still_ours:
        raise RunTakenOver("This run was taken over after its heartbeat went stale.")


# --- A whole run --------------------------------------------------------------------------------


def _finish(run: SyncRun, status: str, error: str = "", times: PhaseTimes | None = None) -> SyncRun:
    run.status = status
    run.error = error
    run.finished_at = timezone.now()
    if times is not None:
        run.timings = times.as_dict()
    # Only a run still running is finished here; one failed as stale keeps its verdict.
    SyncRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
        status=status, error=error, finished_at=run.finished_at, timings=run.timings
    )
    return run


def _finish_if_possible(run: SyncRun, status: str, error: str, times: PhaseTimes) -> None:
    """Record the end of a run that failed, unless the database is what failed: then
    the retry (same task id) or the task's end (runs_of_task_end) records it."""
    try:
        _finish(run, status, error, times)
    except DatabaseError:
        logger.warning("could not record the end of run %s: %s", run.pk, error, exc_info=True)


def source_sync(
    *,
    source: SourceSystem,
    full: bool = False,
    progress: Progress | None = None,
    task_id: str = "",
    retry_note: str = "Not retried",
) -> SyncRun | None:
    """Run one source now. None when a run of it is already going on.

    Transient errors (TRANSIENT_ERRORS) fail the run with `retry_note` (what the
    task will do: "Will retry in about 40 s (attempt 3 of 11)") and are raised again;
    a changed shape pauses the source; other permanent errors fail the run.
    `task_id` is the Celery task's, so a redelivery of it takes the run over.
    """
    # A drop folder is read a new file at a time, never whole, so a full run of one
    # would take everything not in the new files as deleted: its deletes come from
    # snapshot files only.
    full = full and source.kind != SourceKind.CSV
    run = run_claim(source=source, full=full, task_id=task_id)
    if run is None:
        return None
    source.last_started_at = run.started_at
    source.save(update_fields=["last_started_at"])
    seen = SeenKeys(run.pk)
    times = PhaseTimes()
    try:
        with RunHeartbeat(run):
            return _run(source, run, full, progress, times, seen, retry_note)
    finally:
        seen.drop()


def _run(
    source: SourceSystem,
    run: SyncRun,
    full: bool,
    progress: Progress | None,
    times: PhaseTimes,
    seen: SeenKeys,
    retry_note: str,
) -> SyncRun:
    connector = batches = None
    try:
        plan = Plan(source)
        connector = source_connector(source)
        cursor = None if full else looked_back(source.cursor, source.config)
        batches = connector.fetch(cursor, started_at=run.started_at)
        for batch in times.timed_iteration("read", batches):
            land(plan, run, batch, seen, times)
            _keep_statistics(plan, run)
            if progress:
                progress(run)
        if run.created >= ANALYZE_AT_END:
            # What comes next (this run's deletes, a full run right after a first load)
            # plans on the real size: unanalysed, 20,000 new orders made the planner pick
            # a nested-loop anti join, and marking deletes took 14 s instead of 0.05.
            analyze(plan.model)
        if full:
            with times.phase("mark deleted"), transaction.atomic():
                deleted = seen.mark_deleted(plan.model, source.pk, timezone.now())
                run.deleted += deleted
                _save_progress(run)
                source.last_full_at = run.started_at
    except ShapeError as error:
        source.paused_reason = str(error)
        source.save(update_fields=["paused_reason"])
        _close(connector, succeeded=False)
        return _finish(run, RunStatus.FAILED, f"Paused: {error}", times)
    except TRANSIENT_ERRORS as error:
        _close(connector, succeeded=False)
        _finish_if_possible(run, RunStatus.FAILED, f"{retry_note}: {error}", times)
        raise
    except PermanentError as error:
        _close(connector, succeeded=False)
        return _finish(run, RunStatus.FAILED, str(error), times)
    except Exception as error:
        _close(connector, succeeded=False)
        _finish_if_possible(run, RunStatus.FAILED, f"Unexpected error: {error!r}", times)
        raise
    finally:
        if batches is not None:
            # A run that failed mid-read leaves the reading generator suspended, holding its
            # connection to the legacy system (a read lock on a SQLite file) for as long as
            # the traceback lives, which a retrying task keeps: close it now.
            batches.close()
    _close(connector, succeeded=True)
    source.last_success_at = timezone.now()
    source.save(update_fields=["last_success_at", "last_full_at"])
    status, message = _verdict(run, source)
    held = getattr(connector, "held", [])
    if held:  # a drop file not complete yet: the run says it did not read it
        message = " ".join(filter(None, [message, f"Held for the next run: {', '.join(held)}."]))
    return _finish(run, status, message, times=times)


def _verdict(run: SyncRun, source: SourceSystem) -> tuple[str, str]:
    """A run that read its records through ends "succeeded", unless more than the source's
    `attention_percent` (default SYNC_ATTENTION_PERCENT, 5) of them were quarantined: then
    the source's mapping (or its data) has gone wrong, and the run says so instead of a
    green "succeeded"."""
    percent = source.config.get("attention_percent")
    share = settings.SYNC_ATTENTION_SHARE if percent is None else percent / 100
    if run.read and run.quarantined > share * run.read:
        return RunStatus.ATTENTION, (
            f"{run.quarantined:,} of {run.read:,} records were quarantined: check their "
            "reasons in Quarantine, fix the mapping, then retry them."
        )
    return RunStatus.SUCCEEDED, ""


def looked_back(cursor: str, config: dict) -> str | None:
    """The cursor to read from: `lookback_minutes` before the stored one, so changes stamped
    late (back-dated, or published late by replication or a long transaction) are read on
    the next run; what did not change writes nothing. The cursor's own format is kept (a
    SQLite column compares text). A cursor that is no timestamp is used as it is."""
    minutes = config.get("lookback_minutes", 0)
    if not cursor or not minutes:
        return cursor or None
    try:
        moment = datetime.fromisoformat(cursor)
    except ValueError:
        return cursor
    earlier = moment - timedelta(minutes=minutes)
    if len(cursor) == 10:  # a date
        return earlier.date().isoformat()
    return iso_like(earlier, cursor)  # in the cursor's own offset, as its column writes it


def source_connector(source: SourceSystem, *, look_only: bool = False):
    """The source's connector; a drop folder's skips the files that landed before.

    `look_only` (Test this source): a drop folder's files are read where they are, as they
    are now: neither claimed nor waited for."""
    csv = look_only and source.kind == SourceKind.CSV
    config = {**source.config, "archive": False, "settle_seconds": 0} if csv else None
    return build_connector(
        source.kind,
        config or source.config,
        is_processed=lambda checksum: ProcessedFile.objects.filter(
            source=source, checksum=checksum
        ).exists(),
    )


def _keep_statistics(plan: Plan, run: SyncRun) -> None:
    """Analyse the table while a run grows it, so each batch's statements keep good plans."""
    if run.created >= plan.analyze_at:
        analyze(plan.model)
        plan.analyze_at = 2 * run.created


def _close(connector, *, succeeded: bool) -> None:
    if connector is not None:
        try:
            connector.finish(succeeded=succeeded)
        except OSError:
            logger.exception("Could not finish the connector")


def sources_due(now=None) -> list[SourceSystem]:
    """Enabled, unpaused sources whose schedule says it is time."""
    now = now or timezone.now()
    due = []
    for source in SourceSystem.objects.filter(enabled=True, paused_reason=""):
        last = source.last_started_at
        if last is None or last <= now - timedelta(minutes=source.schedule_minutes):
            due.append(source)
    return due


def source_resume(*, source: SourceSystem) -> bool:
    """Let a paused source run again (after its mapping was fixed). Saved as a model, so
    the change is in the audit trail with who resumed it. False if it was not paused."""
    if not source.paused_reason:
        return False
    source.paused_reason = ""
    source.save(update_fields=["paused_reason"])
    return True


def needs_full(source: SourceSystem, now=None) -> bool:
    now = now or timezone.now()
    last = source.last_full_at
    return source.kind != "csv" and (
        last is None or last <= now - timedelta(hours=source.full_every_hours)
    )


@transaction.atomic
def quarantine_retry(*, records: list[QuarantinedRecord]) -> dict[str, int]:
    """Try quarantined records again with the source's current mapping.

    Records that now map land like any other (in a run of their own); the
    others keep waiting with their new reason.
    """
    landed = failed = 0
    by_source: dict[int, list[QuarantinedRecord]] = {}
    for record in records:
        if record.resolved_at is None:
            by_source.setdefault(record.source_id, []).append(record)
    for source_id, pending in by_source.items():
        source = SourceSystem.objects.get(pk=source_id)
        run = run_claim(source=source, full=False)
        if run is None:
            continue
        plan = Plan(source)
        good, by_layout = [], {}
        for record in pending:
            mapping = plan.layouts.for_record(record.raw)
            try:
                mapping.apply(record.raw)
            except MappingError as error:
                record.reason = str(error)
                record.save(update_fields=["reason"])
                failed += 1
            else:
                good.append(record)
                by_layout.setdefault(mapping, []).append(record.raw)
        for mapping, raws in by_layout.items():
            land(plan, run, Batch(records=raws, label="quarantine retry"), mapping=mapping)
        QuarantinedRecord.objects.filter(pk__in=[r.pk for r in good]).update(
            resolved_at=timezone.now()
        )
        landed += len(good)
        _finish(run, RunStatus.SUCCEEDED)
    return {"landed": landed, "failed": failed}
