"""Read a paginated JSON API, one page per batch.

Configuration keys:

- ``url`` (required): the first page's URL.
- ``token_env``: name of the environment variable holding the bearer token, read
  when a run starts; sent as ``Authorization: Bearer <token>``. Left out for an
  API that asks for none.
- ``since_param``: query parameter carrying the cursor on the first request,
  when there is one (default ``updated_since``). Later pages are fetched from
  the ``next`` links as given, which are expected to carry it on.
- ``results_key``: key of the page's list of records (default ``results``).
- ``next_key``: key of the next page's URL, null on the last page (default
  ``next``). Relative links are resolved against the page's URL; a link to
  another scheme, host or port is refused, so the token never leaves the API.
- ``cursor_field``: ISO 8601 field of each record that grows when it changes
  (default ``updated_at``). Records where it is missing or unparseable do not
  move the cursor (which at worst reads them again next run).
- ``timeout``: seconds for connecting and for each read (default 10).
- ``max_retries``: retries of a request after a transient failure (timeout,
  connection error, 429, 5xx) before the run fails with TransientError, so a
  request is tried at most ``1 + max_retries`` times (default 4).
- ``backoff``: base delay in seconds between tries (default 0.5), doubled each
  retry, with jitter; a ``Retry-After`` in seconds is honoured up to 60 s.

Each batch's cursor is min(highest ``cursor_field`` seen so far, started_at),
naive values taken as UTC, written in UTC as ISO 8601.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from portal.sync.base import Batch, PermanentError, ShapeError, TransientError
from portal.sync.connectors import required, secret_from_env

MAX_RETRY_AFTER = 60.0
RETRYABLE_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class HttpApiConnector:
    def __init__(self, config: Mapping[str, Any]) -> None:
        self.url: str = required(config, "url")
        self.token_env: str = config.get("token_env", "")  # none: an open API
        self.since_param: str = config.get("since_param", "updated_since")
        self.results_key: str = config.get("results_key", "results")
        self.next_key: str = config.get("next_key", "next")
        self.cursor_field: str = config.get("cursor_field", "updated_at")
        self.timeout = float(config.get("timeout", 10))
        self.max_retries = max(0, int(config.get("max_retries", 4)))
        self.backoff = float(config.get("backoff", 0.5))

    def fetch(self, cursor: str | None, *, started_at: datetime) -> Iterator[Batch]:
        headers = {"Accept": "application/json"}
        if self.token_env:
            headers["Authorization"] = f"Bearer {secret_from_env(self.token_env)}"
        params = {self.since_param: cursor} if cursor is not None else {}
        highest: datetime | None = None
        url: str | None = self.url
        with httpx.Client(headers=headers, timeout=self.timeout) as client:
            while url is not None:
                response = self._get(client, url, params)
                page = _json_object(response)
                records = self._records(page, response)
                moments = [m for m in map(self._moment, records) if m is not None]
                if moments and (highest is None or max(moments) > highest):
                    highest = max(moments)
                yield Batch(
                    records=records,
                    cursor=_cursor_text(highest, started_at),
                    label=str(response.url),
                    columns=sorted({key for record in records for key in record}),
                )
                url, params = self._next_url(page, response), {}

    def finish(self, *, succeeded: bool) -> None:
        """Nothing to clean up: the client closes when fetch ends."""

    def _get(self, client: httpx.Client, url: str, params: dict[str, str]) -> httpx.Response:
        """The 2xx response for `url`, retrying transient failures."""
        tries = 1 + self.max_retries
        for attempt in range(1, tries + 1):
            try:
                # An empty dict would wipe the query string of a `next` link: pass None instead.
                response = client.get(url, params=params or None)
            except RETRYABLE_ERRORS as error:
                reason, retry_after = f"{type(error).__name__}: {error}", None
            except httpx.HTTPError as error:  # a malformed URL, an unsupported scheme
                raise PermanentError(f"GET {url}: {error}") from error
            else:
                if not _is_transient(response.status_code):
                    return _checked(response)
                reason = f"HTTP {response.status_code}"
                retry_after = _retry_after(response)
            if attempt < tries:
                time.sleep(self._delay(attempt, retry_after))
        raise TransientError(f"GET {url} failed after {tries} tries, last: {reason}")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        delay = self.backoff * 2 ** (attempt - 1)
        # Jitter spreads the retries of many runs hitting the same API at once.
        delay = delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 (not cryptographic)
        return max(delay, retry_after or 0.0)

    def _records(self, page: dict[str, Any], response: httpx.Response) -> list[dict[str, Any]]:
        records = page.get(self.results_key)
        if not isinstance(records, list):
            raise ShapeError(f"{response.url}: the response has no {self.results_key!r} list")
        if not all(isinstance(record, dict) for record in records):
            raise ShapeError(f"{response.url}: {self.results_key!r} holds non-objects")
        return records

    def _next_url(self, page: dict[str, Any], response: httpx.Response) -> str | None:
        link = page.get(self.next_key)
        if link is None:
            return None
        if not isinstance(link, str):
            raise ShapeError(f"{response.url}: {self.next_key!r} is not a URL: {link!r}")
        url = urljoin(str(response.url), link)
        if _origin(url) != _origin(self.url):
            raise PermanentError(f"{response.url}: refusing to follow a next link to {url}")
        return url

    def _moment(self, record: dict[str, Any]) -> datetime | None:
        value = record.get(self.cursor_field)
        if not isinstance(value, str):
            return None
        try:
            return _as_utc(datetime.fromisoformat(value))
        except ValueError:
            return None


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        page = response.json()
    except ValueError as error:
        raise ShapeError(f"{response.url}: the response is not JSON") from error
    if not isinstance(page, dict):
        raise ShapeError(f"{response.url}: the response is not a JSON object")
    return page


def _checked(response: httpx.Response) -> httpx.Response:
    """`response` if it succeeded; PermanentError for a refusal or other non-2xx."""
    status = response.status_code
    if status in (401, 403):
        raise PermanentError(f"GET {response.url}: credentials refused (HTTP {status})")
    if not 200 <= status < 300:
        raise PermanentError(f"GET {response.url}: HTTP {status}")
    return response


def _is_transient(status: int) -> bool:
    return status == 429 or status >= 500


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return min(float(response.headers["Retry-After"]), MAX_RETRY_AFTER)
    except (KeyError, ValueError):
        return None  # absent, or an HTTP date: the backoff will do


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _cursor_text(highest: datetime | None, started_at: datetime) -> str | None:
    if highest is None:
        return None
    return min(highest, _as_utc(started_at)).isoformat()
