"""Admin of the timeline's news."""

from django.contrib import admin

from portal.timeline.models import TimelineEvent


@admin.register(TimelineEvent)
class TimelineEventAdmin(admin.ModelAdmin):
    list_display = ["at", "organisation", "kind", "title"]
    list_filter = ["kind"]
    search_fields = ["title", "organisation__name"]
    list_select_related = ["organisation"]
    date_hierarchy = "at"
