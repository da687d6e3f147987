"""Re-check every automatic identity match by the current rule (docs/sync.md, "Upgrading")."""

from django.core.management.base import BaseCommand

from portal.sync.identity import recheck_automatic_matches


class Command(BaseCommand):
    help = (
        "Judge every automatic match of a legacy customer again by the current rule; send "
        "those it no longer supports back to the review queue (records hidden, audited)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would change; change nothing."
        )

    def handle(self, *args, dry_run: bool = False, **options):
        changed = recheck_automatic_matches(apply=not dry_run)
        verb = "would go" if dry_run else "went"
        for row in changed:
            instead = f"; the rule now prefers {row['now']}" if row["now"] else ""
            self.stdout.write(
                f"{row['identity']}: was {row['from']}, {verb} back to the review queue"
                f"{instead} ({', '.join(row['why'])})"
            )
        summary = f"{len(changed)} automatic match(es) {verb} back to the review queue."
        self.stdout.write(
            self.style.SUCCESS(summary) if not changed else self.style.WARNING(summary)
        )
