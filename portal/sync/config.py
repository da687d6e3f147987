"""A source's configuration, checked when it is saved rather than first when it runs.

`config_problems` is what `SourceSystem.clean()` (and so the admin form) asks: keys the
source's kind does not know (a typo would otherwise be ignored), what its connector
refuses (a missing `url`, a bad `batch_size`), and the field mapping compiled for its
entity (unknown spec keys, a required field not mapped). It reads nothing from the
source itself: "Test this source" (portal/sync/preview.py) does that.
"""

from __future__ import annotations

from typing import Any

from portal.sync.base import PermanentError
from portal.sync.connectors import build_connector
from portal.sync.mapping import ConfigError, Layouts

# Keys every kind understands: the mapping, the batch size, and how its records link up.
COMMON_KEYS = {"fields", "batch_size", "customer_ids_are_ours", "order_system"}
KIND_KEYS = {
    "sql": {"dsn_env", "table", "columns", "cursor_column", "key_column", "query_timeout"},
    "csv": {
        "path", "pattern", "encoding", "delimiter", "archive", "snapshot", "layouts",
        "settle_seconds", "ready_marker",
    },
    "http": {
        "url", "token_env", "since_param", "results_key", "next_key", "cursor_field",
        "timeout", "max_retries", "backoff",
    },
}  # fmt: skip


def config_problems(*, kind: str, entity: str, config: Any) -> list[str]:
    """What is wrong with a source's configuration, in words for the admin form."""
    if not isinstance(config, dict):
        return ["The configuration must be a JSON object."]
    problems = []
    known = COMMON_KEYS | KIND_KEYS.get(kind, set())
    unknown = sorted(set(config) - known)
    if unknown:
        problems.append(
            f"Unknown key(s) {', '.join(map(repr, unknown))} for a {kind} source "
            f"(known: {', '.join(sorted(known))})."
        )
    try:
        build_connector(kind, config, is_processed=lambda checksum: False)
    except (PermanentError, ValueError, TypeError) as error:
        problems.append(f"{str(error)[:1].upper()}{str(error)[1:]}.")
    try:
        Layouts(entity, config)
    except ConfigError as error:
        problems.append(f"{str(error)[:1].upper()}{str(error)[1:]}.")
    return problems
