"""Read a paginated JSON API, one page per batch.

Configuration keys:

- ``url`` (required): the first page's URL.
- ``token_env``: name of the environment variable holding the bearer token, read
  when a run starts; sent as ``Authorization: Bearer <token>``. Left out for an
  API that asks for none.
- ``since_param``: query parameter carrying the cursor on the first request,
  when there is one (default ``updated_since``). Later pages are fetched from
  the ``next`` links as given, which are expected to carry it on.
- ``results_key``: key (or dotted path) of the page's list of records (default
  ``results``).
- ``pagination``: how the API pages, one of

  - ``next`` (default): the next page's URL at ``next_key`` (a dotted path, default
    ``next``), null on the last page, or else a ``Link: <...>; rel="next"`` header
    (RFC 8288). Relative links are resolved against the page's URL; a link to
    another scheme, host or port is refused, so the token never leaves the API.
    Later pages are fetched from the links as given, which carry the query on.
  - ``cursor``: a token at ``next_key`` (dotted, default ``next_cursor``, e.g.
    ``meta.next_cursor``), sent back as the query parameter ``cursor_param``
    (default ``cursor``) with the first request's parameters; none or empty ends.
  - ``offset``: ``offset_param`` (default ``offset``) and ``limit_param`` (default
    ``limit``) with ``page_size`` (default 100); the offset grows by what each page
    held, so an API that caps the page size is still read through.
  - ``page``: ``page_param`` (default ``page``) from ``first_page`` (default 1), with
    ``page_size_param`` = ``page_size`` when given.

  Offset and page numbers end on an empty page or once the page's total is read.
- ``more_key`` / ``total_key``: where a page says whether more exists (``has_more``)
  and how many records there are in all (``total``); by default the usual names
  (``has_more``, ``hasNextPage``, ``next_cursor``, ``total``, ``count``...) are
  looked for at the top of the page and one object down (``false`` turns that look
  off for an API whose ``count`` means something else). A page taken as the last
  that says more exists (such a flag, a next token or link not followed, a
  ``Link rel="next"`` header, a total above what was read) fails the run, naming
  the page and what it said: a run never ends "succeeded" with records unread.
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
from portal.sync.converters import ABSENT
from portal.sync.mapping import walk as walk_path

MAX_RETRY_AFTER = 60.0
RETRYABLE_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


PAGINATIONS = ("next", "cursor", "offset", "page")
# Keys by which APIs say that more pages exist, looked for at the top of a page and one
# level down ("meta", "pagination", "links", "pageInfo"...), to refuse ending a run there.
MORE_KEYS = ("has_more", "hasMore", "has_next", "hasNext", "hasNextPage", "has_next_page",
             "more", "more_results", "moreResults")  # fmt: skip
NEXT_KEYS = ("next", "next_url", "nextUrl", "next_page", "nextPage", "next_cursor",
             "nextCursor", "next_page_token", "nextPageToken", "next_token", "nextToken",
             "next_link", "nextLink", "@odata.nextLink", "continuation",
             "continuation_token")  # fmt: skip
TOTAL_KEYS = ("total", "total_count", "totalCount", "total_results", "totalResults",
              "total_items", "totalItems", "count", "total_size", "totalSize")  # fmt: skip


class HttpApiConnector:
    def __init__(self, config: Mapping[str, Any]) -> None:
        self.url: str = required(config, "url")
        self.token_env: str = config.get("token_env", "")  # none: an open API
        self.since_param: str = config.get("since_param", "updated_since")
        self.results_key: str = config.get("results_key", "results")
        self.pagination: str = config.get("pagination", "next")
        if self.pagination not in PAGINATIONS:
            raise PermanentError(
                f"'pagination' must be one of {', '.join(PAGINATIONS)}, not {self.pagination!r}"
            )
        default_next = "next_cursor" if self.pagination == "cursor" else "next"
        self.next_key: str = config.get("next_key", default_next)
        self.cursor_param: str = config.get("cursor_param", "cursor")
        self.offset_param: str = config.get("offset_param", "offset")
        self.limit_param: str = config.get("limit_param", "limit")
        self.page_param: str = config.get("page_param", "page")
        self.page_size = _positive(config, "page_size", 100)
        self.page_size_param: str | None = config.get("page_size_param")
        self.first_page = int(config.get("first_page", 1))
        self.more_key: str | None = config.get("more_key")
        self.total_key: str | None = config.get("total_key")
        self.cursor_field: str = config.get("cursor_field", "updated_at")
        self.timeout = float(config.get("timeout", 10))
        self.max_retries = max(0, int(config.get("max_retries", 4)))
        self.backoff = float(config.get("backoff", 0.5))

    def fetch(self, cursor: str | None, *, started_at: datetime) -> Iterator[Batch]:
        headers = {"Accept": "application/json"}
        if self.token_env:
            headers["Authorization"] = f"Bearer {secret_from_env(self.token_env)}"
        base = {self.since_param: cursor} if cursor is not None else {}
        highest: datetime | None = None
        read = pages = 0
        url: str | None = self.url
        params = self._first_params(base)
        with httpx.Client(headers=headers, timeout=self.timeout) as client:
            while url is not None:
                response = self._get(client, url, params)
                page = _json_object(response)
                records = self._records(page, response)
                read, pages = read + len(records), pages + 1
                following = self._following(page, response, records, base, params, read)
                if following is None:
                    self._check_last(page, response, read, pages)
                moments = [m for m in map(self._moment, records) if m is not None]
                if moments and (highest is None or max(moments) > highest):
                    highest = max(moments)
                yield Batch(
                    records=records,
                    cursor=_cursor_text(highest, started_at),
                    label=str(response.url),
                    columns=sorted({key for record in records for key in record}),
                    pages=1,
                )
                url, params = following if following is not None else (None, {})

    def finish(self, *, succeeded: bool) -> None:
        """Nothing to clean up: the client closes when fetch ends."""

    # Pagination

    def _first_params(self, base: dict[str, str]) -> dict[str, Any]:
        if self.pagination == "offset":
            return {**base, self.offset_param: 0, self.limit_param: self.page_size}
        if self.pagination == "page":
            return {**base, self.page_param: self.first_page, **self._page_size_param()}
        return base

    def _page_size_param(self) -> dict[str, int]:
        return {self.page_size_param: self.page_size} if self.page_size_param else {}

    def _following(
        self,
        page: dict[str, Any],
        response: httpx.Response,
        records: list,
        base: dict[str, str],
        params: dict[str, Any],
        read: int,
    ) -> tuple[str, dict[str, Any]] | None:
        """The next request (URL and query), or None when this page is the last one."""
        if self.pagination == "next":
            link = walk(page, self.next_key)
            if link is None:
                link = response.links.get("next", {}).get("url")  # RFC 8288 Link header
            if link is None:
                return None
            return self._checked_link(link, response), {}
        if self.pagination == "cursor":
            token = walk(page, self.next_key)
            if token in (None, ""):
                return None
            if not isinstance(token, str | int):
                raise ShapeError(f"{response.url}: {self.next_key!r} is not a token: {token!r}")
            return self.url, {**base, self.cursor_param: token}
        # offset / page: an empty page, or a total reached, is the end.
        total = self._total(page)
        if not records or (total is not None and read >= total):
            return None
        if self.pagination == "offset":
            offset = int(params.get(self.offset_param, 0)) + len(records)
            return self.url, {**params, self.offset_param: offset}
        return self.url, {**params, self.page_param: int(params[self.page_param]) + 1}

    def _checked_link(self, link: Any, response: httpx.Response) -> str:
        if not isinstance(link, str):
            raise ShapeError(f"{response.url}: {self.next_key!r} is not a URL: {link!r}")
        if "/" not in link and "?" not in link:
            raise PermanentError(
                f"{response.url}: {self.next_key!r} holds {link!r}, a token rather than a link:"
                ' set "pagination": "cursor" and the query parameter that sends it back'
                ' ("cursor_param")'
            )
        url = urljoin(str(response.url), link)
        if _origin(url) != _origin(self.url):
            raise PermanentError(f"{response.url}: refusing to follow a next link to {url}")
        return url

    def _check_last(self, page: dict[str, Any], response: httpx.Response, read: int, pages: int):
        """A page taken as the last must not say that more exists: the run fails rather
        than end "succeeded" with records never read."""
        said = self._says_more(page, response, read)
        if said:
            raise PermanentError(
                f"page {pages} ({response.url}) says more exists ({said}), but this source's "
                f'pagination ("pagination": "{self.pagination}", "next_key": '
                f'"{self.next_key}") found no next page after {read:,} records: '
                "configure how this API pages"
            )

    def _says_more(self, page: dict[str, Any], response: httpx.Response, read: int) -> str:
        next_link = response.links.get("next", {}).get("url")
        if next_link:
            return f'a Link header rel="next" to {next_link}'
        for path in self._where(self.more_key, page, MORE_KEYS):
            if walk(page, path) is True:
                return f'"{path}": true'
        for path in _paths(page, NEXT_KEYS):
            if path != self.next_key and walk(page, path) not in (None, "", False, [], {}):
                return f'"{path}": {walk(page, path)!r}'
        total = self._total(page)
        if total is not None and total > read:
            return f"a total of {total:,}"
        return ""

    @staticmethod
    def _where(configured: Any, page: dict[str, Any], usual: tuple[str, ...]) -> list[str]:
        """The configured path; none when set to false or ""; else the usual names found."""
        if configured is None:
            return _paths(page, usual)
        return [configured] if configured else []

    def _total(self, page: dict[str, Any]) -> int | None:
        for path in self._where(self.total_key, page, TOTAL_KEYS):
            value = walk(page, path)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return None

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
        records = walk(page, self.results_key)
        if not isinstance(records, list):
            raise ShapeError(f"{response.url}: the response has no {self.results_key!r} list")
        if not all(isinstance(record, dict) for record in records):
            raise ShapeError(f"{response.url}: {self.results_key!r} holds non-objects")
        return records

    def _moment(self, record: dict[str, Any]) -> datetime | None:
        value = record.get(self.cursor_field)
        if not isinstance(value, str):
            return None
        try:
            return _as_utc(datetime.fromisoformat(value))
        except ValueError:
            return None


def walk(page: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of a page ("meta.next_cursor"), None where there is none."""
    value = walk_path(page, path)
    return None if value is ABSENT else value


def _paths(page: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    """The paths of `keys` at the top of a page and one object down."""
    found = [key for key in keys if key in page]
    for name, value in page.items():
        if isinstance(value, dict):
            found += [f"{name}.{key}" for key in keys if key in value]
    return found


def _positive(config: Mapping[str, Any], key: str, default: int) -> int:
    value = config.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise PermanentError(f"config key {key!r} must be a positive integer, not {value!r}")
    return value


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
