from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from portal.sync import runs
from portal.sync.base import SyncError
from portal.sync.models import SourceSystem


class Command(BaseCommand):
    help = "Run one, several or all sources now, in the foreground, with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="Source names (default: all enabled).")
        parser.add_argument("--full", action="store_true", help="Full read: also finds deletes.")

    def handle(self, *args, names=(), full=False, **options):
        sources = SourceSystem.objects.filter(enabled=True)
        if names:
            sources = SourceSystem.objects.filter(name__in=names)
            missing = set(names) - set(sources.values_list("name", flat=True))
            if missing:
                raise CommandError(f"No such source: {', '.join(sorted(missing))}")
        failed = False
        for source in sources:
            self.stdout.write(f"{source.name} ({source.get_kind_display()})")
            if source.paused_reason:
                # A paused source waits for an admin: running it would only fail again.
                self.stdout.write(
                    self.style.WARNING(
                        f"  skipped: paused ({source.paused_reason}); clear the reason in "
                        "admin to resume"
                    )
                )
                continue
            try:
                run = self._run(source, full)
            except SyncError as error:
                self.stdout.write(self.style.ERROR(f"  failed: {error}"))
                failed = True
                continue
            if run is None:
                self.stdout.write("  skipped: a run of this source is already going on")
                continue
            failed |= run.status != "succeeded"
            self._summary(run)
        if failed:
            raise CommandError("Some sources failed; see above and the sync runs in admin.")

    def _run(self, source, full: bool):
        """The run, with a bar of the records read so far (streams have no known total)."""
        with tqdm(desc=f"  {source.name}", unit=" records", leave=False) as bar:

            def progress(run) -> None:
                bar.update(run.read - bar.n)
                bar.set_postfix_str(run.progress[:60])

            return runs.source_sync(source=source, full=full, progress=progress)

    def _summary(self, run) -> None:
        style = self.style.SUCCESS if run.status == "succeeded" else self.style.ERROR
        self.stdout.write(
            style(
                f"  {run.status}: read {run.read}, created {run.created}, "
                f"updated {run.updated}, unchanged {run.unchanged}, "
                f"quarantined {run.quarantined}, deleted {run.deleted}"
                + (f" - {run.error}" if run.error else "")
            )
        )
