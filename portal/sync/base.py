"""The small interface between connectors (I/O) and the sync engine (mapping, identity, writes).

A connector reads one source system and yields its raw records in batches.
It knows nothing of the database: the engine stores each batch, and the
cursor that batch carries, in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class SyncError(Exception):
    """Something stopped a sync run."""


class TransientError(SyncError):
    """May pass if tried again later (timeouts, 5xx, a database restarting)."""


class PermanentError(SyncError):
    """Will not pass by retrying: bad configuration, refused credentials."""


class ShapeError(PermanentError):
    """The source's shape changed (a required column is missing, a type changed).

    The source is paused with this message and nothing of the run is written.
    """


@dataclass
class Batch:
    """Raw records as the source gives them, and what to remember once they landed."""

    records: list[dict[str, Any]]
    # The cursor to store in the same transaction as this batch; None keeps the old one.
    cursor: str | None = None
    # Where the records came from (a file name, a page URL), for progress and quarantine.
    label: str = ""
    # Set on the last batch of a file: its checksum, recorded as processed with the batch.
    completed_file: str | None = None
    # Set on every batch of a full snapshot (a file holding the whole set): the engine
    # remembers their keys, and on the last one marks the source's records not seen deleted.
    snapshot: bool = False
    snapshot_complete: bool = False
    # Source columns present, so the engine can refuse a changed shape before writing.
    columns: list[str] = field(default_factory=list)
    # Pages of the source this batch read (an API's page is one batch; files have none).
    pages: int = 0


class Connector(Protocol):
    def fetch(self, cursor: str | None, *, started_at: datetime) -> Iterator[Batch]:
        """Yield batches of records changed since `cursor` (all of them when None).

        The cursor comparison is inclusive (records exactly at the cursor come
        again; the engine's upsert makes that harmless) and a batch's cursor
        never goes past `started_at`, so records changed during the run are
        read again by the next one.
        """
        ...

    def finish(self, *, succeeded: bool) -> None:
        """Clean up after the run, e.g. archive the files that were processed."""
        ...
