"""The audit trail of record changes: who changed which fields of what, and when.

Every registered model (each app registers its own: organisations and account
teams here, tiers, tickets, sync sources in theirs) is recorded whenever a row
is created, changed or deleted, whether
the change came through Django admin, a portal page, a service or a task, so
a change cannot slip past the trail by taking another road. The actor, their
address and whether they were viewing as the customer come from the request
being served (`AuditContextMiddleware`); work done by a worker or a command
has no actor and is recorded as the system's.

Queryset `update()`/`bulk_create()` bypass model signals: services that must
be audited save model instances (the sync engine's bulk upserts of synced
records are recorded by its own SyncRun rows instead).
"""

from __future__ import annotations

import contextvars
import datetime
import decimal
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace

from django.db import models
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

from accounts.choices import AuditAction

# Fields changed by routine bookkeeping (clocks, cursors, timestamps) that would
# drown the trail; a save that only touches these is not recorded.
_ALWAYS_IGNORED = {"updated_at", "created_at"}
# Audited models by label, each with the fields its saves leave out; every app
# registers its own models (register(), from its AppConfig.ready()).
AUDITED: dict[str, set[str]] = {}
_TEXT_LIMIT = 200  # long texts are cut in the trail: it says what changed, not the whole essay


@dataclass(frozen=True)
class AuditContext:
    actor_id: int | None = None
    # Or how to find it once a change is recorded: most requests record none, and working
    # out a client's address behind proxies is not free.
    ip_address: str | Callable[[], str | None] | None = None
    via_view_as: bool = False

    def ip(self) -> str | None:
        return self.ip_address() if callable(self.ip_address) else self.ip_address


_deleting_organisations: contextvars.ContextVar[frozenset] = contextvars.ContextVar(
    "audit_deleting_organisations", default=frozenset()
)
_NOBODY = AuditContext()  # frozen: safe to share as the default
_context: contextvars.ContextVar[AuditContext] = contextvars.ContextVar(
    "audit_context",
    default=_NOBODY,
)


@contextmanager
def acting(
    *,
    actor_id: int | None,
    ip_address: str | Callable[[], str | None] | None = None,
    via_view_as: bool = False,
):
    """Attribute the record changes made inside this block to `actor_id`."""
    token = _context.set(AuditContext(actor_id, ip_address, via_view_as))
    try:
        yield
    finally:
        _context.reset(token)


def attribute_to(actor_id: int) -> None:
    """From here on in this request, attribute changes to `actor_id`.

    For API tokens: DRF learns who is calling inside the view, after
    AuditContextMiddleware opened the request's context with nobody (Django's own
    authentication saw no session). The middleware's reset still ends it with the request.
    """
    _context.set(replace(_context.get(), actor_id=actor_id))


def login_username(request, credentials: dict) -> str:
    """The username axes counts failures for: emails are case-insensitive here."""
    from accounts.models import User

    credentials = credentials or {}
    return User.objects.normalize_email(credentials.get("username") or credentials.get("email"))


def _value(value):
    """A field value as JSON can hold it."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, decimal.Decimal | datetime.date | datetime.time | datetime.timedelta):
        return str(value)
    if isinstance(value, dict | list):
        return value
    text = str(value)
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"


def _fields(instance: models.Model) -> dict:
    ignored = _ALWAYS_IGNORED | AUDITED[instance._meta.label_lower]
    return {
        field.attname: _value(getattr(instance, field.attname))
        for field in instance._meta.concrete_fields
        if not field.primary_key and field.attname not in ignored
    }


def _organisation_id(instance: models.Model) -> int | None:
    if instance._meta.label_lower == "accounts.organisation":
        return instance.pk
    return getattr(instance, "organisation_id", None)


def _record(instance: models.Model, action: str, changes: dict) -> None:
    from accounts.models import AuditEvent

    context = _context.get()
    organisation_id = _organisation_id(instance)
    if organisation_id in _deleting_organisations.get():
        # Deleted with (or as) its organisation: the event cannot point at a row
        # being deleted; the target keeps its name.
        organisation_id = None
    label = f"{instance._meta.verbose_name} #{instance.pk}: {instance}"
    AuditEvent.objects.create(
        actor_id=context.actor_id,
        organisation_id=organisation_id,
        action=action,
        via_view_as=context.via_view_as,
        target=label[:200],
        detail={"model": instance._meta.label_lower, "pk": instance.pk, "changes": changes},
        ip_address=context.ip(),
    )


def _before_save(sender, instance, raw=False, **kwargs):
    if raw or instance._state.adding or instance.pk is None:
        return
    previous = sender._default_manager.filter(pk=instance.pk).first()
    instance._audit_before = _fields(previous) if previous is not None else None


def _after_save(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    after = _fields(instance)
    before = getattr(instance, "_audit_before", None)
    instance._audit_before = None
    if created or before is None:
        changes = {name: [None, value] for name, value in after.items() if value not in (None, "")}
        _record(instance, AuditAction.RECORD_CREATED, changes)
        return
    changes = {
        name: [before.get(name), value]
        for name, value in after.items()
        if before.get(name) != value
    }
    if changes:
        _record(instance, AuditAction.RECORD_CHANGED, changes)


def _after_delete(sender, instance, **kwargs):
    _record(instance, AuditAction.RECORD_DELETED, {})
    if sender._meta.label_lower == "accounts.organisation":
        _deleting_organisations.set(_deleting_organisations.get() - {instance.pk})


def _organisation_deleting(sender, instance, **kwargs):
    # pre_delete of the organisation comes before its cascade deletes anything.
    _deleting_organisations.set(_deleting_organisations.get() | {instance.pk})


def _locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    from accounts.models import AuditEvent, User

    user = User.objects.filter(email__iexact=username or "").first() if username else None
    AuditEvent.objects.create(
        actor=user,
        action=AuditAction.LOGIN_LOCKED_OUT,
        target=(username or "")[:200],
        detail={"path": getattr(request, "path", "")},
        ip_address=ip_address,
    )


def register(model: type[models.Model], *, ignore: set[str] | frozenset = frozenset()) -> None:
    """Record every change to `model`, leaving out saves that only touch `ignore`d fields
    (clocks and cursors that would drown the trail)."""
    label = model._meta.label_lower
    AUDITED[label] = set(ignore)
    uid = f"audit:{label}"
    pre_save.connect(_before_save, sender=model, dispatch_uid=uid)
    post_save.connect(_after_save, sender=model, dispatch_uid=uid)
    post_delete.connect(_after_delete, sender=model, dispatch_uid=uid)


def connect() -> None:
    """Called once from AccountsConfig.ready(): the accounts' own models and the lockouts."""
    from axes.signals import user_locked_out

    from accounts.models import AccountAssignment, Organisation

    register(Organisation)
    register(AccountAssignment)
    pre_delete.connect(_organisation_deleting, sender=Organisation, dispatch_uid="audit")
    user_locked_out.connect(_locked_out, dispatch_uid="audit:locked_out")
