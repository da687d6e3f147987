"""Admin of the relationship: engagements, commitments, health weights and scores, lapses."""

from django.contrib import admin, messages

from accounts.platform import outbox
from portal.relationship import tasks
from portal.relationship.models import (
    Commitment,
    Engagement,
    HealthScore,
    HealthWeight,
    SponsorLapse,
)


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
