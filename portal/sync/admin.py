"""Admin of the sync: sources, runs, quarantine, the identity queue."""

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from portal.sync import runs, tasks
from portal.sync.models import (
    CustomerIdentity,
    QuarantinedRecord,
    SourceSystem,
    SyncRun,
)
from portal.sync.preview import source_preview


def _source_page(source: SourceSystem) -> str:
    return reverse("portal:sync_source", args=[source.pk])


@admin.register(SourceSystem)
class SourceSystemAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "system",
        "kind",
        "entity",
        "department",
        "enabled",
        "paused",
        "last_success_at",
        "runs_page",
    ]
    list_filter = ["kind", "entity", "department", "enabled"]
    search_fields = ["name", "system"]
    actions = ["test_source", "run_now", "run_full", "resume"]
    change_form_template = "admin/portal/live_progress_change_form.html"
    readonly_fields = ["last_started_at", "last_success_at", "last_full_at"]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        latest = SyncRun.objects.filter(source_id=object_id).order_by("-started_at").first()
        return super().change_view(request, object_id, form_url, {"live_run": latest})

    @admin.display(boolean=True)
    def paused(self, obj):
        return bool(obj.paused_reason)

    @admin.action(description="Test this source: read its first records, write nothing")
    def test_source(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Test one source at a time.", messages.WARNING)
            return None
        preview = source_preview(source=queryset.get())
        context = {
            **self.admin_site.each_context(request),
            "title": f"Test of {preview.source.name}",
            "preview": preview,
        }
        return TemplateResponse(request, "admin/portal/source_preview.html", context)

    @admin.action(description="Run now (queued for a worker)")
    def run_now(self, request, queryset):
        self._queue_runs(request, queryset, full=False)

    @admin.action(description="Run a full reconciliation now")
    def run_full(self, request, queryset):
        self._queue_runs(request, queryset, full=True)

    def _queue_runs(self, request, queryset, *, full: bool) -> None:
        sources = list(queryset.only("pk", "name"))
        kept = tasks.source_sync_queue([source.pk for source in sources], full=full)
        what = f"{'a full run of ' if full else ''}{len(sources)} source(s)"
        if kept:
            self.message_user(
                request,
                f"The task queue is not answering: {what} will be queued when it is back.",
                messages.WARNING,
            )
            return
        pages = format_html_join(
            ", ", '<a href="{}">{}</a>', ((_source_page(s), s.name) for s in sources)
        )
        self.message_user(request, format_html("Queued {}. Follow it live: {}.", what, pages))

    @admin.display(description="Runs")
    def runs_page(self, obj):
        return format_html('<a href="{}">Runs and live progress</a>', _source_page(obj))

    @admin.action(description="Resume paused sources (after fixing the mapping)")
    def resume(self, request, queryset):
        resumed = sum(runs.source_resume(source=source) for source in queryset)
        self.message_user(request, f"Resumed {resumed} source(s).")


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = [
        "source",
        "status",
        "full",
        "started_at",
        "finished_at",
        "read",
        "created",
        "updated",
        "unchanged",
        "quarantined",
        "duplicates",
        "deleted",
        "pages",
        "progress",
    ]
    list_filter = ["status", "full", "source"]
    readonly_fields = ["timings"]
    list_select_related = ["source"]
    change_form_template = "admin/portal/live_progress_change_form.html"
    date_hierarchy = "started_at"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = SyncRun.objects.filter(pk=object_id).first()
        return super().change_view(request, object_id, form_url, {"live_run": run})

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(QuarantinedRecord)
class QuarantinedRecordAdmin(admin.ModelAdmin):
    list_display = ["created_at", "source", "external_id", "reason", "label", "resolved_at"]
    list_filter = ["source", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["external_id", "reason"]
    list_select_related = ["source"]
    readonly_fields = ["source", "run", "external_id", "reason", "raw", "label", "resolved_at"]
    actions = ["retry"]

    @admin.action(description="Retry with the source's current mapping")
    def retry(self, request, queryset):
        result = runs.quarantine_retry(records=list(queryset.select_related("source")))
        self.message_user(request, f"{result['landed']} landed, {result['failed']} still failing.")


@admin.register(CustomerIdentity)
class CustomerIdentityAdmin(admin.ModelAdmin):
    """Every legacy customer and the decision on it; decisions are taken on the review
    screen, which shows the candidates and what becomes visible to whom."""

    list_display = ["external_name", "external_id", "system", "status", "organisation", "method"]
    list_filter = ["system", "status", "method"]
    search_fields = ["external_name", "external_id", "organisation__name"]
    readonly_fields = [
        "system", "external_id", "external_name", "number", "registry_id", "city", "postcode",
        "email_domain", "status", "organisation", "method", "score", "evidence", "candidates",
        "matched_at", "matched_by", "review",
    ]  # fmt: skip
    fields = readonly_fields
    list_select_related = ["organisation"]

    @admin.display(description="Decide")
    def review(self, obj):
        url = reverse("portal:identity", args=[obj.pk])
        return format_html('<a href="{}">Open the review screen</a>', url)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
