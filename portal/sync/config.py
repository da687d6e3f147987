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
from portal.sync.mapping import ConfigError, DeletionFlag, Layouts, did_you_mean

# Keys every kind understands: the mapping, the batch size, and how its records link up.
COMMON_KEYS = {
    "fields", "batch_size", "customer_ids_are_ours", "order_system", "null_values",
    "deleted_field", "deleted_values", "lookback_minutes", "attention_percent",
}  # fmt: skip
KIND_KEYS = {
    "sql": {"dsn_env", "table", "columns", "cursor_column", "key_column", "query_timeout"},
    "csv": {
        "path", "pattern", "encoding", "delimiter", "archive", "snapshot", "layouts",
        "sheet", "header_row", "settle_seconds", "ready_marker",
    },
    "http": {
        "url", "token_env", "since_param", "results_key", "next_key", "cursor_field",
        "timeout", "max_retries", "backoff", "pagination", "cursor_param", "offset_param",
        "limit_param", "page_param", "page_size", "page_size_param", "first_page", "more_key",
        "total_key",
    },
}  # fmt: skip
# What operators write for a key we spell otherwise: named in the error with our spelling.
CONFIG_SYNONYMS = {
    "na_values": "null_values", "nulls": "null_values", "null": "null_values",
    "missing_values": "null_values", "mapping": "fields", "columns_map": "fields",
    "delete_field": "deleted_field", "deleted_flag": "deleted_field", "deletion_flag":
    "deleted_field", "is_deleted": "deleted_field", "soft_delete_field": "deleted_field",
    "deleted_column": "deleted_field", "delete_values": "deleted_values",
    "lookback": "lookback_minutes", "look_back_minutes": "lookback_minutes",
    "overlap_minutes": "lookback_minutes", "attention_threshold": "attention_percent",
    "quarantine_percent": "attention_percent",
    "sheet_name": "sheet", "worksheet": "sheet", "tab": "sheet", "header": "header_row",
    "header_line": "header_row", "skip_rows": "header_row", "skiprows": "header_row",
    "charset": "encoding", "separator": "delimiter", "sep": "delimiter",
    "next_cursor": "next_key", "next_cursor_key": "next_key", "cursor_key": "next_key",
    "next_url": "next_key", "next_link": "next_key", "cursor_parameter": "cursor_param",
    "paging": "pagination", "pager": "pagination", "pagination_type": "pagination",
    "per_page": "page_size", "limit": "page_size", "page_limit": "page_size",
    "has_more_key": "more_key", "has_more": "more_key", "count_key": "total_key",
    "data_key": "results_key", "items_key": "results_key", "records_key": "results_key",
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
            f"Unknown key(s) {', '.join(map(repr, unknown))} for a {kind} source"
            f"{did_you_mean(unknown, known, CONFIG_SYNONYMS)} (known: {', '.join(sorted(known))})."
        )
    try:
        build_connector(kind, config, is_processed=lambda checksum: False)
    except (PermanentError, ValueError, TypeError) as error:
        problems.append(f"{str(error)[:1].upper()}{str(error)[1:]}.")
    for check in (lambda: Layouts(entity, config), lambda: DeletionFlag(config)):
        try:
            check()
        except ConfigError as error:
            problems.append(f"{str(error)[:1].upper()}{str(error)[1:]}.")
    problems += _run_setting_problems(config)
    return problems


def _run_setting_problems(config: dict) -> list[str]:
    problems = []
    lookback = config.get("lookback_minutes", 0)
    if isinstance(lookback, bool) or not isinstance(lookback, int) or lookback < 0:
        problems.append(f"'lookback_minutes' must be a whole number of minutes, not {lookback!r}.")
    share = config.get("attention_percent", 0)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 100:
        problems.append(f"'attention_percent' must be a number from 0 to 100, not {share!r}.")
    return problems
