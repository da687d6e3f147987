from django import forms
from django.contrib import admin, messages

from accounts import outbox
from portal import tasks
from portal.models import (
    Commitment,
    CrmAccount,
    CustomerIdentity,
    Engagement,
    HealthScore,
    HealthWeight,
    Invoice,
    LegacyTicket,
    Order,
    OrderLine,
    PriceAgreement,
    QuarantinedRecord,
    SampleReceipt,
    Shipment,
    SourceSystem,
    SponsorLapse,
    SyncRun,
    TimelineEvent,
)
from portal.sync import identity, runs


@admin.register(TimelineEvent)
class TimelineEventAdmin(admin.ModelAdmin):
    list_display = ["at", "organisation", "kind", "title"]
    list_filter = ["kind"]
    search_fields = ["title", "organisation__name"]
    list_select_related = ["organisation"]
    date_hierarchy = "at"


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
    ]
    list_filter = ["kind", "entity", "department", "enabled"]
    search_fields = ["name", "system"]
    actions = ["run_now", "run_full", "resume"]
    readonly_fields = ["last_started_at", "last_success_at", "last_full_at"]

    @admin.display(boolean=True)
    def paused(self, obj):
        return bool(obj.paused_reason)

    @admin.action(description="Run now (queued for a worker)")
    def run_now(self, request, queryset):
        self._queue_runs(request, queryset, full=False)

    @admin.action(description="Run a full reconciliation now")
    def run_full(self, request, queryset):
        self._queue_runs(request, queryset, full=True)

    def _queue_runs(self, request, queryset, *, full: bool) -> None:
        # Through the outbox: with Redis down the runs wait in PostgreSQL, not a 500.
        sources = list(queryset.only("pk"))
        kept = sum(not outbox.send(tasks.source_sync, source.pk, full) for source in sources)
        what = f"{'a full run of ' if full else ''}{len(sources)} source(s)"
        if kept:
            self.message_user(
                request,
                f"The task queue is not answering: {what} will be queued when it is back.",
                messages.WARNING,
            )
        else:
            self.message_user(request, f"Queued {what}.")

    @admin.action(description="Resume paused sources (after fixing the mapping)")
    def resume(self, request, queryset):
        resumed = queryset.exclude(paused_reason="").update(paused_reason="")
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
        "deleted",
        "progress",
    ]
    list_filter = ["status", "full", "source"]
    list_select_related = ["source"]
    date_hierarchy = "started_at"

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


class IdentityForm(forms.ModelForm):
    class Meta:
        model = CustomerIdentity
        fields = ["organisation"]


@admin.register(CustomerIdentity)
class CustomerIdentityAdmin(admin.ModelAdmin):
    """The review queue: unknown customers of legacy systems, matched to organisations."""

    form = IdentityForm
    list_display = ["external_name", "external_id", "system", "organisation", "matched_at"]
    list_filter = ["system", ("organisation", admin.EmptyFieldListFilter)]
    search_fields = ["external_name", "external_id"]
    autocomplete_fields = ["organisation"]
    readonly_fields = ["system", "external_id", "external_name", "suggested", "matched_by"]
    fields = ["system", "external_id", "external_name", "suggested", "organisation", "matched_by"]
    list_select_related = ["organisation"]

    @admin.display(description="Suggested matches")
    def suggested(self, obj):
        found = identity.suggestions(obj)  # one identity per page: one pass is fine
        return ", ".join(f"{org} ({why})" for org, why in found) or "none"

    def save_model(self, request, obj, form, change):
        identity.identity_match(identity=obj, organisation=obj.organisation, by=request.user)

    def has_add_permission(self, request):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "organisation", "customer_name", "status", "ordered_at", "source"]
    list_filter = ["source", "status", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["number", "external_id", "customer_name"]
    list_select_related = ["organisation", "source"]
    date_hierarchy = "ordered_at"


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["number", "organisation", "amount", "currency", "issued_on", "status"]
    list_filter = ["source", "status", "currency"]
    search_fields = ["number", "external_id", "customer_name"]
    list_select_related = ["organisation"]


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    list_display = ["external_id", "organisation", "carrier", "tracking_number", "status"]
    list_filter = ["source", "status", "carrier"]
    search_fields = ["external_id", "tracking_number", "order_id_external"]
    list_select_related = ["organisation"]


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    list_display = ["external_id", "order", "product_code", "quantity", "unit_price", "lot"]
    list_filter = ["source"]
    search_fields = ["external_id", "product_code", "order_id_external"]
    list_select_related = ["order"]


@admin.register(LegacyTicket)
class LegacyTicketAdmin(admin.ModelAdmin):
    list_display = ["external_id", "organisation", "subject", "status", "opened_at"]
    list_filter = ["source", "status"]
    search_fields = ["external_id", "subject", "customer_name"]
    list_select_related = ["organisation"]


@admin.register(CrmAccount)
class CrmAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "customer_number", "organisation", "city", "segment"]
    search_fields = ["name", "customer_number", "external_id"]
    list_select_related = ["organisation"]


@admin.register(PriceAgreement)
class PriceAgreementAdmin(admin.ModelAdmin):
    list_display = ["product_code", "organisation", "unit_price", "currency", "valid_from"]
    list_filter = ["source", "currency"]
    search_fields = ["product_code", "customer_name", "external_id"]
    list_select_related = ["organisation"]


@admin.register(SampleReceipt)
class SampleReceiptAdmin(admin.ModelAdmin):
    list_display = ["lot", "product_code", "quantity", "recipient", "organisation", "signed_at"]
    list_filter = ["source"]
    search_fields = ["lot", "recipient", "external_id"]
    list_select_related = ["organisation"]


# --- The relationship ----------------------------------------------------------------------------


@admin.register(Engagement)
class EngagementAdmin(admin.ModelAdmin):
    list_display = ["on", "organisation", "kind", "status", "recorded_by"]
    list_filter = ["kind", "status"]
    search_fields = ["organisation__name", "summary"]
    list_select_related = ["organisation", "recorded_by"]
    autocomplete_fields = ["organisation"]
    filter_horizontal = ["attendees"]
    date_hierarchy = "on"


@admin.register(Commitment)
class CommitmentAdmin(admin.ModelAdmin):
    list_display = ["title", "organisation", "owner", "due_on", "status"]
    list_filter = ["status"]
    search_fields = ["title", "organisation__name"]
    list_select_related = ["organisation", "owner"]
    autocomplete_fields = ["organisation"]
    raw_id_fields = ["engagement"]
    readonly_fields = ["closed_at", "created_by"]


@admin.register(HealthWeight)
class HealthWeightAdmin(admin.ModelAdmin):
    """The health score's weights: edit them in the list; the next computation uses them."""

    list_display = ["signal", "weight", "good_at", "bad_at"]
    list_editable = ["weight", "good_at", "bad_at"]
    actions = ["compute_now"]

    def has_delete_permission(self, request, obj=None):
        return False  # a missing signal would silently leave the score

    @admin.action(description="Compute every health score now (queued for a worker)")
    def compute_now(self, request, queryset):
        if outbox.send(tasks.health_compute):
            self.message_user(request, "Health scores are being computed.")
        else:
            self.message_user(
                request,
                "The task queue is not answering: the computation will start when it is back.",
                messages.WARNING,
            )


@admin.register(HealthScore)
class HealthScoreAdmin(admin.ModelAdmin):
    list_display = ["computed_on", "organisation", "score", "colour"]
    list_filter = ["colour", "computed_on"]
    search_fields = ["organisation__name"]
    list_select_related = ["organisation"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SponsorLapse)
class SponsorLapseAdmin(admin.ModelAdmin):
    list_display = ["organisation", "sponsor", "due_on", "warned_at", "ended_at"]
    list_filter = [("ended_at", admin.EmptyFieldListFilter)]
    list_select_related = ["organisation", "sponsor"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
