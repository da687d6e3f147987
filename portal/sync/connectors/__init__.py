"""Connectors: read one kind of source system and yield its raw records in batches.

`build_connector` picks the connector for a `SourceSystem`'s kind and config.
The small helpers below are shared by the connector modules; they live here
rather than in the modules so each connector reads its configuration the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from portal.sync.base import Connector, PermanentError

__all__ = ["batch_size_of", "build_connector", "required", "secret_from_env"]

DEFAULT_BATCH_SIZE = 5000


def build_connector(
    kind: str,
    config: Mapping[str, Any],
    *,
    is_processed: Callable[[str], bool] | None = None,
) -> Connector:
    """The connector for `kind` ("sql", "csv" or "http"), configured by `config`.

    `is_processed(checksum)` tells the CSV connector which files already landed.
    """
    # Imported here: the modules import the helpers below, and a run needs one kind only.
    if kind == "sql":
        from portal.sync.connectors.sql import SqlConnector

        return SqlConnector(config)
    if kind == "csv":
        from portal.sync.connectors.csv_drop import CsvDropConnector

        if is_processed is None:
            raise TypeError("the csv connector needs is_processed(checksum)")
        return CsvDropConnector(config, is_processed)
    if kind == "http":
        from portal.sync.connectors.http_api import HttpApiConnector

        return HttpApiConnector(config)
    raise PermanentError(f"unknown connector kind {kind!r} (expected sql, csv or http)")


def required(config: Mapping[str, Any], key: str) -> Any:
    """`config[key]`, or a PermanentError naming the missing key."""
    value = config.get(key)
    if value in (None, ""):
        raise PermanentError(f"config key {key!r} is required")
    return value


def batch_size_of(config: Mapping[str, Any]) -> int:
    size = config.get("batch_size", DEFAULT_BATCH_SIZE)
    # bool is an int subclass; `true` in a JSON config is a mistake, not a size.
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise PermanentError(f"config key 'batch_size' must be a positive integer, not {size!r}")
    return size


def secret_from_env(name: str) -> str:
    """The secret in environment variable `name`, read when a run starts (never stored)."""
    value = os.environ.get(name)
    if not value:
        raise PermanentError(f"environment variable {name} is not set")
    return value
