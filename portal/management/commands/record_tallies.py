"""Check, or count again, the stored tallies of orders, deliveries and invoices
(portal/records/tallies.py) and of revenue per month (portal/records/revenue_tallies.py;
docs/sync.md, "Record tallies")."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from portal.records import revenue_tallies, tallies


class Command(BaseCommand):
    help = (
        "Compare the per-organisation tallies of orders, deliveries and invoices with the "
        "rows; --rebuild counts them again (after a load that skipped triggers)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rebuild", action="store_true", help="Count every tally again from the rows."
        )

    def handle(self, *args, rebuild: bool = False, **options):
        if rebuild:
            with transaction.atomic():
                tallies.rebuild(connection)
                revenue_tallies.rebuild(connection)
        drift = tallies.drift(connection)
        for (organisation, record, key, due_on), (stored, counted) in sorted(drift.items())[:20]:
            self.stdout.write(
                f"organisation {organisation} {record} {key!r} {due_on}: "
                f"stored {stored}, counted {counted}"
            )
        revenue_drift = revenue_tallies.drift(connection)
        for (organisation, month, currency, line), (stored, counted) in sorted(
            revenue_drift.items()
        )[:20]:
            self.stdout.write(
                f"organisation {organisation} revenue {month} {currency} {line!r}: "
                f"stored {stored}, counted {counted}"
            )
        drift = {**drift, **revenue_drift}
        if drift:
            raise CommandError(
                f"{len(drift)} tallies differ from the rows: run with --rebuild, and look "
                "for a write that bypassed the triggers (session_replication_role = replica)."
            )
        self.stdout.write(self.style.SUCCESS("Every record tally agrees with the rows."))
