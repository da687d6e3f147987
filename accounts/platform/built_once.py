"""Queries whose SQL is built once per process and run with each request's values.

Composing and compiling the staff workspace's querysets (the access policy, the SLA rule,
correlated counts) cost more CPU than PostgreSQL took to answer them (docs/benchmarks.md).
Their shape depends only on the asker's role in the access policy, not on who they are or
when they ask: so each is built once per role, language and database with stand-ins for
the user's id (and department), the moment and the day, and run with the real values put
where the stand-ins were. The ORM stays the one definition of each query.

A build must take the moment and the day it is given (never call timezone.now() itself):
`compiled` builds twice with different stand-ins and refuses a query whose other
parameters differ between the two, so a value baked in at build time cannot go unnoticed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime

from django.db import connection
from django.db.models import Model, QuerySet
from django.utils import timezone, translation

# Two sets of values no row has and nobody asks for.
_STAND_INS = (
    {
        "user": -2_718_281,
        "department": "stand-in-department-1",
        "now": datetime(1901, 2, 3, 4, 5, 6, 789_012, tzinfo=UTC),
        "today": date(1901, 2, 3),
        "pk": -1_618_033,
    },
    {
        "user": -3_141_592,
        "department": "stand-in-department-2",
        "now": datetime(1902, 3, 4, 5, 6, 7, 891_234, tzinfo=UTC),
        "today": date(1902, 3, 4),
        "pk": -1_414_213,
    },
)

Build = Callable[..., QuerySet]  # build(user, now, today[, pk]) -> the query


def compiled(
    build: Build,
    user,
    *,
    now: datetime | None = None,
    today: date | None = None,
    pk: int | None = None,
) -> tuple[str, list]:
    """The SQL and parameters of `build(user, now, today)`, built once per role; with `pk`
    (one row's id, e.g. from the URL), of `build(user, now, today, pk)`.

    `build` must be a module-level function (it is part of the cache's key)."""
    now = now or timezone.now()
    today = today or timezone.localdate()
    sql, params, slots = _built(build, *_key_of(user), pk is not None)[:3]
    values = {
        "user": user.pk,
        "department": user.department,
        "now": _adapted(now),
        "today": _adapted(today),
        "pk": pk,
    }
    return sql, [values[slots[i]] if i in slots else p for i, p in enumerate(params)]


def rows(build: Build, user, **moment) -> list[dict]:
    """The query's rows as dicts (for counts and plain values: no field converters)."""
    sql, params = compiled(build, user, **moment)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def objects(build: Build, user, *, limit: int | None = None, offset: int = 0, **moment):
    """The query's model instances, its annotations as their attributes (the build must not
    select_related: the joined columns' names would clash with the model's); `limit` and
    `offset` page through them (parameters: one SQL for every page)."""
    sql, params = compiled(build, user, **moment)
    if limit is not None:
        sql, params = f"{sql} LIMIT %s OFFSET %s", [*params, limit, offset]
    model, annotations = _built(build, *_key_of(user), moment.get("pk") is not None)[3:]
    found = list(model.objects.raw(sql, params))
    # Raw rows convert the model's fields only; SQLite answers dates in annotations as text.
    converters = connection.ops.get_db_converters
    for name, expression in annotations.items():
        steps = [*converters(expression), *expression.get_db_converters(connection)]
        for instance in found if steps else ():
            value = getattr(instance, name)
            for step in steps:
                value = step(value, expression, connection)
            setattr(instance, name, value)
    return found


class Pages:
    """A built query's rows for django.core.paginator.Paginator: each page it slices is one
    query with LIMIT and OFFSET (give the Paginator the count)."""

    def __init__(self, build: Build, user) -> None:
        self.build, self.user = build, user

    def __getitem__(self, index: slice) -> list[Model]:
        return objects(self.build, self.user, limit=index.stop - index.start, offset=index.start)


def _key_of(user) -> tuple:
    return _role(user), translation.get_language(), connection.vendor


def _role(user) -> tuple:
    """What the access policy reads of a user (accounts.policy, TicketQuerySet.visible_to)."""
    return (
        bool(user.is_authenticated and user.is_active),
        bool(user.is_superuser),
        user.kind,
        bool(user.department),
    )


@functools.lru_cache(maxsize=256)  # queries x roles x languages: not data
def _built(build: Build, role: tuple, language: str | None, vendor: str, with_pk: bool):
    (active, superuser, kind, has_department) = role
    built = []
    for values in _STAND_INS:
        stand_in = _stand_in_user(values, active, superuser, kind, has_department)
        row = {"pk": values["pk"]} if with_pk else {}
        query = build(stand_in, values["now"], values["today"], **row)
        sql, params = query.query.sql_with_params()
        built.append((sql, tuple(params)))
    (sql, params), (other_sql, other_params) = built
    first, second = ({_adapted(v): name for name, v in s.items()} for s in _STAND_INS)
    slots = {i: first[p] for i, p in enumerate(params) if _hashable(p) and p in first}
    if (
        sql != other_sql
        or len(params) != len(other_params)
        or any(
            (i in slots and second.get(_key(q)) != slots[i]) or (i not in slots and p != q)
            for i, (p, q) in enumerate(zip(params, other_params, strict=True))
        )
    ):
        raise ValueError(f"{build.__qualname__} bakes in a value that is not a stand-in")
    return sql, params, slots, query.model, dict(query.query.annotation_select)


def _stand_in_user(values, active, superuser, kind, has_department):
    from accounts.models import User

    return User(
        pk=values["user"],
        kind=kind,
        is_superuser=superuser,
        is_active=active,
        department=values["department"] if has_department else "",
    )


def _adapted(value):
    """A value as the ORM passes it to the database (SQLite: text)."""
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return connection.ops.adapt_datefield_value(value)
    return value


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _key(value):
    return value if _hashable(value) else None
