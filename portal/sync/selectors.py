"""Reads of the sync for staff screens: the sources, their runs, one run's counters."""

from django.db.models import OuterRef, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from portal.sync.models import SourceSystem, SyncRun

RECENT_RUNS = 20


def source_list() -> QuerySet[SourceSystem]:
    """Every source with its latest run's id (`latest_run_id`), in one query."""
    latest = SyncRun.objects.filter(source=OuterRef("pk")).order_by("-started_at").values("pk")
    return SourceSystem.objects.annotate(latest_run_id=Subquery(latest[:1])).order_by("name")


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
