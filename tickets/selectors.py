"""Reads for tickets, always through the access policy."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.db.models import Avg, Count, F, Prefetch, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.choices import TeamRole
from accounts.models import Organisation, User
from accounts.selectors import account_team
from config import prepared
from tickets.choices import DONE_STATUSES, OPEN_STATUSES, SlaState
from tickets.models import (
    Attachment,
    CannedReply,
    Improvement,
    InboundEmail,
    Message,
    Rating,
    Ticket,
)


def ticket_list(
    *,
    user: User,
    organisation: Organisation | int | None = None,
    status: str = "",
    sla_state: str = "",
    department: str = "",
    search: str = "",
    assigned: str = "",
    requester_id: int | None = None,
    now: datetime | None = None,
) -> QuerySet[Ticket]:
    """Tickets the user may see, newest first, with their SLA state.

    `search` finds a reference (T-000042 or 42), words of the subject or the
    organisation's name or number; `assigned` is "mine" or "unassigned"; `requester_id`,
    the tickets one person opened."""
    tickets = Ticket.objects.visible_to(user).with_sla_state(now or timezone.now())
    if organisation is not None:
        tickets = tickets.filter(organisation=organisation)
    if status == "open":
        tickets = tickets.filter(status__in=OPEN_STATUSES)
    elif status == "done":
        tickets = tickets.filter(status__in=DONE_STATUSES)
    elif status and status != "all":  # "all" (the tabs' word) and "" filter nothing
        tickets = tickets.filter(status=status)
    if sla_state:
        tickets = tickets.filter(sla_state=sla_state)
    if department:
        tickets = tickets.filter(department=department)
    if search.strip():
        tickets = tickets.filter(_search_q(search.strip()))
    if requester_id is not None:
        tickets = tickets.filter(requester_id=requester_id)
    if assigned == "mine":
        tickets = tickets.filter(assignee=user)
    elif assigned == "unassigned":
        tickets = tickets.filter(assignee__isnull=True)
    return tickets.select_related("organisation", "requester", "assignee").order_by(
        "-created_at", "-pk"
    )


def open_tickets(
    *, user: User, organisation: Organisation, limit: int = 5, now: datetime | None = None
) -> list[Ticket]:
    """The newest open tickets with their SLA state at `now` (the customer's home), the SQL
    built once per process (config/prepared.py)."""
    now = now or timezone.now()
    return prepared.objects(_open_tickets, limit, user=user, organisation=organisation.pk, now=now)


def _open_tickets(limit: int, *, user: User, organisation: int, now: datetime) -> QuerySet:
    tickets = ticket_list(user=user, organisation=organisation, status="open", now=now)
    # Only what the home shows: a ticket has 33 columns, 13 of them moments to convert.
    return tickets.select_related(None).only("subject", "status")[:limit]


def ticket_requesters(*, user: User, organisation: Organisation) -> QuerySet[User]:
    """Who opened the organisation's tickets this user may see: the "Opened by" choices."""
    tickets = Ticket.objects.visible_to(user).filter(organisation=organisation)
    return User.objects.filter(pk__in=tickets.values("requester_id")).only("pk", "full_name")


def _search_q(text: str) -> Q:
    found = (
        Q(subject__icontains=text)
        | Q(organisation__name__icontains=text)
        | Q(organisation__customer_number__iexact=text)
    )
    number = text.upper().removeprefix("T-").lstrip("0")
    if number.isdigit():
        found |= Q(pk=int(number))
    return found


def ticket_get(*, user: User, pk: int, now: datetime | None = None) -> Ticket:
    """The ticket if visible to the user; 404 otherwise, whether or not it exists."""
    tickets = (
        Ticket.objects.visible_to(user)
        .with_sla_state(now or timezone.now())
        .select_related("organisation", "tier", "requester", "assignee", "rating", "improvement")
    )
    return get_object_or_404(tickets, pk=pk)


# What the ticket's page shows of each row it links to. They come as columns of the
# ticket's one query, and are put back as the related instances the template reads
# (`ticket.tier.name`): composing six joins cost a quarter of the page's Python.
TICKET_PAGE_RELATED = {
    "organisation": ("name",),
    "tier": ("name",),
    "requester": ("full_name",),
    "assignee": ("full_name",),
    "rating": ("csat", "effort", "comment"),
    "improvement": ("title",),
}
FOLLOWER_RELATED = {"user": ("full_name", "email"), "added_by": ("full_name",)}


def ticket_page(*, user: User, pk: int) -> Ticket:
    """As ticket_get, for the ticket's page: its organisation, tier, requester, assignee,
    rating and improvement hold only what the page shows. One query, its SQL built once
    per process (config/prepared.py)."""
    found = prepared.objects(_ticket_page, user=user, pk=pk, now=timezone.now())
    if not found:
        raise Http404
    return prepared.with_related(found[0], TICKET_PAGE_RELATED)


def _ticket_page(*, user: User, pk: int, now: datetime) -> QuerySet[Ticket]:
    tickets = Ticket.objects.visible_to(user).with_sla_state(now).filter(pk=pk)
    return tickets.annotate(**prepared.related_columns(TICKET_PAGE_RELATED, one_row_of=Ticket))


def ticket_thread(*, ticket: Ticket, user: User) -> QuerySet[Message]:
    """The messages of a ticket this user may read: internal notes only for staff. Each
    carries the id of the email it came by and its kept file (`email_pk`, `email_raw`), for
    staff to download the original."""
    return (
        Message.objects.visible_to(user)
        .filter(ticket=ticket)
        .select_related("author")
        .annotate(email_pk=F("email__id"), email_raw=F("email__raw"))
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("pk")))
    )


THREAD_AUTHOR = {"author": ("full_name", "email", "kind", "is_superuser")}


def ticket_page_thread(*, ticket: Ticket, user: User) -> list[Message]:
    """ticket_thread as the ticket's page shows it: each message with its author (what the
    page reads of them) and its `shown_attachments`. Two queries, their SQL built once per
    process (config/prepared.py)."""
    messages = prepared.objects(_thread, user=user, ticket=ticket.pk)
    files = defaultdict(list)
    for attachment in prepared.objects(_thread_attachments, user=user, ticket=ticket.pk):
        files[attachment.message_id].append(attachment)
    for message in messages:
        prepared.with_related(message, THREAD_AUTHOR)
        message.shown_attachments = files[message.pk]
    return messages


def _thread(*, user: User, ticket: int) -> QuerySet[Message]:
    messages = ticket_thread(ticket=ticket, user=user).select_related(None)
    return messages.prefetch_related(None).annotate(**prepared.related_columns(THREAD_AUTHOR))


def _thread_attachments(*, user: User, ticket: int) -> QuerySet[Attachment]:
    return Attachment.objects.visible_to(user).filter(message__ticket=ticket).order_by("pk")


def merged_tickets(*, ticket: Ticket) -> list[Ticket]:
    """The tickets merged into this one, for its page: one query, built once per process."""
    return prepared.objects(_merged_tickets, ticket=ticket.pk)


def _merged_tickets(*, ticket: int) -> QuerySet[Ticket]:
    return Ticket.objects.filter(merged_into=ticket).only("pk", "subject")


def ticket_is_rated(*, ticket: Ticket) -> bool:
    return Rating.objects.filter(ticket=ticket).exists()


def inbound_email_get(*, user: User, pk: int) -> InboundEmail:
    """A received email, for staff who may see its ticket (admins: all, held ones too)."""
    return get_object_or_404(InboundEmail.objects.visible_to(user), pk=pk)


def attachment_get(*, user: User, pk: int) -> Attachment:
    return get_object_or_404(Attachment.objects.visible_to(user), pk=pk)


def canned_replies(*, ticket: Ticket) -> QuerySet[CannedReply]:
    """The canned replies offered on a ticket: everyone's and its department's."""
    return CannedReply.objects.filter(
        Q(department="") | Q(department=ticket.department), is_active=True
    )


def canned_reply_titles(*, ticket: Ticket) -> list[CannedReply]:
    """canned_replies as the reply box lists them: each with its title only, in the
    model's order (SQL built once per process, per department, config/prepared.py)."""
    return prepared.objects(_canned_reply_titles, ticket.department)


def _canned_reply_titles(department: str) -> QuerySet[CannedReply]:
    return canned_replies(ticket=Ticket(department=department)).only("title")


def canned_reply_text(*, ticket: Ticket, user: User, pk: int) -> str:
    """A canned reply's text filled in for this ticket, written by `user` (404 if unknown)."""
    reply = get_object_or_404(canned_replies(ticket=ticket), pk=pk)
    manager = account_team(organisation=ticket.organisation).get(TeamRole.PRIMARY_AM)
    return reply.render(
        {
            "customer_name": ticket.requester.full_name if ticket.requester else "",
            "organisation": ticket.organisation.name,
            "ticket_number": ticket.reference,
            "ticket_subject": ticket.subject,
            "am_name": manager.user.full_name if manager else "",
            "agent_name": user.full_name,
        }
    )


def merge_candidates(*, ticket: Ticket, user: User) -> QuerySet[Ticket]:
    """The tickets a duplicate may be merged into: the same organisation's, open, not merged."""
    return (
        Ticket.objects.visible_to(user)
        .filter(organisation_id=ticket.organisation_id, status__in=OPEN_STATUSES)
        .filter(merged_into__isnull=True)
        .exclude(pk=ticket.pk)
        .order_by("-created_at")
    )


def merge_choices(*, ticket: Ticket, user: User) -> list[tuple[int, str]]:
    """merge_candidates as the merge list shows them: (id, subject), newest first (SQL
    built once per process, config/prepared.py: a large account lists hundreds)."""
    found = prepared.rows(
        _merge_choices, user=user, pk=ticket.pk, organisation=ticket.organisation_id
    )
    return [(row["id"], row["subject"]) for row in found]


def _merge_choices(*, user: User, pk: int, organisation: int) -> QuerySet:
    ticket = Ticket(pk=pk, organisation_id=organisation)
    return merge_candidates(ticket=ticket, user=user).values("id", "subject")


def staff_choices() -> QuerySet[User]:
    return User.objects.staff().filter(is_active=True).order_by("full_name")


def staff_names() -> list[tuple[int, str]]:
    """staff_choices as a list shows them: (id, name or email), as str(user) says (SQL
    built once per process)."""
    found = prepared.rows(_staff_names)
    return [(row["id"], row["full_name"] or row["email"]) for row in found]


def _staff_names() -> QuerySet:
    return staff_choices().values("id", "full_name", "email")


def department_insights(*, user: User, department: str, months: int = 6) -> dict:
    """Per month, for tickets routed to a department: counts by category, SLA, CSAT, effort.

    Only tickets the user may see count, so an AM's insights cover their
    accounts and an agent's their department.
    """
    now = timezone.now()
    since = (now - timedelta(days=31 * (months - 1))).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    tickets = Ticket.objects.visible_to(user).filter(created_at__gte=since)
    if department:
        tickets = tickets.filter(department=department)
    return {"months": ticket_months(tickets, now=now), "since": since}


def ticket_months(tickets: QuerySet[Ticket], *, now: datetime) -> list[dict]:
    """Per month the tickets were opened, newest first: total, SLA met and breached, its
    attainment (% of judged tickets met), mean CSAT and effort, and counts by category.

    The one computation of these figures: the insights page and the business-review
    pack both read them from here. Two queries.
    """
    tickets = tickets.with_sla_state(now).annotate(month=TruncMonth("created_at"))
    by_category = tickets.values("month", "category").annotate(n=Count("pk")).order_by("month")
    by_month = (
        tickets.values("month")
        .annotate(
            total=Count("pk"),
            met=Count("pk", filter=Q(sla_state=SlaState.MET)),
            breached=Count("pk", filter=Q(sla_state=SlaState.BREACHED)),
            csat=Avg("rating__csat"),
            effort=Avg("rating__effort"),
            ratings=Count("rating"),
        )
        .order_by("-month")
    )
    months_rows = []
    categories: dict = {}
    for row in by_category:
        categories.setdefault(row["month"], {})[row["category"]] = row["n"]
    for row in by_month:
        judged = row["met"] + row["breached"]
        row["attainment"] = round(100 * row["met"] / judged) if judged else None
        row["categories"] = categories.get(row["month"], {})
        months_rows.append(row)
    return months_rows


def flagged_feedback(*, user: User, department: str) -> QuerySet[Ticket]:
    """Tickets flagged as feedback for a department and not yet turned into an improvement."""
    tickets = Ticket.objects.visible_to(user).filter(improvement__isnull=True)
    if department:
        tickets = tickets.filter(feedback_department=department)
    else:
        tickets = tickets.exclude(feedback_department="")
    return tickets.select_related("organisation").order_by("-created_at")[:200]


def improvement_list(*, department: str) -> QuerySet[Improvement]:
    rows = Improvement.objects.select_related("owner").annotate(ticket_count=Count("tickets"))
    return rows.filter(department=department) if department else rows


def improvement_get(*, user: User, pk: int) -> tuple[Improvement, QuerySet[Ticket]]:
    """An improvement (staff only) and the linked tickets this user may see."""
    improvement = get_object_or_404(Improvement.objects.select_related("owner"), pk=pk)
    tickets = (
        Ticket.objects.visible_to(user)
        .filter(improvement=improvement)
        .select_related("organisation")
    )
    return improvement, tickets


# --- Followers and CC ----------------------------------------------------------------------


def ticket_followers_to_tell(*, ticket: Ticket) -> list[User]:
    """The ticket's followers who still belong to its organisation, the requester left
    out (they get their own mail): one query."""
    from tickets.models import TicketFollower

    return [
        follower.user
        for follower in TicketFollower.objects.filter(
            ticket=ticket,
            user__is_active=True,
            user__memberships__organisation_id=ticket.organisation_id,
            user__memberships__is_active=True,
        )
        .exclude(user_id=ticket.requester_id)
        .select_related("user")
        .order_by("user__email")
    ]


def ticket_follower_list(*, ticket: Ticket) -> list:
    """Who follows the ticket (and who put them in CC), for its page: one query, its SQL
    built once per process (config/prepared.py)."""
    followers = prepared.objects(_followers, ticket=ticket.pk)
    return [prepared.with_related(follower, FOLLOWER_RELATED) for follower in followers]


def _followers(*, ticket: int) -> QuerySet:
    from tickets.models import TicketFollower

    return (
        TicketFollower.objects.filter(ticket=ticket, user__is_active=True)
        .annotate(**prepared.related_columns(FOLLOWER_RELATED))
        .order_by("user__full_name")
    )
