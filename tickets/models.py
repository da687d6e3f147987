"""Customer service: tickets, their threads, SLA clocks, ratings and improvements."""

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.choices import Department
from accounts.models import Organisation, User
from tickets.choices import (
    OPEN_STATUSES,
    Category,
    ImprovementStatus,
    InboundOutcome,
    Source,
    Status,
)
from tickets.querysets import (
    AttachmentQuerySet,
    InboundEmailQuerySet,
    MessageQuerySet,
    TicketQuerySet,
)
from tiers.choices import Priority
from tiers.models import ServiceTier

# What lists of open tickets read of each: its SLA state (tickets.sla.state), who spoke
# last ("waiting for us") and when it opened. The open tickets' index carries them, so the
# counts of an AM's tickets read no table rows (tickets/tests hold it to the SQL).
OPEN_LIST_COLUMNS = (
    "id",
    "created_at",
    "status",
    "last_public_by_customer",
    "merged_into",
    "first_responded_at",
    "first_response_due_at",
    "first_response_warn_at",
    "resolution_due_at",
    "resolution_warn_at",
    "resolved_at",
    "sla_paused_at",
)


class Improvement(models.Model):
    """A fix a department makes to a cause that tickets revealed.

    When it is done, the customers whose tickets are linked are told what changed.
    """

    department = models.CharField(max_length=20, choices=Department)
    title = models.CharField(max_length=200, help_text="What will change.")
    description = models.TextField(blank=True)
    owner = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(
        max_length=20, choices=ImprovementStatus, default=ImprovementStatus.OPEN
    )
    what_changed = models.TextField(
        blank=True, help_text="Told to the affected customers when the improvement is done."
    )
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


# The variables a canned reply may use, each with what it stands for.
CANNED_VARIABLES = {
    "customer_name": "the requester's name",
    "organisation": "the customer organisation's name",
    "ticket_number": "the ticket's reference, e.g. T-00042",
    "ticket_subject": "the ticket's subject",
    "am_name": "the organisation's account manager",
    "agent_name": "your own name",
}
_CANNED_VARIABLE = re.compile(r"{([a-z_]+)}")


def validate_canned_body(body: str) -> None:
    unknown = sorted(set(_CANNED_VARIABLE.findall(body)) - set(CANNED_VARIABLES))
    if unknown:
        raise ValidationError(
            "Unknown variable(s): %(unknown)s. Use: %(known)s.",
            params={
                "unknown": ", ".join(f"{{{name}}}" for name in unknown),
                "known": ", ".join(f"{{{name}}}" for name in CANNED_VARIABLES),
            },
        )


class CannedReply(models.Model):
    """A reply staff use often, with variables filled in for the ticket at hand.

    Managed in admin; inserted into the reply composer on the ticket page, where staff
    read and edit it before anything is sent.
    """

    title = models.CharField(max_length=100, unique=True)
    body = models.TextField(
        validators=[validate_canned_body],
        help_text="Variables: "
        + ", ".join(f"{{{name}}} ({meaning})" for name, meaning in CANNED_VARIABLES.items()),
    )
    department = models.CharField(
        max_length=20, choices=Department, blank=True, help_text="Empty: offered to everyone."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "canned replies"

    def __str__(self) -> str:
        return self.title

    def render(self, values: dict[str, str]) -> str:
        """The body with each {variable} replaced; a value missing is left empty."""
        return _CANNED_VARIABLE.sub(lambda match: values.get(match.group(1), ""), self.body)


OPEN_UNBREACHED = Q(status__in=OPEN_STATUSES, sla_breached_at__isnull=True)
OPEN_UNWARNED = Q(status__in=OPEN_STATUSES, sla_warned_at__isnull=True)


class Ticket(models.Model):
    """A customer's request to us, with its thread and its SLA clocks.

    Due times come from the organisation's tier when the ticket opens, on that
    tier's calendar. `sla_paused_seconds` is the clock time spent waiting on
    the customer (or resolved and later reopened); it pushes the resolution
    due time back.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="tickets")
    subject = models.CharField(max_length=200)
    category = models.CharField(max_length=20, choices=Category)
    priority = models.CharField(max_length=10, choices=Priority, default=Priority.NORMAL)
    status = models.CharField(max_length=10, choices=Status, default=Status.NEW)
    requester = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="requested_tickets"
    )
    assignee = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_tickets"
    )
    department = models.CharField(max_length=20, choices=Department)
    source = models.CharField(max_length=10, choices=Source, default=Source.PORTAL)
    # What it is about, when opened from a record's page (tickets/subjects.py).
    about_kind = models.CharField(max_length=20, blank=True)
    about_id = models.PositiveBigIntegerField(null=True, blank=True)
    about_name = models.CharField(
        max_length=200, blank=True, help_text="The record's name when the ticket opened."
    )
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    tier = models.ForeignKey(
        ServiceTier,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The tier whose SLA applies, fixed when the ticket opened.",
    )
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    first_response_warn_at = models.DateTimeField(null=True, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    resolution_warn_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    sla_paused_seconds = models.PositiveIntegerField(default=0)
    sla_warned_at = models.DateTimeField(null=True, blank=True)
    sla_breached_at = models.DateTimeField(null=True, blank=True)

    feedback_department = models.CharField(
        max_length=20,
        choices=Department,
        blank=True,
        help_text="Flag the ticket as feedback for the department that caused it.",
    )
    feedback_note = models.TextField(blank=True)
    improvement = models.ForeignKey(
        Improvement, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_tickets",
        help_text="A duplicate, closed and continued in this ticket (its thread kept here).",
    )
    # Kept by the database from the thread (tickets/last_word.py): what an instance holds
    # when it is saved is replaced by what the messages say.
    last_public_by_customer = models.BooleanField(
        default=True,
        db_default=True,
        editable=False,
        help_text="The last public message is the customer's, or there is none yet.",
    )

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organisation", "-created_at"]),
            models.Index(fields=["department", "status"]),
            # The workspace's per-account counts and the timeline's resolutions, from the
            # index alone (OPEN_LIST_COLUMNS; INCLUDE is PostgreSQL's): My accounts counted
            # an AM's open tickets by reading every open ticket's row.
            models.Index(
                fields=["organisation"],
                name="ticket_open_sla_idx",
                condition=Q(status__in=OPEN_STATUSES),
                include=OPEN_LIST_COLUMNS,
            ),
            # The customer home's newest open tickets: read in order, not all sorted.
            models.Index(
                fields=["organisation", "-created_at", "-id"],
                name="ticket_open_newest_idx",
                condition=Q(status__in=OPEN_STATUSES),
            ),
            models.Index(
                fields=["organisation", "-resolved_at"],
                name="ticket_resolved_idx",
                condition=Q(resolved_at__isnull=False),
            ),
            # The per-minute SLA scan: one partial index per clock it watches, so a scan
            # with nothing to do reads almost nothing, however many tickets are open.
            models.Index(
                fields=["first_response_due_at"],
                name="ticket_scan_first_due_idx",
                condition=OPEN_UNBREACHED & Q(first_responded_at__isnull=True),
            ),
            models.Index(
                fields=["resolution_due_at"],
                name="ticket_scan_res_due_idx",
                condition=OPEN_UNBREACHED & Q(resolved_at__isnull=True, sla_paused_at__isnull=True),
            ),
            models.Index(
                fields=["first_response_warn_at"],
                name="ticket_scan_first_warn_idx",
                condition=OPEN_UNWARNED & Q(first_responded_at__isnull=True),
            ),
            models.Index(
                fields=["resolution_warn_at"],
                name="ticket_scan_res_warn_idx",
                condition=OPEN_UNWARNED & Q(sla_paused_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.subject}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("tickets:detail", args=[self.pk])

    @property
    def reference(self) -> str:
        return ticket_reference(self.pk)


def ticket_reference(pk: int | None) -> str:
    """How people quote a ticket (Ticket.reference), from its id alone."""
    return f"T-{pk:06d}" if pk else "T-new"


class Message(models.Model):
    """One entry in a ticket's thread. Internal notes are for staff only."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField()
    is_internal = models.BooleanField(
        default=False, help_text="Internal note: never shown to the customer."
    )
    via_view_as = models.BooleanField(default=False)
    created_at = models.DateTimeField(db_index=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            # A ticket's last public message (who spoke last: "waiting for us") is the
            # first entry here, not a sort of the ticket's messages.
            models.Index(
                fields=["ticket", "-created_at", "-id"],
                condition=Q(is_internal=False),
                name="message_last_public_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{'Note' if self.is_internal else 'Message'} on {self.ticket_id}"


def attachment_path(instance, filename: str) -> str:
    import uuid

    # A random name: the original one is kept in `filename`, never used as a path.
    return f"attachments/{instance.message.ticket_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A file on a message, stored outside the static path and served through the policy."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=300)
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()

    objects = AttachmentQuerySet.as_manager()

    def __str__(self) -> str:
        return self.filename


class Rating(models.Model):
    """How the customer felt about a resolved ticket: CSAT and effort (CES)."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="rating")
    csat = models.PositiveSmallIntegerField(help_text="Satisfaction, 1 (very unhappy) to 5.")
    effort = models.PositiveSmallIntegerField(help_text="Ease, 1 (very hard) to 5 (very easy).")
    comment = models.TextField(blank=True)
    rated_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(csat__gte=1, csat__lte=5, effort__gte=1, effort__lte=5),
                name="rating_scores_1_to_5",
                violation_error_message="Scores go from 1 to 5.",
            )
        ]

    def __str__(self) -> str:
        return f"CSAT {self.csat}, effort {self.effort} on {self.ticket_id}"


def inbound_raw_path(instance, filename: str) -> str:
    import uuid

    return f"inbound/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.eml"


class InboundEmail(models.Model):
    """One email received at the support address, and what became of it.

    Kept for every message, so a message read twice (IMAP, an MTA's retry) is handled once,
    senders can be rate-limited, and staff see what was held and why (tickets/inbound.py).
    The message as received (`raw`) is kept for INBOUND_EMAIL_RAW_DAYS, for staff only.
    """

    message_id = models.CharField(max_length=255)
    # What the message says (sender, subject, body): the same Message-ID with other content
    # is another message (held), the same content again is the same message (handled once).
    digest = models.CharField(max_length=64, blank=True)
    sender = models.EmailField(db_index=True)
    # The receiving server vouched for the From address (tickets/mail_auth.py): only then
    # does the mail act as that person, and only then does it count toward their limit.
    authenticated = models.BooleanField(default=False)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True, help_text="The new text, without the quoted history.")
    received_at = models.DateTimeField(db_index=True)
    outcome = models.CharField(max_length=10, choices=InboundOutcome)
    reason = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True, help_text="Why it could not be handled, for staff.")
    raw = models.FileField(upload_to=inbound_raw_path, max_length=300, blank=True)
    size = models.PositiveIntegerField(default=0)
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="emails"
    )
    ticket_message = models.OneToOneField(
        "Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="email"
    )

    objects = InboundEmailQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        verbose_name = "inbound email"
        constraints = [
            models.UniqueConstraint(
                fields=["message_id", "digest"],
                name="inbound_email_once",
                violation_error_message="This email was received already.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.sender}: {self.subject} ({self.get_outcome_display()})"


class SavedView(models.Model):
    """A named set of ticket-queue filters a staff member keeps (tickets/queue.py).

    Private to its owner, or shared with the owner's department (support agents have
    one); at most one of a person's own views is their default, which the queue opens
    when they come to it without filters.
    """

    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="saved_ticket_views")
    name = models.CharField(max_length=80)
    query = models.CharField(
        max_length=500, blank=True, help_text="The queue's filters, as its URL's query string."
    )
    department = models.CharField(
        max_length=20,
        choices=Department,
        blank=True,
        help_text="Shared with this department's agents; empty: the owner's alone.",
    )
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"],
                name="saved_view_name_once",
                violation_error_message="You already have a view of this name.",
            ),
            models.UniqueConstraint(
                fields=["owner"],
                condition=Q(is_default=True),
                name="saved_view_one_default",
                violation_error_message="Only one view is your default.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TicketFollower(models.Model):
    """A colleague of the requester who hears about a ticket's answers and resolution.

    They followed it themselves (`added_by` is them) or a colleague put them in CC.
    Only active members of the ticket's organisation can be followers (tickets/services.py).
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="followed_tickets")
    added_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "user"],
                name="ticket_follower_once",
                violation_error_message="This person already follows the ticket.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} follows {self.ticket_id}"

    @property
    def is_cc(self) -> bool:
        return self.added_by_id is not None and self.added_by_id != self.user_id
