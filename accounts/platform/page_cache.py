"""Rendered page content kept between requests, never shown after the data changed.

Most of a page's cost is Django building querysets and rendering templates, not SQL
(docs/benchmarks.md), and most requests show what the previous one did. So a page's
content block is kept in the cache (Redis in production), under a key that holds:

- the **data versions** of what it shows (accounts/platform/data_versions.py): of the
  organisation whose screens it renders and of the shared rows (tiers, sources, people),
  read from the database before the page's own data, so a write committed in between is
  never kept under the newer version. The database renews them, with triggers, in the
  transaction of every write that touches those rows, whichever path made it. Pages across
  a person's accounts hold one value for all of them (`read_person`), people who see every
  organisation one for the whole table (`read_everything`), so their cost does not grow
  with the number of accounts;
- the **minute**, so what changes with the clock alone (an SLA turning "at risk",
  "3 minutes ago") is at most a minute old. Each browser's minute starts at its own
  second, so everyone's content is not built again at the same moment;
- the **person, their CSRF secret and the URL**: content is never shared between people,
  and the forms it holds carry tokens that person's browser can post back.

Without the cache (Redis down) pages are built as if nothing were kept and writes still
succeed: a write renews versions in the database, never in the cache.

`PageCache` is what a view hands to its template; `{% cached page_cache %}` (accounts'
`ui` tags) wraps the block it keeps, and only a miss calls the view's `fill()` for the
data, so a hit runs none of the page's own queries.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone, translation

from accounts import policy
from accounts.platform import data_versions

logger = logging.getLogger(__name__)

KEEP_SECONDS = 120  # the key changes every minute; the previous minute's entries expire
PREFIX = "pagecache:v3"
clock = time.time  # seconds; tests move it
# After a cache call fails (Redis refusing, or hanging until the socket timeout), this
# process builds pages without it for this long: a hanging Redis costs one request one
# timeout, not every request every call.
RETRY_AFTER_SECONDS = 5.0
_down_until = 0.0
# Hits and misses per page in this process (bench_pages and bench_load report them).
counts: dict[str, dict[str, int]] = {}


def enabled() -> bool:
    """Kept content is on (settings.PAGE_CACHE) and the cache answered lately."""
    return settings.PAGE_CACHE and time.monotonic() >= _down_until


def _failed(what: str) -> None:
    global _down_until
    _down_until = time.monotonic() + RETRY_AFTER_SECONDS
    logger.warning("page cache: could not %s; pages are built without it for %ss",
                   what, RETRY_AFTER_SECONDS, exc_info=True)  # fmt: skip


def _count(name: str, outcome: str) -> None:
    page = counts.setdefault(name, {"hit": 0, "miss": 0})
    page[outcome] += 1
    logger.debug("page cache %s: %s", outcome, name)


@dataclass
class PageCache:
    """A page's content block, kept per person, URL and data version.

    `fill` returns the template variables the block needs; it runs only on a miss.
    `key` is None when the content must not be kept (no CSRF cookie yet: the block's
    forms would carry a token for a secret the browser does not have). `template` is
    the name of the template whose block is kept, part of the key: a fragment htmx swaps
    in and the whole page never share an entry.
    """

    key: str | None
    fill: Callable[[], dict]
    name: str = ""

    def _key(self, template: str) -> str:
        return f"{self.key}:{hashlib.blake2b(template.encode(), digest_size=8).hexdigest()}"

    def get(self, template: str = "") -> str | None:
        if not self.key or not enabled():
            return None
        try:
            html = cache.get(self._key(template))
        except Exception:  # the cache is down: the page is built, as without one
            _failed("read")
            return None
        _count(self.name, "miss" if html is None else "hit")
        return html

    def set(self, html: str, template: str = "") -> None:
        if not self.key or not enabled():
            return
        try:
            cache.set(self._key(template), html, KEEP_SECONDS)
        except Exception:
            _failed("keep")


def uncached(fill: Callable[[], dict]) -> PageCache:
    """For a `{% cached %}` template rendered with what must not be kept (a form's errors)."""
    return PageCache(None, fill)


def page_cache(
    request,
    name: str,
    fill: Callable[[], dict],
    *,
    organisation_ids: Iterable[int] | None = None,
    across_accounts: bool = False,
) -> PageCache:
    """The cache of page `name` for this request, showing these organisations' data: by
    default the organisation whose screens it renders; `across_accounts`, every
    organisation the person may see (staff pages)."""
    secret = request.META.get("CSRF_COOKIE")
    if not secret or not request.user.is_authenticated or not enabled():
        return PageCache(None, fill, name)
    with connection.cursor() as cursor:
        if across_accounts:
            user = request.user
            # Admins see every organisation, agents their department's tickets in any.
            if policy.sees_everything(user) or bool(getattr(user, "department", "")):
                versions = data_versions.read_everything(cursor)
            else:
                versions = data_versions.read_person(cursor, user.pk)
        else:
            if organisation_ids is None:
                organisation = getattr(request, "organisation", None)
                organisation_ids = [organisation.pk] if organisation else []
            versions = data_versions.read(cursor, list(organisation_ids))
    # Each browser's minute starts at its own second (from its CSRF secret): the content of
    # several people, or of one person's tabs and devices, is not all rebuilt at once.
    offset = int(hashlib.blake2b(secret.encode(), digest_size=2).hexdigest(), 16) % 60
    minute = str(int(clock() + offset) // 60)
    # A fragment, a history restore (Back after htmx pushed the URL) and a page are three
    # answers to one URL; the kept block's template name (CachedNode) keeps them apart too.
    htmx = [request.headers.get(h, "") for h in ("HX-Request", "HX-History-Restore-Request")]
    # The same content reads differently in another language or time zone.
    locale = [translation.get_language(), timezone.get_current_timezone_name()]
    parts = [name, str(request.user.pk), secret, request.get_full_path(), *htmx, *locale]
    parts += [minute, *map(str, versions)]
    digest = hashlib.blake2b("\n".join(parts).encode(), digest_size=16).hexdigest()
    return PageCache(f"{PREFIX}:page:{digest}", fill, name)
