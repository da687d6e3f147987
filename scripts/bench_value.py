"""Customer-value benchmark: `make bench`, or `python scripts/bench_value.py [options]`.

Times the 80/20 view (portal.value.selectors.pareto) and tier fit (portal.value.fit.tier_fit)
over 5,000 organisations and 2,000,000 invoices by default, for an admin (every
organisation) and for an account manager (a book of 100), on real PostgreSQL.

The runner creates a throwaway database (`portal_bench_value`) on the server
DATABASE_URL points at, migrates it, writes the estate set-based (`INSERT ... SELECT`
over `generate_series`, with the helpers of `manage.py bench_data`), runs each
computation `--repeat` times and prints the median, min and max, the statements and
EXPLAIN (ANALYZE, BUFFERS) of the main one. The database is dropped at the end, also
when something fails.

The estate: organisations whose invoice counts follow a Pareto distribution (alpha
1.16, the 80/20 rule: B-00001 is the largest); invoices over the last three years,
amounts 20-5,000, eight product lines (larger customers buy more of them), 95 % GBP,
4 % EUR (with a rate), 1 % USD (no rate: left out and reported), 1 % deleted; three
tiers (Essential for anyone, Professional for the top 20 %, Enterprise for the top
5 %), each organisation on one of them at random.

    scripts/with-services.sh .venv/bin/python scripts/bench_value.py --invoices 200000
"""

from __future__ import annotations

import argparse
import time

# The throwaway-database helpers are scripts/bench.py's (this script runs from scripts/).
from bench import explain_summary, measure, run_in_throwaway_database, say

PRODUCT_LINES = [
    "Antibiotics",
    "Analgesics",
    "Respiratory",
    "Diabetes",
    "Cardiology",
    "Vaccines",
    "Dermatology",
    "Oncology",
]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--organisations", type=int, default=5000)
    parser.add_argument("--invoices", type=int, default=2_000_000)
    parser.add_argument("--book", type=int, default=100, help="Accounts of the measured AM.")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pareto-alpha", type=float, default=1.16)
    parser.add_argument("--db-name", default="portal_bench_value")
    return parser.parse_args(argv)


def generate(args) -> dict:
    """The estate; returns the admin and the account manager to measure as."""
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.choices import Department, TeamRole, UserKind
    from accounts.models import AccountAssignment, Organisation, User
    from portal.demo.bench_sql import insert_select, pareto_counts, ranked
    from portal.records.models import Invoice
    from portal.sync.choices import Entity, SourceKind
    from portal.sync.models import SourceSystem
    from tiers.models import ExchangeRate, ServiceTier, TierAssignment

    now = timezone.now().replace(microsecond=0)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT setseed(0.42)")  # the same estate every run
        insert_select(
            Organisation,
            {
                "name": "'Bench Org ' || lpad(g::text, 5, '0')",
                "customer_number": "'B-' || lpad(g::text, 5, '0')",
                "lifecycle_stage": "'active'",
                "time_zone": "'Europe/London'",
                "created_at": "%(now)s - interval '4 years'",
            },
            "FROM generate_series(1, %(n)s) AS g",
            {"now": now, "n": args.organisations},
        )
        orgs = list(Organisation.objects.order_by("customer_number").values_list("pk", flat=True))
        source = SourceSystem.objects.create(
            name="Bench invoices",
            system="bench-invoices",
            department=Department.BILLING,
            kind=SourceKind.SQL,
            entity=Entity.INVOICES,
        )
        counts = pareto_counts(args.invoices, len(orgs), args.pareto_alpha)
        lines = "ARRAY[" + ", ".join(f"'{name}'" for name in PRODUCT_LINES) + "]"
        written = insert_select(
            Invoice,
            {
                "source_id": "%(source)s",
                "external_id": "'I-' || o.rank || '-' || g",
                "organisation_id": "o.id",
                "content_hash": "md5(o.rank || '-' || g)",
                "synced_at": "%(now)s",
                "deleted_at": "CASE WHEN random() < 0.01 THEN %(now)s END",
                "customer_id": "'B-' || o.rank",
                "number": "'INV-' || o.rank || '-' || g",
                "amount": "round((20 + random() * 4980)::numeric, 2)",
                "currency": (
                    "(CASE WHEN random() < 0.95 THEN 'GBP'"
                    " WHEN random() < 0.8 THEN 'EUR' ELSE 'USD' END)"
                ),
                "issued_on": "(%(now)s - interval '1095 days' * random())::date",
                # Larger customers (lower rank) buy from more of the eight lines.
                "product_line": (
                    f"({lines})[1 + floor(random() * greatest(1, 8 - (o.rank * 8 / %(n)s)))::int]"
                ),
            },
            f"FROM {ranked()} CROSS JOIN LATERAL generate_series(1, o.n) AS g",
            {
                "now": now,
                "source": source.pk,
                "orgs": orgs,
                "counts": counts,
                "n": len(orgs),
            },
        )
        ExchangeRate.objects.create(currency="EUR", rate="0.85")
        tiers = [
            ServiceTier.objects.create(name="Essential", rank=1, annual_fee=0),
            ServiceTier.objects.create(
                name="Professional", rank=2, annual_fee=4800, value_top_percent=20
            ),
            ServiceTier.objects.create(
                name="Enterprise", rank=3, annual_fee=18000, value_top_percent=5
            ),
        ]
        insert_select(
            TierAssignment,
            {
                "organisation_id": "o.id",
                "tier_id": "(%(tiers)s::bigint[])[1 + floor(random() * 3)::int]",
                "started_at": "%(now)s - interval '1 year'",
                "reason": "''",
            },
            "FROM unnest(%(orgs)s::bigint[]) AS o(id)",
            {"now": now, "orgs": orgs, "tiers": [t.pk for t in tiers]},
        )
        admin = User.objects.create_user(
            "admin@bench.example", full_name="Bench Admin", kind=UserKind.ADMIN
        )
        am = User.objects.create_user(
            "am@bench.example", full_name="Bench AM", kind=UserKind.ACCOUNT_MANAGER
        )
        # Every (n / book)-th organisation: a few large accounts and many small ones.
        step = max(len(orgs) // args.book, 1)
        AccountAssignment.objects.bulk_create(
            AccountAssignment(organisation_id=pk, user=am, role=TeamRole.PRIMARY_AM)
            for pk in orgs[::step][: args.book]
        )
    with connection.cursor() as cursor:
        for model in (Organisation, Invoice, TierAssignment, AccountAssignment):
            cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(model._meta.db_table)}")
    say(f"bench: {written:,} invoices; the largest organisation has {counts[0]:,}")
    return {"admin": admin, "am": am}


def describe(result) -> str:
    from portal.value.selectors import Pareto

    if isinstance(result, Pareto):
        heads = ", ".join(f"top {h.percent} % -> {h.share} %" for h in result.headlines)
        left = ", ".join(f"{x.invoices:,} {x.currency}" for x in result.left_out) or "none"
        return (
            f"{result.customers:,} customers, {heads}, 80 % of revenue from"
            f" {result.concentration_customers:,}; left out: {left}"
        )
    return f"{result.upgrades:,} upgrade and {result.downgrades:,} downgrade candidates"


def run(args) -> list[tuple[str, str]]:
    from django.utils import timezone

    from portal.value.fit import tier_fit
    from portal.value.selectors import pareto, trailing_months

    start = time.perf_counter()
    people = generate(args)
    rows = [("generation", f"{time.perf_counter() - start:.1f} s")]
    period = trailing_months(12, today=timezone.localdate())
    plans = {}
    for who in ("admin", "am"):
        user = people[who]
        for name, function in (
            ("pareto", lambda u=user: pareto(user=u, period=period)),
            ("tier fit", lambda u=user: tier_fit(user=u, period=period)),
        ):
            label = f"{name} as {'admin' if who == 'admin' else f'AM ({args.book} accounts)'}"
            measured, sql = measure(label, function, args.repeat, describe)
            rows += measured
            plans[label] = sql
    for label, sql in plans.items():
        say(f"\nEXPLAIN (ANALYZE, BUFFERS): {label}")
        for line in explain_summary(sql):
            say(f"  {line}")
    return rows


def main(argv=None) -> None:
    args = parse_args(argv)
    run_in_throwaway_database(args.db_name, "value (80/20 and tier fit)", lambda: run(args))


if __name__ == "__main__":
    main()
