from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"

    def ready(self):
        from accounts.platform import audit
        from portal.am_tasks import receivers as am_task_receivers
        from portal.records import subjects as record_subjects
        from portal.relationship import receivers as relationship_receivers
        from portal.sync.models import SourceSystem
        from portal.timeline import receivers as timeline_receivers

        # A source's run bookkeeping is in its SyncRun rows, not the trail.
        audit.register(
            SourceSystem, ignore={"cursor", "last_started_at", "last_success_at", "last_full_at"}
        )
        record_subjects.connect()
        relationship_receivers.connect()
        am_task_receivers.connect()
        timeline_receivers.connect()
