from django.contrib import admin

from tickets.models import (
    Attachment,
    CannedReply,
    Improvement,
    InboundEmail,
    Message,
    Rating,
    Ticket,
)


class MessageInline(admin.StackedInline):
    model = Message
    extra = 0
    fields = ["author", "created_at", "is_internal", "via_view_as", "body"]
    readonly_fields = ["author", "created_at", "via_view_as"]


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "subject",
        "organisation",
        "status",
        "priority",
        "department",
        "assignee",
        "created_at",
        "sla_breached_at",
    ]
    list_filter = ["status", "priority", "department", "category", "source", "feedback_department"]
    search_fields = ["subject", "organisation__name", "organisation__customer_number"]
    list_select_related = ["organisation", "assignee"]
    autocomplete_fields = ["organisation", "requester", "assignee"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "tier",
        "first_response_due_at",
        "first_response_warn_at",
        "first_responded_at",
        "resolution_due_at",
        "resolution_warn_at",
        "resolved_at",
        "closed_at",
        "sla_paused_at",
        "sla_paused_seconds",
        "sla_warned_at",
        "sla_breached_at",
    ]
    inlines = [MessageInline]


@admin.register(Improvement)
class ImprovementAdmin(admin.ModelAdmin):
    list_display = ["title", "department", "status", "owner", "created_at", "done_at"]
    list_filter = ["department", "status"]
    search_fields = ["title"]


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ["ticket", "csat", "effort", "rated_by", "created_at"]
    list_filter = ["csat", "effort"]
    list_select_related = ["ticket", "rated_by"]


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["filename", "content_type", "size", "message"]
    search_fields = ["filename"]


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ["title", "department", "is_active"]
    list_filter = ["department", "is_active"]
    search_fields = ["title", "body"]


@admin.register(InboundEmail)
class InboundEmailAdmin(admin.ModelAdmin):
    """Every email received at the support address; "Held for staff" is the queue of mail
    nobody could be sure about (an unknown sender, a customer of several organisations,
    a staff member): read it here and open the ticket for the right organisation."""

    list_display = ["received_at", "sender", "subject", "outcome", "reason", "ticket"]
    list_filter = ["outcome"]
    search_fields = ["sender", "subject", "message_id"]
    date_hierarchy = "received_at"
    list_select_related = ["ticket"]
    readonly_fields = [
        "message_id", "sender", "subject", "body", "received_at", "outcome", "reason", "ticket",
    ]  # fmt: skip

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
