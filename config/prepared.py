"""Queries whose SQL is built once per process and run again with each request's values.

Building and compiling a queryset costs Django more CPU than PostgreSQL takes to answer a
small one (a page's five recent orders: 6 ms to build, 0.5 ms to answer). When only the
ids, days and moments of a query change between requests, its queryset is built once with
stand-in values, and its SQL is run with the real ones: the stand-ins mark the parameters
that take them.

What may change the SQL's shape is part of the key: the `shape` arguments, the language
(titles worded in SQL), the time zone (dates truncated in SQL) and, for a `user` value,
what the access policy branches on (kind, department, active, superuser). Building runs no
query (a query would decide a shape from data, which is never kept): one refuses.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple, TypeVar

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F, Model, OuterRef, QuerySet, Subquery
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from django.utils import timezone, translation

Build = Callable[..., QuerySet]

_FIRST_DAY = date(1001, 1, 1)  # days and moments no row has (nor do ids below zero)
# What the access policy and the querysets' visible_to branch on (accounts/policy.py,
# tickets/querysets.py): a stand-in user has the real one's, and only its id differs.
USER_SHAPE = ("kind", "department", "is_active", "is_superuser", "is_staff")


def rows(build: Build, *shape: Hashable, **values) -> list[dict]:
    """build(*shape, **values)'s rows as dicts by column name, as the driver gives them
    (SQLite answers dates as text)."""
    sql, params, _ = _prepared(build, shape, values)
    names, found = _fetch(sql, params, named=True)
    return [dict(zip(names, row, strict=True)) for row in found]


def together(read: Callable[[], T]) -> T:
    """read()'s result, its prepared queries sent to PostgreSQL in one round trip.

    A page's dozen small reads cost more in round trips (the driver, one transaction each)
    than in answering. read() runs once with every prepared query answered by no rows, to
    learn them; they go as one string of statements; read() runs again, each query answered
    from there. One it did not make the first time (its SQL or values decided by data)
    runs on its own, so the answer never depends on the first pass. Elsewhere (SQLite,
    server-side binding: one statement per execute) read() simply runs."""
    if not _in_one_round_trip() or _batch.__dict__:  # not nested either
        return read()
    statements = _batch.statements = []
    try:
        read()  # answered by no rows: only learns the statements
    except Exception:  # a read that needs rows to go on: it runs as it is, below
        statements = None
    finally:
        del _batch.statements
    if statements is None:
        return read()
    _batch.answers = list(zip(statements, _run_together(statements), strict=True))
    try:
        return read()
    finally:
        del _batch.answers


T = TypeVar("T")
Statement = tuple[str, list, bool]  # SQL, parameters, whether its column names are read
Answer = tuple[list[str], list[tuple]]  # column names (if read), rows
_batch = threading.local()  # per thread: gthread workers serve requests side by side


def _in_one_round_trip() -> bool:
    options = connection.settings_dict.get("OPTIONS", {})
    return connection.vendor == "postgresql" and not options.get("server_side_binding")


def _fetch(sql: str, params: list, *, named: bool = False) -> Answer:
    """One prepared query's rows, and its column names if `named`: run, learned or
    answered (together)."""
    statements, answers = getattr(_batch, "statements", None), getattr(_batch, "answers", None)
    if statements is not None:
        statements.append((sql, params, named))
        return [], []
    for position, (statement, answer) in enumerate(answers or ()):
        if statement == (sql, params, named):
            del answers[position]
            return answer
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _names(cursor, named), cursor.fetchall()


def _names(cursor, named: bool) -> list[str]:
    # Only when read: the driver describes each column afresh (an object each).
    return [column[0] for column in cursor.description] if named else []


def _run_together(statements: list[Statement]) -> list[Answer]:
    if not statements:
        return []
    answers = []
    with connection.cursor() as cursor:
        # Each statement's values merged as its own execute merges them (psycopg keeps the
        # parsing of a statement of up to 50 values; the joined one it would parse afresh
        # every time), and the statements sent as one query, libpq's simple protocol (with
        # client-side binding); each result is read in turn.
        cursor.execute(";\n".join(cursor.mogrify(sql, params) for sql, params, _ in statements))
        for _, _, named in statements:
            answers.append((_names(cursor, named), cursor.fetchall()))
            cursor.nextset()
    return answers


def objects(build: Build, *shape: Hashable, **values) -> list[Model]:
    """build(*shape, **values)'s rows as model instances, fields and annotations converted
    as the ORM converts them (SQLite answers a date as text, a boolean as a number). The
    queryset selects one model's columns (no select_related)."""
    return _objects(build, shape, values)


class Page(Sequence):
    """A prepared query's rows as a Paginator slices them, the count given (a stored
    tally): each slice is one query with LIMIT and OFFSET as parameters, so every page runs
    the same SQL. build(*shape, **values) gives the whole list, sorted and not sliced."""

    def __init__(self, build: Build, *shape: Hashable, count: int, **values):
        self.build, self.shape, self.values, self.count = build, shape, values, count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index):
        if not isinstance(index, slice) or index.step is not None:
            raise TypeError("a prepared page is read a slice at a time")
        start, stop, _ = index.indices(self.count)
        if stop <= start:  # nothing to read (an empty list's only page)
            return []
        return _objects(self.build, self.shape, self.values, window=(stop - start, start))


def _objects(build: Build, shape: tuple, values: dict, window=None) -> list[Model]:
    sql, params, built = _prepared(build, shape, values)
    if window is not None:
        if built.sliced:
            raise ValueError(f"{build.__qualname__}: a page's build must not slice")
        sql, params = f"{sql} LIMIT %s OFFSET %s", [*params, *window]
    _, found = _fetch(sql, params)
    # As the ORM's ModelIterable makes instances, with where each column goes worked out
    # once (a raw() query worked it out from the column names on every call).
    start, stop = built.fields
    make = _maker(built.model)
    instances = []
    for row in found:
        row = list(row)
        for position, expression, steps in built.converters:
            value = row[position]
            for step in steps:
                value = step(value, expression, connection)
            row[position] = value
        instance = make(built.attnames, row[start:stop])
        for name, position in built.annotations:
            setattr(instance, name, row[position])
        instances.append(instance)
    return instances


_FROM_DB = Model.from_db.__func__


def _maker(model: type[Model]) -> Callable[[Sequence[str], Sequence], Model]:
    """A function (attnames, values) -> an instance as `model.from_db` makes it.

    from_db gives Model.__init__ a value or a stand-in for each of the model's columns, and
    __init__ sets them one by one (a ticket has 30: 40 microseconds a row of the work
    queue's 6). An instance made by the ORM holds its fields' values in its __dict__ and
    the rest deferred; this sets that __dict__ at once. Where something listens for an
    instance being made (pre_init, post_init) or the model makes its own (__init__,
    from_db), from_db makes it, so that it is made as the model says."""
    own = model.__init__ is not Model.__init__ or model.from_db.__func__ is not _FROM_DB
    if own or pre_init.has_listeners(model) or post_init.has_listeners(model):
        return functools.partial(model.from_db, connection.alias)
    alias = connection.alias

    def make(attnames, values) -> Model:
        instance = model.__new__(model)
        instance.__dict__.update(zip(attnames, values, strict=True))
        state = instance._state = ModelState()
        state.adding, state.db = False, alias
        return instance

    return make


def prepared_sql(build: Build, *shape: Hashable, **values) -> tuple[str, list]:
    """The SQL of build(*shape, **values) and its parameters, the SQL built once per key."""
    sql, params, _ = _prepared(build, shape, values)
    return sql, params


class _Built(NamedTuple):
    """What a build's queryset gives once compiled, besides its SQL and parameters: where
    its columns go when its rows are made instances (objects(), Page)."""

    model: type[Model]
    sliced: bool  # LIMIT in the SQL already: not a Page's build
    fields: tuple[int, int]  # the model's columns: row[start:stop]
    attnames: tuple[str, ...]  # ... and the fields they fill
    annotations: tuple[tuple[str, int], ...]  # (name, position)
    # Each column with a converter on this backend: (position, expression, converters).
    converters: tuple[tuple[int, object, tuple[Callable, ...]], ...]


def _prepared(build: Build, shape: tuple, values: dict) -> tuple[str, list, _Built]:
    sql, params, slots, built = _compiled(build, shape, *_key(values))
    params = list(params)
    user_model = _user_model()
    for position, name, adapt in slots:
        value = values[name]
        params[position] = adapt(value.pk if isinstance(value, user_model) else value)
    return sql, params, built


# Read once: every prepared query asks for it several times (a page runs about ten).
_user_model = functools.cache(get_user_model)


def _key(values: dict) -> tuple:
    user_model = _user_model()
    kinds = tuple(sorted((name, _kind(value, user_model)) for name, value in values.items()))
    # The zone itself, not its name: equal zones are equal keys, and naming one costs more
    # than the rest of the key (a page computes about ten keys).
    return kinds, translation.get_language(), timezone.get_current_timezone()


def _kind(value, user_model) -> Hashable:
    if isinstance(value, user_model):
        return ("user", *(getattr(value, field) for field in USER_SHAPE))
    if isinstance(value, bool) or not isinstance(value, int | date):
        raise TypeError(f"no stand-in for a {type(value).__name__}: pass it as shape")
    return type(value)


# Two sets of stand-ins, spaced differently, so that a value derived from one given
# (today + 1000 days) cannot look like another stand-in in both builds.
STAND_INS = ((-2_718_281, 1), (-3_141_592, 7))  # first id, then days (or minutes) apart


def _stand_in(index: int, kind, build: int):
    first, step = STAND_INS[build]
    if isinstance(kind, tuple):  # a user: the real one's shape, a stand-in id
        fields = dict(zip(USER_SHAPE, kind[1:], strict=True))
        return get_user_model()(pk=first - index * step, **fields)
    if kind is int:
        return first - index * step
    offset = timedelta(days=build * 50 + index * step * 997)
    if kind is datetime:
        return datetime.combine(_FIRST_DAY, datetime.min.time(), UTC) + offset
    return _FIRST_DAY + offset


def _adapters(stand_in) -> list[tuple[object, Callable]]:
    """The forms the ORM may have turned a value into, with how to turn a real one so."""
    if isinstance(stand_in, datetime):
        adapt = connection.ops.adapt_datetimefield_value
        return [(stand_in, same), (adapt(stand_in), adapt)]
    if isinstance(stand_in, date):
        adapt = connection.ops.adapt_datefield_value
        return [(stand_in, same), (adapt(stand_in), adapt)]
    return [(getattr(stand_in, "pk", stand_in), same)]


def same(value):
    return value


def _refuse_queries(execute, sql, params, many, context):
    raise RuntimeError(f"a prepared query's build ran a query ({sql[:80]}...)")


@functools.lru_cache(maxsize=512)  # builds x shapes x languages x time zones in use
def _compiled(build: Build, shape: tuple, kinds: tuple, _language, _zone):
    queryset, sql, params, slots = _build(build, shape, kinds, 0)
    # Built again with other stand-ins, only the marked parameters may differ: a value
    # derived in Python (a day from today) would otherwise be kept in the SQL.
    _, again, other_params, other_slots = _build(build, shape, kinds, 1)
    moved = {i for i, (one, other) in enumerate(zip(params, other_params, strict=True))
             if one != other}  # fmt: skip
    if again != sql or moved != {i for i, _, _ in slots} or slots != other_slots:
        raise ValueError(f"{build.__qualname__}: its SQL holds a value derived from one given")
    return sql, tuple(params), tuple(slots), _built(queryset.query)


def _built(query) -> _Built:
    compiler = query.get_compiler(connection=connection)
    compiler.setup_query()
    select, info = compiler.select, compiler.klass_info
    if info is None:  # values(): read by rows(), never made instances
        return _Built(query.model, query.is_sliced, (0, 0), (), (), ())
    start, stop = info["select_fields"][0], info["select_fields"][-1] + 1
    expressions = [expression for expression, _, _ in select]
    return _Built(
        model=info["model"],
        sliced=query.is_sliced,
        fields=(start, stop),
        attnames=tuple(column.target.attname for column in expressions[start:stop]),
        annotations=tuple(compiler.annotation_col_map.items()),
        converters=tuple(
            (position, expression, tuple(steps))
            for position, (steps, expression) in compiler.get_converters(expressions).items()
        ),
    )


def _build(build: Build, shape: tuple, kinds: tuple, which: int):
    stand_ins = {name: _stand_in(i, kind, which) for i, (name, kind) in enumerate(kinds)}
    with connection.execute_wrapper(_refuse_queries):
        queryset = build(*shape, **stand_ins)
        sql, params = queryset.query.sql_with_params()
    slots = [
        (position, name, adapt)
        for position, param in enumerate(params)
        for name, stand_in in stand_ins.items()
        for form, adapt in _adapters(stand_in)
        if type(param) is type(form) and param == form
    ]
    _refuse_clock(build, params, {position for position, _, _ in slots})
    users = {name for name, kind in kinds if isinstance(kind, tuple)}
    # A user's id may be absent (the policy lets an admin see every organisation); any
    # other value not taken as a parameter would be kept in the SQL.
    missing = set(stand_ins) - users - {name for _, name, _ in slots}
    if missing:
        raise ValueError(f"{build.__qualname__}: {sorted(missing)} not a parameter of its SQL")
    return queryset, sql, params, slots


def _refuse_clock(build: Build, params, slots: set[int]) -> None:
    """A day or moment near now that no stand-in marked was read from the clock while
    building (timezone.localdate() in a selector): kept, it would never change."""
    today = timezone.now().date()
    for position, param in enumerate(params):
        day = _day(param)
        if position not in slots and day is not None and abs(day - today).days <= 2:
            raise ValueError(f"{build.__qualname__}: its SQL holds {param}: pass it as a value")


def _day(param) -> date | None:
    """The day of a parameter that is a day or a moment (SQLite's are ISO text)."""
    if isinstance(param, datetime):
        return param.date()
    if isinstance(param, date):
        return param
    if isinstance(param, str) and len(param) >= 10:
        try:
            return date.fromisoformat(param[:10])
        except ValueError:
            return None
    return None


# Related rows read as columns of a prepared query: `prepared.objects` selects one model's
# columns, so a page that shows a few fields of the rows it links to (`ticket.tier.name`)
# annotates them and puts them back as the related instances its template reads.
Related = dict[str, tuple[str, ...]]  # relation: the related model's fields it reads


def related_columns(related: Related, *, one_row_of: type[Model] | None = None) -> dict:
    """The annotations that read `related`'s fields: `shown_<relation>_<field>`, by joins.

    For a query of one row of `one_row_of` (a page's object), by a scalar subquery each
    instead: PostgreSQL plans every join order of a query with many joins (the ticket's
    page: 2.8 ms planning its six for 0.15 ms running them), and a subquery by key apart.
    """
    if one_row_of is None:
        return {
            f"shown_{relation}_{name}": F(f"{relation}__{name}")
            for relation, names in related.items()
            for name in ("pk", *names)
        }
    columns = {}
    for relation, names in related.items():
        field = one_row_of._meta.get_field(relation)
        rows = field.related_model.objects
        if field.concrete:  # a key of this row: the related row by its key
            rows, key = rows.filter(pk=OuterRef(field.attname)), F(field.attname)
        else:  # a one-to-one pointing here (a ticket's rating)
            rows = rows.filter(**{field.field.name: OuterRef("pk")})
            key = Subquery(rows.values("pk"))
        columns[f"shown_{relation}_pk"] = key
        for name in names:
            columns[f"shown_{relation}_{name}"] = Subquery(rows.values(name))
    return columns


def with_related(instance: Model, related: Related) -> Model:
    """`instance` with each relation of `related` set to an instance of the related model
    made of its related_columns (None where the row has none). The fields not read are
    deferred: reading one costs a query, as with `only()`."""
    for relation, names in related.items():
        field = type(instance)._meta.get_field(relation)
        model = field.related_model
        pk = getattr(instance, f"shown_{relation}_pk")
        shown = None
        if pk is not None:
            columns = {name: getattr(instance, f"shown_{relation}_{name}") for name in names}
            columns[model._meta.pk.attname] = pk
            attnames = [f.attname for f in model._meta.concrete_fields if f.attname in columns]
            shown = model.from_db(None, attnames, [columns[name] for name in attnames])
        field.set_cached_value(instance, shown)
    return instance


def from_row(model: type[Model], values: Sequence) -> Model:
    """An instance of `model` from its concrete columns (`columns(model)`, in that order) as
    a raw cursor gives them, each value converted as the ORM converts it (SQLite answers a
    date as text, a boolean as a number): for SQL written by hand, the session's."""
    fields = model._meta.concrete_fields
    converted = [from_db_value(field, value) for field, value in zip(fields, values, strict=True)]
    return _maker(model)([field.attname for field in fields], converted)


def columns(model: type[Model]) -> tuple[str, ...]:
    """The columns `from_row` takes, in its order."""
    return tuple(field.column for field in model._meta.concrete_fields)


def from_db_value(field, value):
    """A raw cursor's value of `field` as the ORM reads it. PostgreSQL's driver already gives
    Python types (no converters); SQLite gives text for datetimes and 0/1 for booleans."""
    column, steps = _converters(field)
    for convert in steps:
        value = convert(value, column, connection)
    return value


@functools.cache  # per field: what converts it depends on the backend only
def _converters(field) -> tuple:
    column = field.get_col(field.model._meta.db_table)
    return column, (*connection.ops.get_db_converters(column),
                    *column.get_db_converters(connection))  # fmt: skip


def every_field(model: type[Model]) -> tuple[str, ...]:
    """All of a model's columns but its key: a related instance with nothing deferred."""
    return tuple(f.attname for f in model._meta.concrete_fields if not f.primary_key)
