"""The sync engine (portal.sync.runs), by concern:

- `engine`: one run of one source, batch by batch (source_sync);
- `landing`: one batch landed in one transaction (land);
- `plan`: what a run lands and the content hash of a record;
- `claims`: which run is running, its heartbeat and progress, runs that died;
- `schedule`: which sources are due, resuming one, retrying quarantined records.

The names other modules use are imported here, so `from portal.sync import runs` and
`runs.source_sync(...)` keep working.
"""

from portal.sync.runs.claims import (
    NO_HEARTBEAT,
    REDELIVERED,
    TRANSIENT_ERRORS,
    RunHeartbeat,
    RunTakenOver,
    run_claim,
    runs_of_task_end,
    sources_with_dead_runs,
)
from portal.sync.runs.engine import looked_back, source_connector, source_sync
from portal.sync.runs.landing import customer_evidence, land
from portal.sync.runs.plan import Plan, content_hash
from portal.sync.runs.schedule import needs_full, quarantine_retry, source_resume, sources_due

__all__ = [
    "NO_HEARTBEAT",
    "REDELIVERED",
    "TRANSIENT_ERRORS",
    "Plan",
    "RunHeartbeat",
    "RunTakenOver",
    "content_hash",
    "customer_evidence",
    "land",
    "looked_back",
    "needs_full",
    "quarantine_retry",
    "run_claim",
    "runs_of_task_end",
    "source_connector",
    "source_resume",
    "source_sync",
    "sources_due",
    "sources_with_dead_runs",
]
