"""Health-score benchmark: `make bench`, or `python scripts/bench_health.py [options]`.

Times portal.services.health_compute (every organisation scored in one INSERT ... SELECT,
preceded by the rebuild of the stored last contacts) and the executive-sponsor scan over
5,000 organisations and 2,000,000 invoices by default, on real PostgreSQL.

The runner creates a throwaway database (`portal_bench_health`) on the server
DATABASE_URL points at, migrates it and fills it with `manage.py bench_data` (orders
with shipments and invoices, tickets with messages, skewed 80/20 over the
organisations). It then adds, set-based, what the relationship needs: ratings on half
the resolved tickets, SLA breaches on late ones, two engagements and three commitments
per organisation (a third of them overdue), and a premium tier (reviews every 90 days,
a sponsor promised every 30) for the top 10 %, each with an executive sponsor. Each
computation runs `--repeat` times (the median, min and max are printed) with its
statements, and EXPLAIN (ANALYZE, BUFFERS) of the scoring statement. The database is
dropped at the end, also when something fails.

    scripts/with-services.sh .venv/bin/python scripts/bench_health.py --orders 200000
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

# The throwaway-database helpers are scripts/bench.py's (this script runs from scripts/).
from bench import explain_summary, measure, run_in_throwaway_database, say

from portal.relationship import health
from portal.relationship import services as relationship_services


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--organisations", type=int, default=5000)
    parser.add_argument(
        "--orders", type=int, default=2_000_000, help="orders, one invoice each (2000000)"
    )
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db-name", default="portal_bench_health")
    return parser.parse_args(argv)


def execute(sql: str, params=None) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        return cursor.rowcount


def relationship_data(organisations: int) -> list[tuple[str, str]]:
    """Ratings, breaches, engagements, commitments, a premium tier with sponsors."""
    from django.utils import timezone

    from accounts.models import User
    from portal.relationship.models import Engagement
    from tiers.models import ServiceTier

    now = timezone.now()
    rows = []
    start = time.perf_counter()
    params = {"now": now}
    rows.append(
        (
            "ratings",
            execute(
                "INSERT INTO tickets_rating (ticket_id, csat, effort, comment, created_at)"
                " SELECT id, 1 + mod(id, 5), 1 + mod(id * 7, 5), '', resolved_at"
                " FROM tickets_ticket WHERE resolved_at IS NOT NULL AND mod(id, 2) = 0",
            ),
        )
    )
    rows.append(
        (
            "SLA breaches",
            execute(
                "UPDATE tickets_ticket SET sla_breached_at = resolution_due_at"
                " WHERE sla_breached_at IS NULL AND ("
                "  (resolved_at > resolution_due_at) OR mod(id, 25) = 0)"
                " AND resolution_due_at IS NOT NULL",
            ),
        )
    )
    rows.append(
        (
            "engagements",
            execute(
                'INSERT INTO portal_engagement (organisation_id, kind, status, "on",'
                " other_attendees, summary, next_steps, internal_notes, created_at, updated_at)"
                " SELECT o.id, (ARRAY['qbr', 'health_check'])[k], 'held',"
                " %(now)s::date - (30 + mod(o.id * k * 37, 200))::int, '', 'Reviewed', '', '',"
                " %(now)s, %(now)s"
                " FROM accounts_organisation o CROSS JOIN generate_series(1, 2) k",
                params,
            ),
        )
    )
    rows.append(
        (
            "commitments",
            execute(
                "INSERT INTO portal_commitment (organisation_id, title, details, due_on,"
                " status, created_at, updated_at)"
                " SELECT o.id, 'Promise ' || k, '', %(now)s::date + (mod(o.id * k, 60) - 20)::int,"
                " (ARRAY['open', 'open', 'done'])[k], %(now)s, %(now)s"
                " FROM accounts_organisation o CROSS JOIN generate_series(1, 3) k",
                params,
            ),
        )
    )
    premium = ServiceTier.objects.create(
        name="Bench Premium",
        rank=9,
        annual_fee=50000,
        review_every_days=90,
        health_check_every_days=180,
        executive_sponsor_promised=True,
        sponsor_contact_every_days=30,
    )
    top = max(1, organisations // 10)
    execute(
        "UPDATE tiers_tierassignment SET tier_id = %(tier)s WHERE ended_at IS NULL"
        " AND organisation_id IN (SELECT id FROM accounts_organisation"
        "  ORDER BY customer_number LIMIT %(top)s)",
        {"tier": premium.pk, "top": top},
    )
    sponsor = User.objects.create_user(
        "sponsor@bench.example", full_name="Bench Sponsor", kind="executive"
    )
    rows.append(
        (
            "sponsors (top 10 %)",
            execute(
                "INSERT INTO accounts_accountassignment (organisation_id, user_id, role,"
                " started_at, handoff_note)"
                " SELECT id, %(user)s, 'executive_sponsor', %(now)s - interval '120 days', ''"
                " FROM accounts_organisation ORDER BY customer_number LIMIT %(top)s",
                {"user": sponsor.pk, "now": now, "top": top},
            ),
        )
    )
    # The sponsor attended a third of their accounts' engagements.
    execute(
        "INSERT INTO portal_engagement_attendees (engagement_id, user_id)"
        " SELECT e.id, %(user)s FROM portal_engagement e"
        " JOIN accounts_accountassignment a ON a.organisation_id = e.organisation_id"
        "  AND a.role = 'executive_sponsor' WHERE mod(e.id, 3) = 0",
        {"user": sponsor.pk},
    )
    for name in ("tickets_rating", "tickets_ticket", "portal_engagement", "portal_commitment"):
        execute(f"VACUUM (ANALYZE) {name}")
    rows = [(f"  {label}", f"{n:,} rows") for label, n in rows]
    rows.append(
        (
            "  engagements with the sponsor",
            f"{Engagement.objects.filter(attendees=sponsor).count():,}",
        )
    )
    rows.insert(0, ("relationship data", f"{time.perf_counter() - start:.1f} s"))
    return rows


def run(args) -> list[tuple[str, str]]:
    from django.core.management import call_command

    from portal.records.models import Invoice
    from portal.relationship.models import HealthScore

    start = time.perf_counter()
    call_command(
        "bench_data",
        organisations=args.organisations,
        orders=args.orders,
        tickets=args.tickets,
    )
    rows = [
        ("generation (bench_data)", f"{time.perf_counter() - start:.1f} s"),
        ("invoices", f"{Invoice.objects.count():,}"),
    ]
    rows += relationship_data(args.organisations)
    measured, _ = measure(
        "last contact rebuild", relationship_services.last_contact_refresh, args.repeat
    )
    rows += measured
    measured, insert_sql = measure("health compute", health.health_compute, args.repeat)
    rows += measured
    colours = Counter(HealthScore.objects.values_list("colour", flat=True))
    rows.append(("scores today", ", ".join(f"{c} {n:,}" for c, n in sorted(colours.items()))))
    # The warning e-mails are a worker's job: queued on the broker (REDIS_URL) unsent, no
    # worker runs here. Celery's own setting, instead of the test settings' inline tasks.
    from celery import current_app

    current_app.conf.update(task_always_eager=False, CELERY_TASK_ALWAYS_EAGER=False)
    results: list[dict] = []

    def sponsor_scan() -> dict:
        results.append(relationship_services.sponsor_promise_scan())
        return results[-1]

    scan_rows, _ = measure("sponsor scan", sponsor_scan, args.repeat)
    rows += scan_rows
    warned = [str(result["warned"]) for result in results if result["warned"]]
    rows.append(("sponsor warnings enqueued", ", ".join(warned) or "none"))
    # The SELECT alone: the INSERT would collide with the rows the runs above wrote.
    select_sql = insert_sql[insert_sql.index(" SELECT in_organisation") :]
    say("\nEXPLAIN (ANALYZE, BUFFERS): the scoring SELECT of the INSERT")
    for line in explain_summary(select_sql):
        say(f"  {line}")
    return rows


def main(argv=None) -> None:
    args = parse_args(argv)
    run_in_throwaway_database(
        args.db_name, "health (scores and the sponsor promise)", lambda: run(args)
    )


if __name__ == "__main__":
    main()
