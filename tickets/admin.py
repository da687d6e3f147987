from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from accounts.models import Organisation
from tickets.inbound import held_email_open, held_reply_add
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
    a staff member, a From the receiving server did not vouch for, a message that could
    not be handled, with its error): read it here, download it as received, and open the
    ticket for the right organisation."""

    list_display = [
        "received_at", "sender", "authenticated", "subject", "outcome", "reason", "ticket",
    ]  # fmt: skip
    list_filter = ["outcome", "authenticated"]
    search_fields = ["sender", "subject", "message_id"]
    date_hierarchy = "received_at"
    list_select_related = ["ticket"]
    readonly_fields = [
        "message_id", "sender", "authenticated", "subject", "body", "received_at", "outcome",
        "reason", "error", "original", "size", "ticket", "ticket_message",
    ]  # fmt: skip
    exclude = ["raw", "digest"]

    @admin.display(description="As received")
    def original(self, record):
        if not record.raw:
            return "Not kept (past INBOUND_EMAIL_RAW_DAYS, or refused)."
        url = reverse("tickets:email_raw", args=[record.pk])
        return format_html('<a href="{}">Download the email (.eml)</a>', url)

    actions = ["open_ticket", "add_to_ticket"]

    @admin.action(description="Add a held reply to the ticket it answers, as its sender's")
    def add_to_ticket(self, request, queryset):
        """For a reply held because the receiving server did not vouch for its From: staff
        who know it is the sender's (they asked them) add it, once."""
        if queryset.count() != 1:
            self.message_user(request, "Choose one email at a time.", messages.WARNING)
            return
        try:
            reply = held_reply_add(record=queryset.get(), by=request.user)
        except (ValidationError, PermissionDenied) as error:
            self.message_user(request, f"Not added: {_said(error)}", messages.ERROR)
        else:
            self.message_user(request, f"Added to {reply.ticket.reference}.")

    @admin.action(description="Open a ticket for the sender, in the organisation you choose")
    def open_ticket(self, request, queryset):
        """For a held email of a customer of several organisations: staff say which."""
        if queryset.count() != 1:
            self.message_user(request, "Choose one email at a time.", messages.WARNING)
            return None
        record = queryset.get()
        choices = Organisation.objects.filter(
            memberships__user__email__iexact=record.sender, memberships__is_active=True
        ).order_by("name")
        chosen = request.POST.get("organisation")
        if chosen:
            try:
                ticket = held_email_open(
                    record=record, organisation=choices.get(pk=chosen), by=request.user
                )
            except (ValidationError, Organisation.DoesNotExist, ValueError) as error:
                self.message_user(request, f"Not opened: {error}", messages.ERROR)
            else:
                self.message_user(request, f"Opened {ticket.reference} for {ticket.organisation}.")
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Open a ticket from {record.sender}'s email",
            "record": record,
            "organisations": choices,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/tickets/held_email_open.html", context)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _said(error: Exception) -> str:
    return " ".join(getattr(error, "messages", None) or [str(error)])
