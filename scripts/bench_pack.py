"""Business-review pack benchmark: `python scripts/bench_pack.py [options]`.

Times the pack of one large account (portal.relationship.pack.pack_figures, then the PDF
and the slides of pack_files) on real PostgreSQL: a year since the last review with
`--orders` orders and as many invoices (a fifth in EUR, some credit notes), `--tickets`
tickets (half rated, a quarter breaching, one in ten leading to an improvement), 200
commitments and a health score a day. `--others` organisations (5) hold the same again,
so the account's figures are read from tables larger than its own rows. Each step runs
`--repeat` times (median, min and max, and its statements); the database is dropped at
the end, also when something fails.

    scripts/with-services.sh .venv/bin/python scripts/bench_pack.py --orders 100000 --others 20
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import datetime, timedelta
from decimal import Decimal

# The throwaway-database helpers are scripts/bench.py's (this script runs from scripts/).
from bench import measure, run_in_throwaway_database, say


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=20_000, help="orders of the account")
    parser.add_argument("--tickets", type=int, default=4_000, help="tickets of the account")
    parser.add_argument("--others", type=int, default=5, help="other organisations as large")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


def fill(organisation, args, start: datetime, rng: random.Random) -> None:
    """A year of orders, invoices, tickets and ratings for `organisation`, in bulk."""
    from portal.records.models import Invoice, Order
    from portal.tests.records import source
    from tickets.models import Improvement, Rating, Ticket

    src = source()
    key = organisation.pk
    orders, invoices = [], []
    for i in range(args.orders):
        at = start + timedelta(minutes=rng.randrange(365 * 24 * 60))
        orders.append(
            Order(source=src, external_id=f"{key}-O{i}", organisation=organisation,
                  content_hash="x", synced_at=at, customer_id="C", number=f"SO{i}",
                  status="open", ordered_at=at)
        )  # fmt: skip
        invoices.append(
            Invoice(source=src, external_id=f"{key}-I{i}", organisation=organisation,
                    content_hash="x", synced_at=at, customer_id="C", number=f"INV{i}",
                    amount=Decimal(rng.randrange(-2_000, 50_000)) / 100,
                    currency="EUR" if i % 5 == 0 else "GBP", issued_on=at.date())
        )  # fmt: skip
    Order.objects.bulk_create(orders, batch_size=5000)
    Invoice.objects.bulk_create(invoices, batch_size=5000)
    improvement = Improvement.objects.create(department="logistics", title="Tuesday routes")
    tickets = []
    for i in range(args.tickets):
        opened = start + timedelta(minutes=rng.randrange(365 * 24 * 60))
        late = i % 4 == 0
        tickets.append(
            Ticket(organisation=organisation, subject=f"T{i}", category="delivery",
                   department="logistics", status="resolved", created_at=opened,
                   first_response_due_at=opened + timedelta(hours=4),
                   first_responded_at=opened + timedelta(hours=1),
                   resolution_due_at=opened + timedelta(days=1),
                   resolved_at=opened + timedelta(days=2 if late else 0, hours=5),
                   improvement=improvement if i % 10 == 0 else None)
        )  # fmt: skip
    tickets = Ticket.objects.bulk_create(tickets, batch_size=5000)
    Rating.objects.bulk_create(
        [Rating(ticket=t, csat=rng.randint(1, 5), effort=rng.randint(1, 5)) for t in tickets[::2]],
        batch_size=5000,
    )


def run(args: argparse.Namespace):
    from django.utils import timezone

    from accounts.tests.factories import OrganisationFactory, StaffFactory
    from portal.relationship import pack, pack_files
    from portal.relationship.health import DEFAULT_WEIGHTS
    from portal.relationship.models import Commitment, Engagement, HealthScore, ReviewPack
    from tiers.models import ExchangeRate

    rng = random.Random(args.seed)  # noqa: S311 - reproducible test data, not secrets
    today = timezone.localdate()
    start = timezone.now() - timedelta(days=365)
    ExchangeRate.objects.create(currency="EUR", rate=Decimal("0.85"))
    admin = StaffFactory(email="bench.admin@portal.test", kind="admin", is_superuser=True)
    account = OrganisationFactory(name="Bench Clinic", customer_number="C-BENCH")
    for n in range(args.others + 1):
        organisation = account if n == 0 else OrganisationFactory()
        say(f"filling organisation {n + 1} of {args.others + 1}")
        fill(organisation, args, start, rng)
    previous = Engagement.objects.create(
        organisation=account, kind="qbr", on=today - timedelta(days=365), next_steps="Go on."
    )
    review = Engagement.objects.create(organisation=account, kind="qbr", on=today)
    Commitment.objects.bulk_create(
        [
            Commitment(organisation=account, title=f"Promise {i}", due_on=today,
                       status=["open", "done", "dropped"][i % 3],
                       closed_at=None if i % 3 == 0 else timezone.now(),
                       engagement=previous if i % 2 else None)
            for i in range(200)
        ]
    )  # fmt: skip
    weights = {str(k): v for k, v in DEFAULT_WEIGHTS.items()}
    HealthScore.objects.bulk_create(
        [
            HealthScore(organisation=account, computed_on=today - timedelta(days=d),
                        computed_at=timezone.now(), score=rng.randint(30, 95), colour="amber",
                        sla_breaches=2, orders_recent=10, orders_previous=12,
                        overdue_invoices=1, overdue_commitments=3, days_since_contact=20,
                        reviews_overdue=0, weights=weights)
            for d in range(365)
        ]
    )  # fmt: skip
    shared = ReviewPack.objects.create(
        engagement=review, organisation=account, period_start=previous.on + timedelta(days=1),
        period_end=review.on, summary="A year.", next_steps="Another.", shared_at=timezone.now(),
    )  # fmt: skip
    shared = pack.pack_get(user=admin, engagement_pk=shared.pk)
    figures = pack.pack_figures(user=admin, pack=shared)
    rows = []
    for label, function, describe in [
        ("figures", lambda: pack.pack_figures(user=admin, pack=shared), _describe_figures),
        ("PDF", lambda: pack_files.pack_pdf(figures), lambda data: f"{len(data):,} bytes"),
        ("slides", lambda: pack_files.pack_pptx(figures), lambda data: f"{len(data):,} bytes"),
    ]:
        cpu = time.process_time()
        timed, _ = _measure(label, function, args.repeat, describe)
        timed.append(
            (f"{label}: CPU per run", f"{(time.process_time() - cpu) / args.repeat:.2f} s")
        )
        rows += timed
    return rows


def _measure(label, function, repeat, describe):
    try:
        return measure(label, function, repeat, describe)
    except ValueError:  # measure() EXPLAINs the slowest statement: files make none
        start = time.perf_counter()
        for _ in range(repeat):
            result = function()
        elapsed = (time.perf_counter() - start) / repeat
        return [
            (label, f"mean {elapsed * 1000:,.0f} ms ({repeat} runs)"),
            (label, describe(result)),
        ], ""


def _describe_figures(figures) -> str:
    return (
        f"{figures.orders:,} orders, {figures.tickets:,} tickets, {len(figures.months)} months, "
        f"revenue {figures.revenue:,.2f} {figures.currency}"
    )


if __name__ == "__main__":
    arguments = parse_args()
    run_in_throwaway_database(
        "portal_bench_pack", "Business-review pack of one large account", lambda: run(arguments)
    )
