"""Generate a large, skewed estate for the page benchmarks (scripts/bench_pages.py).

Everything is written set-based on PostgreSQL (`INSERT ... SELECT` over
`generate_series`), so a million orders take seconds rather than an hour of ORM
saves. Meant for an empty, throwaway database: it refuses SQLite and a database
that already has organisations.

The estate:

- one business-hours tier with SLA targets, and a current tier assignment per
  organisation;
- three sources (orders, shipments, invoices);
- organisations whose orders and tickets follow a Pareto distribution: organisation
  `B-00001` is the largest, the median one (`B-02500` of 5,000) is typical;
- one customer user per organisation (a customer admin of it), and account managers
  each primary AM of an equal share of the organisations (organisation of rank r goes
  to AM r mod the number of AMs, so every AM has a few large and many small accounts);
- orders over the last three years; orders older than two days have a shipment
  (delivered when older than a week), every order but the cancelled ones an invoice
  (paid 10 to 35 days after issue, except one in fifty and the last 45 days' ones);
- optionally lines per order;
- tickets over the last two years (recent ones open, 2 % of older ones still open and
  overdue), each with one public message: the customer's for new tickets, the AM's
  reply for the others.

All users share one password hash (computed once): `BENCH_PASSWORD`.
"""

from __future__ import annotations

import time

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.choices import Department
from accounts.models import AccountAssignment, Membership, Organisation, User

# The set-based SQL helpers live beside the demo; scripts/bench_value.py uses them too.
from portal.demo.bench_sql import insert_select, pareto_counts, ranked, table
from portal.records import revenue_tallies, tallies
from portal.records.models import Invoice, Order, OrderLine, Shipment
from portal.sync.choices import Entity, SourceKind
from portal.sync.models import SourceSystem
from tickets.choices import CATEGORY_DEPARTMENT
from tickets.models import Message, Ticket
from tiers.choices import Clock
from tiers.models import ServiceTier, SlaTarget, TierAssignment

BENCH_PASSWORD = "bench-password-2026"  # noqa: S105 - a throwaway benchmark database
EMAIL_DOMAIN = "bench.example"

# Business-hours targets in minutes (first response, resolution), and how often each
# priority occurs (per cent), as in scripts/bench.py.
SLA_MINUTES = {"low": (240, 2400), "normal": (60, 480), "high": (30, 240), "urgent": (15, 120)}
PRIORITY_PERCENT = {"low": 20, "normal": 55, "high": 20, "urgent": 5}
# Business minutes to wall-clock: eight business hours take about a day.
WALL_CLOCK_FACTOR = 3


class Command(BaseCommand):
    help = "Generate organisations, orders and tickets at scale for scripts/bench_pages.py."

    def add_arguments(self, parser):
        parser.add_argument("--organisations", type=int, default=5000)
        parser.add_argument("--orders", type=int, default=1_000_000)
        parser.add_argument("--tickets", type=int, default=200_000)
        parser.add_argument("--lines-per-order", type=int, default=0)
        parser.add_argument("--account-managers", type=int, default=50)
        parser.add_argument(
            "--pareto-alpha",
            type=float,
            default=1.16,
            help="Skew of orders and tickets over organisations (1.16: the 80/20 rule).",
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError(f"bench_data needs PostgreSQL, not {connection.vendor}.")
        orgs, ams = options["organisations"], options["account_managers"]
        if orgs < 1 or ams < 1 or options["orders"] < 0 or options["tickets"] < 0:
            raise CommandError("--organisations and --account-managers must be at least 1.")
        if options["lines_per_order"] < 0 or options["pareto_alpha"] <= 0:
            raise CommandError("--lines-per-order must be >= 0 and --pareto-alpha > 0.")
        if Organisation.objects.exists():
            raise CommandError("bench_data fills an empty database; this one has organisations.")
        self.started = time.perf_counter()
        with transaction.atomic():
            checked = self.skip_foreign_key_checks()
            self.generate(options)
            # Replica mode skipped the tallies' triggers too (portal/records/tallies.py).
            self.step("record tallies", lambda: tallies.rebuild(connection))
            self.step("revenue tallies", lambda: revenue_tallies.rebuild(connection))
            commit = time.perf_counter()
        label = "commit (foreign keys)" if checked else "commit"
        self.stdout.write(f"  {label:<43} {time.perf_counter() - commit:6.1f} s")
        self.step("vacuum analyze", self.vacuum_analyze, "tables")
        self.stdout.write(f"bench_data: done in {time.perf_counter() - self.started:.1f} s")

    def skip_foreign_key_checks(self) -> bool:
        """Skip the foreign-key triggers for this transaction when allowed (superuser).

        Every row is built by joining the rows it points at, so the keys hold; checking
        them costs as much as writing the rows (Django's keys are deferred: ten million
        checks at commit for the default sizes). Returns whether the keys are checked.
        """
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            (superuser,) = cursor.fetchone()
            if superuser:
                cursor.execute("SET LOCAL session_replication_role = replica")
                self.stdout.write("  foreign keys: not checked (generated consistent)")
            else:
                self.stdout.write("  foreign keys: checked at commit (not a superuser)")
        return not superuser

    def step(self, label: str, function, unit: str = "rows"):
        start = time.perf_counter()
        result = function()
        count = f"{result:>10,} {unit}" if isinstance(result, int) else ""
        self.stdout.write(f"  {label:<24} {count:<18} {time.perf_counter() - start:6.1f} s")
        return result

    def generate(self, options):
        now = timezone.now().replace(microsecond=0)
        n_orgs, n_ams = options["organisations"], options["account_managers"]
        alpha = options["pareto_alpha"]
        with connection.cursor() as cursor:
            cursor.execute("SELECT setseed(0.42)")  # the same estate every run
        tier = ServiceTier.objects.create(
            name="Bench Standard",
            rank=1,
            annual_fee=12000,
            clock=Clock.BUSINESS_HOURS,
            perks="A named account manager\nBusiness-hours support",
        )
        SlaTarget.objects.bulk_create(
            SlaTarget(tier=tier, priority=p, first_response_minutes=f, resolution_minutes=r)
            for p, (f, r) in SLA_MINUTES.items()
        )
        sources = {
            entity: SourceSystem.objects.create(
                name=f"Bench {entity.label.lower()}",
                system=f"bench-{entity.value}",
                department=department,
                kind=SourceKind.SQL,
                entity=entity,
                last_success_at=now,
                last_full_at=now,
            ).pk
            for entity, department in (
                (Entity.ORDERS, Department.SALES),
                (Entity.SHIPMENTS, Department.LOGISTICS),
                (Entity.INVOICES, Department.BILLING),
            )
        }
        params = {
            "now": now,
            "n_orgs": n_orgs,
            "n_ams": n_ams,
            "tier": tier.pk,
            "password": make_password(BENCH_PASSWORD),  # hashed once, shared by everyone
            "domain": "@" + EMAIL_DOMAIN,
            "src_orders": sources[Entity.ORDERS],
            "src_shipments": sources[Entity.SHIPMENTS],
            "src_invoices": sources[Entity.INVOICES],
            "lines": options["lines_per_order"],
        }
        self.step("organisations", lambda: self.organisations(params))
        params["orgs"] = list(
            Organisation.objects.order_by("customer_number").values_list("pk", flat=True)
        )
        self.step("users", lambda: self.users(params))
        self.step("memberships", lambda: self.memberships(params))
        self.step("account assignments", lambda: self.assignments(params))
        self.step("tier assignments", lambda: self.tier_assignments(params))
        order_counts = pareto_counts(options["orders"], n_orgs, alpha)
        self.step("orders", lambda: self.orders({**params, "counts": order_counts}))
        if params["lines"]:
            self.step("order lines", lambda: self.order_lines(params))
        self.step("shipments", lambda: self.shipments(params))
        self.step("invoices", lambda: self.invoices(params))
        ticket_counts = pareto_counts(options["tickets"], n_orgs, alpha)
        self.step("tickets", lambda: self.tickets({**params, "counts": ticket_counts}))
        self.step("messages", lambda: self.messages(params))
        median = n_orgs // 2
        self.stdout.write(
            f"  largest organisation B-00001: {order_counts[0]:,} orders,"
            f" {ticket_counts[0]:,} tickets; median B-{median + 1:05d}:"
            f" {order_counts[median]:,} orders, {ticket_counts[median]:,} tickets"
        )

    def organisations(self, params) -> int:
        return insert_select(
            Organisation,
            {
                "name": "'Bench Org ' || lpad(g::text, 5, '0')",
                "customer_number": "'B-' || lpad(g::text, 5, '0')",
                "lifecycle_stage": (
                    "(ARRAY['active', 'active', 'active', 'renewal', 'onboarding'])[1 + mod(g, 5)]"
                ),
                "renewal_date": "%(now)s::date + mod(g * 7, 365)",
                "time_zone": "'Europe/London'",
                "created_at": "%(now)s - interval '4 years'",
            },
            "FROM generate_series(1, %(n_orgs)s) AS g",
            params,
        )

    def users(self, params) -> int:
        common = {"password": "%(password)s", "date_joined": "%(now)s - interval '1 year'"}
        ams = insert_select(
            User,
            {
                **common,
                "email": "'am-' || lpad(g::text, 3, '0') || %(domain)s",
                "full_name": "'Bench AM ' || lpad(g::text, 3, '0')",
                "kind": "'account_manager'",
            },
            "FROM generate_series(1, %(n_ams)s) AS g",
            params,
        )
        customers = insert_select(
            User,
            {
                **common,
                "email": "'customer-' || lpad(g::text, 5, '0') || %(domain)s",
                "full_name": "'Bench Customer ' || lpad(g::text, 5, '0')",
                "kind": "'customer'",
            },
            "FROM generate_series(1, %(n_orgs)s) AS g",
            params,
        )
        return ams + customers

    def memberships(self, params) -> int:
        return insert_select(
            Membership,
            {
                "user_id": "u.id",
                "organisation_id": "o.id",
                "role": "'admin'",
                "created_at": "%(now)s - interval '1 year'",
            },
            f"FROM unnest(%(orgs)s::bigint[]) WITH ORDINALITY AS o(id, rank)"
            f" JOIN {table(User)} u"
            f" ON u.email = 'customer-' || lpad(o.rank::text, 5, '0') || %(domain)s",
            params,
        )

    def assignments(self, params) -> int:
        return insert_select(
            AccountAssignment,
            {
                "organisation_id": "o.id",
                "user_id": "u.id",
                "role": "'primary_am'",
                "started_at": "%(now)s - interval '1 year'",
            },
            f"FROM unnest(%(orgs)s::bigint[]) WITH ORDINALITY AS o(id, rank)"
            f" JOIN {table(User)} u ON u.email"
            f" = 'am-' || lpad((1 + mod(o.rank - 1, %(n_ams)s))::text, 3, '0') || %(domain)s",
            params,
        )

    def tier_assignments(self, params) -> int:
        return insert_select(
            TierAssignment,
            {
                "organisation_id": "o.id",
                "tier_id": "%(tier)s",
                "started_at": "%(now)s - interval '1 year'",
            },
            "FROM unnest(%(orgs)s::bigint[]) AS o(id)",
            params,
        )

    def orders(self, params) -> int:
        # Each organisation's orders spread evenly over three years, newest last.
        return insert_select(
            Order,
            {
                "source_id": "%(src_orders)s",
                "external_id": "s.cn || '-' || s.g",
                "organisation_id": "s.org_id",
                "content_hash": "md5(s.cn || '-' || s.g)",
                "synced_at": "least(%(now)s, s.at + interval '1 hour')",
                "customer_id": "s.cn",
                "customer_name": "s.org_name",
                "number": "'SO-' || substr(s.cn, 3) || '-' || lpad(s.g::text, 6, '0')",
                "status": (
                    "CASE WHEN mod(s.g, 40) = 0 THEN 'cancelled'"
                    " WHEN s.at > %(now)s - interval '2 days' THEN 'processing'"
                    " WHEN s.at > %(now)s - interval '7 days' THEN 'shipped'"
                    " ELSE 'delivered' END"
                ),
                "ordered_at": "s.at",
                "currency": "'GBP'",
                "total": "round((20 + s.r * 4980)::numeric, 2)",
            },
            f"FROM (SELECT org.id AS org_id, org.customer_number AS cn, org.name AS org_name,"  # noqa: S608
            f" g, %(now)s - interval '1095 days' * ((o.n - g + random()) / o.n) AS at,"
            f" random() AS r"
            f" FROM {ranked()} JOIN {table(Organisation)} org ON org.id = o.id"
            f" CROSS JOIN LATERAL generate_series(1, o.n) AS g) AS s",
            params,
        )

    def order_lines(self, params) -> int:
        product = "lpad(mod(ord.id * 7 + l * 13, 500)::text, 4, '0')"
        return insert_select(
            OrderLine,
            {
                "source_id": "ord.source_id",
                "external_id": "ord.external_id || '/' || l",
                "organisation_id": "ord.organisation_id",
                "content_hash": "md5(ord.external_id || '/' || l)",
                "synced_at": "ord.synced_at",
                "order_id_external": "ord.external_id",
                "order_id": "ord.id",
                "product_code": f"'P-' || {product}",
                "product_name": f"'Bench product ' || {product}",
                "quantity": "1 + mod(ord.id + l, 10)",
                "unit_price": "round((5 + random() * 200)::numeric, 4)",
                "currency": "'GBP'",
                "lot": "'LOT-' || mod(ord.id, 997)",
            },
            f"FROM {table(Order)} ord CROSS JOIN generate_series(1, %(lines)s) AS l",
            params,
        )

    def shipments(self, params) -> int:
        return insert_select(
            Shipment,
            {
                "source_id": "%(src_shipments)s",
                "external_id": "'SH-' || ord.external_id",
                "organisation_id": "ord.organisation_id",
                "content_hash": "md5('SH-' || ord.external_id)",
                "synced_at": "least(%(now)s, ord.ordered_at + interval '3 days')",
                "order_id_external": "ord.external_id",
                "order_id": "ord.id",
                "carrier": "(ARRAY['DHL', 'UPS', 'DPD'])[1 + mod(ord.id, 3)]",
                "tracking_number": "'TRK' || lpad(ord.id::text, 10, '0')",
                "status": (
                    "CASE ord.status WHEN 'delivered' THEN 'delivered' ELSE 'in_transit' END"
                ),
                "shipped_at": "ord.ordered_at + interval '1 day'",
                "delivered_at": (
                    "CASE ord.status WHEN 'delivered' THEN ord.ordered_at + interval '3 days' END"
                ),
            },
            f"FROM {table(Order)} ord WHERE ord.status IN ('shipped', 'delivered')",
            params,
        )

    def invoices(self, params) -> int:
        paid = "(ord.ordered_at < %(now)s - interval '45 days' AND mod(ord.id, 50) <> 0)"
        return insert_select(
            Invoice,
            {
                "source_id": "%(src_invoices)s",
                "external_id": "'INV-' || ord.external_id",
                "organisation_id": "ord.organisation_id",
                "content_hash": "md5('INV-' || ord.external_id)",
                "synced_at": "ord.synced_at",
                "customer_id": "ord.customer_id",
                "customer_name": "ord.customer_name",
                "number": "'INV-' || substr(ord.number, 4)",
                "amount": "coalesce(ord.total, 0)",
                "currency": "'GBP'",
                "issued_on": "ord.ordered_at::date",
                "due_on": "ord.ordered_at::date + 30",
                "paid_on": (
                    f"CASE WHEN {paid} THEN ord.ordered_at::date + (10 + mod(ord.id, 25))::int END"
                ),
                "status": (
                    f"CASE WHEN {paid} THEN 'paid'"
                    " WHEN ord.ordered_at::date + 30 < %(now)s::date THEN 'overdue' ELSE 'open' END"
                ),
                "order_id_external": "ord.external_id",
                "order_id": "ord.id",
            },
            f"FROM {table(Order)} ord WHERE ord.status <> 'cancelled'",
            params,
        )

    def tickets(self, params) -> int:
        factor = WALL_CLOCK_FACTOR
        # (priority, first response minutes, resolution minutes, percentile range) as SQL.
        bounds, low = [], 0
        for priority, share in PRIORITY_PERCENT.items():
            first, resolution = SLA_MINUTES[priority]
            bounds.append(f"('{priority}', {first * factor}, {resolution * factor}, {low})")
            low += share
        departments = " ".join(
            f"WHEN '{category.value}' THEN '{department.value}'"
            for category, department in CATEGORY_DEPARTMENT.items()
        )
        categories = ", ".join(f"'{category.value}'" for category in CATEGORY_DEPARTMENT)
        # Recent tickets are open; 2 % of older ones are still open (and overdue).
        status = (
            "CASE WHEN b.age < interval '3 days'"
            " THEN (ARRAY['new', 'open', 'waiting'])[1 + mod(b.g, 3)]"
            " WHEN b.age < interval '14 days'"
            " THEN (ARRAY['open', 'waiting', 'resolved', 'resolved'])[1 + mod(b.g, 4)]"
            " WHEN mod(b.g, 50) = 0 THEN 'open' WHEN mod(b.g, 10) = 0 THEN 'resolved'"
            " ELSE 'closed' END"
        )
        base = (
            f"SELECT o.id AS org_id, g, a.created_at, %(now)s - a.created_at AS age,"  # noqa: S608
            f" p.priority, make_interval(mins => p.first_min) AS first,"
            f" make_interval(mins => p.res_min) AS res, random() AS r"
            f" FROM {ranked()}"
            f" CROSS JOIN LATERAL generate_series(1, o.n) AS g"
            f" CROSS JOIN LATERAL (SELECT %(now)s - interval '730 days'"
            f" * ((o.n - g + random()) / o.n) AS created_at) AS a"
            f" CROSS JOIN LATERAL (SELECT * FROM (VALUES {', '.join(bounds)})"
            f" AS v(priority, first_min, res_min, low)"
            f" WHERE v.low <= mod(g * 37 + o.rank, 100) ORDER BY v.low DESC LIMIT 1) AS p"
        )
        # The clocks: answered (unless new) within 20-90 % of the target; resolved within
        # 30-120 % of it (late ones breached); waiting tickets paused half-way to now.
        timed = (
            f"SELECT b.*, {status} AS status,"  # noqa: S608
            f" CASE WHEN {status} <> 'new'"
            f" THEN least(%(now)s, b.created_at + b.first * (0.2 + 0.7 * b.r)) END AS answered,"
            f" CASE WHEN {status} IN ('resolved', 'closed')"
            f" THEN least(%(now)s, b.created_at + b.res * (0.3 + 0.9 * b.r)) END AS resolved"
            f" FROM ({base}) AS b"
        )
        open_late = (
            "(t.resolved IS NULL AND t.status <> 'waiting'"
            " AND t.created_at + t.res < %(now)s)"
            " OR (t.answered IS NULL AND t.created_at + t.first < %(now)s)"
        )
        paused = "t.answered + (%(now)s - t.answered) / 2"
        return insert_select(
            Ticket,
            {
                "organisation_id": "t.org_id",
                "subject": "'Bench ticket ' || t.org_id || '-' || t.g",
                "category": f"(ARRAY[{categories}])[1 + mod(t.g, {len(CATEGORY_DEPARTMENT)})]",
                "priority": "t.priority",
                "status": "t.status",
                "requester_id": "m.user_id",
                "department": (
                    f"CASE (ARRAY[{categories}])[1 + mod(t.g, {len(CATEGORY_DEPARTMENT)})]"
                    f" {departments} END"
                ),
                "source": "'portal'",
                "created_at": "t.created_at",
                "updated_at": "greatest(t.created_at, t.answered, t.resolved)",
                "tier_id": "%(tier)s",
                "first_response_due_at": "t.created_at + t.first",
                "first_response_warn_at": "t.created_at + t.first * 0.8",
                "first_responded_at": "t.answered",
                "resolution_due_at": "t.created_at + t.res",
                "resolution_warn_at": "t.created_at + t.res * 0.8",
                "resolved_at": "t.resolved",
                "closed_at": (
                    "CASE t.status WHEN 'closed'"
                    " THEN least(%(now)s, t.resolved + interval '3 days') END"
                ),
                "sla_paused_at": f"CASE t.status WHEN 'waiting' THEN {paused} END",
                "sla_warned_at": (
                    "CASE WHEN t.resolved IS NULL AND t.created_at + t.res * 0.8 < %(now)s"
                    " THEN t.created_at + t.res * 0.8 END"
                ),
                "sla_breached_at": (
                    "CASE WHEN t.resolved > t.created_at + t.res THEN t.created_at + t.res"
                    f" WHEN {open_late} THEN least(t.created_at + t.first, t.created_at + t.res)"
                    " END"
                ),
            },
            f"FROM ({timed}) AS t JOIN {table(Membership)} m ON m.organisation_id = t.org_id",
            params,
        )

    def messages(self, params) -> int:
        return insert_select(
            Message,
            {
                "ticket_id": "t.id",
                "author_id": "CASE t.status WHEN 'new' THEN t.requester_id ELSE a.user_id END",
                "body": (
                    "CASE t.status WHEN 'new' THEN 'Hello, we need help with ' || t.subject"
                    " ELSE 'Thanks for getting in touch: we are on it.' END"
                ),
                "created_at": "coalesce(t.first_responded_at, t.created_at)",
            },
            f"FROM {table(Ticket)} t JOIN {table(AccountAssignment)} a"
            f" ON a.organisation_id = t.organisation_id AND a.role = 'primary_am'"
            f" AND a.ended_at IS NULL",
            params,
        )

    def vacuum_analyze(self) -> int:
        models = [
            Organisation,
            User,
            Membership,
            AccountAssignment,
            TierAssignment,
            Order,
            OrderLine,
            Shipment,
            Invoice,
            Ticket,
            Message,
        ]
        with connection.cursor() as cursor:
            for model in models:
                # VACUUM too: the visibility map lets index-only scans skip the heap.
                cursor.execute(f"VACUUM (ANALYZE) {table(model)}")
        return len(models)
