import sys

from django.core.management.base import BaseCommand, CommandError

from portal.sync import runs
from portal.sync.base import SyncError
from portal.sync.models import SourceSystem


class Command(BaseCommand):
    help = "Run one, several or all sources now, in the foreground, with progress."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="Source names (default: all enabled).")
        parser.add_argument("--full", action="store_true", help="Full read: also finds deletes.")

    def handle(self, *names, full=False, **options):
        sources = SourceSystem.objects.filter(enabled=True)
        if names:
            sources = SourceSystem.objects.filter(name__in=names)
            missing = set(names) - set(sources.values_list("name", flat=True))
            if missing:
                raise CommandError(f"No such source: {', '.join(sorted(missing))}")
        failed = False
        for source in sources:
            self.stdout.write(f"{source.name} ({source.get_kind_display()})")
            try:
                run = runs.source_sync(source=source, full=full, progress=self._progress)
            except SyncError as error:
                self.stdout.write(self.style.ERROR(f"\n  failed: {error}"))
                failed = True
                continue
            sys.stderr.write("\n")
            if run is None:
                self.stdout.write("  skipped: a run of this source is already going on")
                continue
            style = self.style.SUCCESS if run.status == "succeeded" else self.style.ERROR
            failed |= run.status != "succeeded"
            self.stdout.write(
                style(
                    f"  {run.status}: read {run.read}, created {run.created}, "
                    f"updated {run.updated}, unchanged {run.unchanged}, "
                    f"quarantined {run.quarantined}, deleted {run.deleted}"
                    + (f" - {run.error}" if run.error else "")
                )
            )
        if failed:
            raise CommandError("Some sources failed; see above and the sync runs in admin.")

    def _progress(self, run):
        sys.stderr.write(f"\r  {run.progress:<78}")
        sys.stderr.flush()
