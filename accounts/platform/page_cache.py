"""Rendered page content kept between requests, never shown after the data changed.

Most of a page's cost is Django building querysets and rendering templates, not SQL
(docs/benchmarks.md), and most requests show what the previous one did. So a page's
content block is kept in the cache (Redis in production), under a key that holds:

- a **data version per organisation** shown (`versions`) and one **global**
  version for what every page shows (tiers, sources, sync batches, matches, health).
  Pages across a person's accounts use a version per person instead, renewed with each
  of their organisations' (or `any`, renewed with every organisation's, for people who
  see them all), so their cost does not grow with the number of accounts.
  Writes replace the versions they touch with new random tokens (`bump`), again once
  their transaction has committed, so the next request after a ticket reply, a sync
  batch or a match builds the content afresh. A token is never reused, so an evicted
  version can never bring back old content;
- the **minute**, so what changes with the clock alone (an SLA turning "at risk",
  "3 minutes ago") is at most a minute old. Each browser's minute starts at its own
  second, so everyone's content is not built again at the same moment;
- the **person, their CSRF secret and the URL**: content is never shared between people,
  and the forms it holds carry tokens that person's browser can post back.

Which writes renew which version is decided in one place, below: every model save and
delete (by the row's organisation, else everything), and `bump` called by the bulk writes
that skip model signals (sync batches, identity links, the SLA scan, health runs).
Without the cache (Redis down) pages are built as if nothing were kept and writes still
succeed; a version that could not be renewed leaves what was kept before the write to end
with its minute.

`PageCache` is what a view hands to its template; `{% cached page_cache %}` (accounts'
`ui` tags) wraps the block it keeps, and only a miss calls the view's `fill()` for the
data, so a hit runs none of the page's own queries.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone, translation

from accounts import policy

logger = logging.getLogger(__name__)

GLOBAL = "global"
ANY = "any"  # renewed with every organisation's: for pages across all organisations
KEEP_SECONDS = 120  # the key changes every minute; the previous minute's entries expire
PREFIX = "pagecache:v2"
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


def _version_key(scope: int | str) -> str:
    return f"{PREFIX}:version:{scope}"


def versions(scopes: Iterable[int | str]) -> list[str]:
    """The current token of each scope (an organisation's id, or GLOBAL), in order.

    A scope without a token (never bumped, or evicted) gets a fresh one, so content kept
    under an earlier token can never match again.
    """
    scopes = list(scopes)
    keys = [_version_key(scope) for scope in scopes]
    found = cache.get_many(keys)
    missing = {key: uuid.uuid4().hex for key in keys if key not in found}
    if missing:
        for key, token in missing.items():
            cache.add(key, token, timeout=None)  # another process may have been first
        found.update(cache.get_many(list(missing)))
    return [found.get(key) or missing[key] for key in keys]


def _person(user_id: int) -> str:
    return f"person:{user_id}"


def _people_of(organisation_ids: list[int]) -> list[int]:
    """Who sees these organisations on pages across their accounts: their members and
    account teams, past ones too (an ended assignment takes the account off a page)."""
    from accounts.models import AccountAssignment, Membership

    # No ordering: SQLite refuses ORDER BY inside a UNION (the models have default orders).
    members = Membership.objects.filter(organisation_id__in=organisation_ids).order_by()
    teams = AccountAssignment.objects.filter(organisation_id__in=organisation_ids).order_by()
    return list(members.values_list("user_id", flat=True).union(teams.values_list("user_id")))


def bump(organisation_ids: Iterable[int] = (), *, everything: bool = False) -> None:
    """Mark content showing these organisations (or all content) out of date.

    New tokens now, and again once the current transaction commits: a request between
    the two may keep the old rows under the first token, never under the second.
    """
    scopes = [GLOBAL] if everything else sorted({pk for pk in organisation_ids if pk})
    if not scopes or not settings.PAGE_CACHE:
        return
    if not everything:
        scopes += [ANY, *(_person(pk) for pk in _people_of(scopes))]

    def renew() -> None:
        if not enabled():  # down a moment ago: what was kept ends with its minute
            return
        try:
            cache.set_many({_version_key(scope): uuid.uuid4().hex for scope in scopes}, None)
        except Exception:  # the write stands; what was kept before it ends with its minute
            _failed(f"renew {scopes}")

    if transaction.get_connection().in_atomic_block:
        renew()
    transaction.on_commit(renew)


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
    if across_accounts:  # renewed with each of the person's organisations (bump)
        user = request.user
        # Admins see every organisation, agents their department's tickets in any.
        everyone = policy.sees_everything(user) or bool(getattr(user, "department", ""))
        organisation_ids = [ANY if everyone else _person(user.pk)]
    elif organisation_ids is None:
        organisation = getattr(request, "organisation", None)
        organisation_ids = [organisation.pk] if organisation else []
    secret = request.META.get("CSRF_COOKIE")
    if not secret or not request.user.is_authenticated or not enabled():
        return PageCache(None, fill, name)
    try:
        tokens = versions([GLOBAL, *organisation_ids])
    except Exception:  # the cache is down: build the page, keep nothing
        _failed("read the versions")
        return PageCache(None, fill, name)
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
    parts += [minute, *tokens]
    digest = hashlib.blake2b("\n".join(parts).encode(), digest_size=16).hexdigest()
    return PageCache(f"{PREFIX}:page:{digest}", fill, name)


# --- Which writes make which content out of date -------------------------------------------

APPS = {"accounts", "portal", "tickets", "tiers", "knowledge"}
# Rows no kept content shows, written often (each API call, each sync batch's progress).
IGNORED = {
    "accounts.auditevent",
    "accounts.apitoken",
    "accounts.sentnotification",
    "accounts.pendingtask",
    "portal.syncrun",
    "portal.processedfile",
}
# Bookkeeping saves no kept content shows (or only as a time, "synced 3 minutes ago", which
# is at most a minute old anyway): a person's sign-in, a sync run's cursor and clocks, so a
# run that lands nothing renews nothing.
BOOKKEEPING = {
    "accounts.user": {"last_login", "password"},
    "portal.sourcesystem": {"cursor", "last_started_at", "last_success_at", "last_full_at"},
}


def _changed(sender, instance, **kwargs) -> None:
    label = sender._meta.label_lower
    if sender._meta.app_label not in APPS or label in IGNORED:
        return
    update_fields = kwargs.get("update_fields")
    if update_fields and set(update_fields) <= BOOKKEEPING.get(label, set()):
        return
    organisation_id = _organisation_of(instance)
    if organisation_id is None:
        bump(everything=True)  # tiers, calendars, people, sources: shown on many pages
    else:
        bump([organisation_id])


def _organisation_of(instance) -> int | None:
    """The organisation a row belongs to: its own, its ticket's, or None (shared)."""
    if type(instance).__name__ == "Organisation":
        return instance.pk
    if hasattr(instance, "organisation_id"):
        return instance.organisation_id
    ticket_id = getattr(instance, "ticket_id", None)
    if ticket_id is not None:  # a message, an attachment, a rating (tickets is above accounts)
        tickets = instance._meta.get_field("ticket").related_model.objects
        return tickets.filter(pk=ticket_id).values_list("organisation_id", flat=True).first()
    return None


def connect() -> None:
    """Called once from AccountsConfig.ready()."""
    from django.db.models.signals import m2m_changed, post_delete, post_save

    post_save.connect(_changed, dispatch_uid="page_cache:save")
    post_delete.connect(_changed, dispatch_uid="page_cache:delete")
    m2m_changed.connect(_m2m_changed, dispatch_uid="page_cache:m2m")


def _m2m_changed(sender, instance, action, **kwargs) -> None:
    if action.startswith("post_"):
        _changed(type(instance), instance)
