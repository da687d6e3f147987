"""Reads of the sync for staff screens: the sources, their runs, one run's counters."""

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from portal.sync.choices import RunStatus
from portal.sync.models import SourceSystem, SyncRun

RECENT_RUNS = 20


def source_list() -> QuerySet[SourceSystem]:
    """Every source with its latest run's id and status (`latest_run_id`, `latest_status`)."""
    latest = SyncRun.objects.filter(source=OuterRef("pk")).order_by("-started_at")
    return SourceSystem.objects.annotate(
        latest_run_id=Subquery(latest.values("pk")[:1]),
        latest_status=Subquery(latest.values("status")[:1]),
    ).order_by("name")


def sources_needing_attention() -> QuerySet[SourceSystem]:
    """Enabled sources that are paused, or whose latest run failed or quarantined most of
    what it read: the work queue's "Legacy systems" card."""
    troubled = [RunStatus.FAILED, RunStatus.ATTENTION]
    return (
        source_list()
        .filter(enabled=True)
        .filter(Q(latest_status__in=troubled) | ~Q(paused_reason=""))
    )


def latest_runs(sources) -> dict[int, SyncRun]:
    """The latest run of each source given (annotated by `source_list`), by run id."""
    ids = [s.latest_run_id for s in sources if s.latest_run_id]
    return SyncRun.objects.in_bulk(ids)


def source_get(*, pk: int) -> SourceSystem:
    return get_object_or_404(SourceSystem, pk=pk)


def source_runs(*, source: SourceSystem) -> list[SyncRun]:
    return list(source.runs.order_by("-started_at")[:RECENT_RUNS])


def run_get(*, pk: int) -> SyncRun:
    return get_object_or_404(SyncRun.objects.select_related("source"), pk=pk)
