"""Set-based SQL for the benchmark estate (`manage.py bench_data`, scripts/bench_value.py):
Pareto-shaped counts and `INSERT ... SELECT` into a model's table, PostgreSQL only."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db import connection


def pareto_counts(total: int, buckets: int, alpha: float) -> list[int]:
    """`total` split over `buckets` by Pareto quantiles, largest first, summing exactly.

    Deterministic: bucket r gets a share proportional to ((r + 0.5) / buckets)^(-1/alpha).
    With alpha 1.16 (the 80/20 rule) and 5,000 buckets, the largest gets about 10 %,
    the top 20 % about three quarters and the median bucket 1/15,000 of the total.
    """
    weights = [((r + 0.5) / buckets) ** (-1 / alpha) for r in range(buckets)]
    scale = total / sum(weights)
    exact = [w * scale for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(buckets), key=lambda r: counts[r] - exact[r])
    for r in by_remainder[: total - sum(counts)]:
        counts[r] += 1
    return counts


def qn(name: str) -> str:
    return connection.ops.quote_name(name)


def table(model) -> str:
    return qn(model._meta.db_table)


def insert_select(model, values: dict[str, str], source: str, params: dict) -> int:
    """`INSERT INTO <model's table> SELECT ...`: `values` maps attnames to SQL expressions.

    Columns not in `values` get the model field's default (or the database's), so a new
    field with a default does not break the generator; a new required field without one
    fails loudly.
    """
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    unknown = set(values) - {f.attname for f in fields}
    if unknown:
        raise CommandError(f"{model.__name__} has no fields {sorted(unknown)}")
    params = dict(params)
    columns, expressions = [], []
    for field in fields:
        if field.attname not in values and field.has_db_default():
            continue  # the database fills it
        columns.append(qn(field.column))
        if field.attname in values:
            expressions.append(values[field.attname])
        else:
            key = f"default_{field.attname}"
            params[key] = field.get_db_prep_save(field.get_default(), connection)
            expressions.append(f"CAST(%({key})s AS {field.cast_db_type(connection)})")
    # Table and column names come from the models; values are parameters or SQL written here
    # (so are the FROM clauses below, hence their noqa: S608).
    sql = (
        f"INSERT INTO {table(model)} ({', '.join(columns)})"
        f" SELECT {', '.join(expressions)} {source}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def ranked(array_params: str = "%(orgs)s::bigint[], %(counts)s::int[]") -> str:
    """The organisations in rank order (1 is the largest) with their number of rows."""
    return f"unnest({array_params}) WITH ORDINALITY AS o(id, n, rank)"
