"""When sources run (due, needing a full run), resuming a paused one, and retrying
quarantined records."""

from __future__ import annotations

from datetime import timedelta

from django.db import (
    transaction,
)
from django.utils import timezone

from portal.sync.base import Batch
from portal.sync.choices import RunStatus
from portal.sync.mapping import MappingError
from portal.sync.models import QuarantinedRecord, SourceSystem
from portal.sync.runs.claims import run_claim
from portal.sync.runs.engine import finish
from portal.sync.runs.landing import land
from portal.sync.runs.plan import Plan


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
        finish(run, RunStatus.SUCCEEDED)
    return {"landed": landed, "failed": failed}
