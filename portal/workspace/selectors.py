"""Reads of the staff workspace: my accounts, the work queue's counts, renewals."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.choices import LifecycleStage
from accounts.models import Organisation, User
from accounts.selectors import team_roles_column
from config import prepared
from portal.relationship.choices import HealthColour
from portal.relationship.health import AMBER_FROM, GREEN_FROM, attach_health, with_health
from portal.relationship.models import Commitment, LastContact, SponsorLapse
from portal.relationship.selectors import (
    _current_tier,
    overdue_commitments,
    overdue_reviews,
    sponsor_lapses,
)
from portal.sync import selectors as sync_selectors
from portal.sync.models import SourceSystem
from tickets.choices import OPEN_STATUSES, SlaState
from tickets.models import Ticket
from tickets.selectors import ticket_list
from tiers.models import ServiceTier

ACCOUNT_SORTS = {
    "name": ("name",),
    "renewal": (F("renewal_date").asc(nulls_last=True), "name"),
    "stage": ("lifecycle_stage", "name"),
    "open": ("-open_tickets", "name"),
    "risk": ("-tickets_at_risk", "-open_tickets", "name"),
    "contact": (F("last_contact").asc(nulls_first=True), "name"),
    "health": (F("health_score").asc(nulls_last=True), "name"),
}


HEALTH_FILTERS = {
    HealthColour.GREEN: Q(health_score__gte=GREEN_FROM),
    HealthColour.AMBER: Q(health_score__gte=AMBER_FROM, health_score__lt=GREEN_FROM),
    HealthColour.RED: Q(health_score__lt=AMBER_FROM),
    "none": Q(health_score__isnull=True),
}
RENEWAL_WITHIN_DAYS = (30, 60, 90)


def workspace_accounts(
    *,
    user: User,
    sort: str = "name",
    search: str = "",
    tier: str = "",
    stage: str = "",
    health: str = "",
    renewal_days: int | None = None,
    now: datetime | None = None,
) -> QuerySet[Organisation]:
    """The accounts a staff member looks after, with what needs attention, filtered.

    Last contact is the stored one (portal.relationship.services.last_contact_record),
    one row per account, rather than a scan of every message of every account.
    `search` is a name or customer number; `tier` a tier's name; `stage` a lifecycle
    stage; `health` a colour or "none"; `renewal_days` renewals from today to then. Each
    has `team_roles`, the user's roles on it (accounts.selectors.team_role_labels).
    """
    now = now or timezone.now()
    open_tickets = Ticket.objects.filter(organisation=OuterRef("pk"), status__in=OPEN_STATUSES)
    risky = open_tickets.with_sla_state(now).filter(
        sla_state__in=[SlaState.AT_RISK, SlaState.BREACHED]
    )
    accounts = Organisation.objects.visible_to(user)
    if search.strip():
        text = search.strip()
        accounts = accounts.filter(Q(name__icontains=text) | Q(customer_number__icontains=text))
    if stage:
        accounts = accounts.filter(lifecycle_stage=stage)
    if tier:
        accounts = accounts.filter(
            tier_assignments__ended_at__isnull=True, tier_assignments__tier__name=tier
        )
    if renewal_days:
        today = timezone.localdate()
        accounts = accounts.filter(
            renewal_date__gte=today, renewal_date__lte=today + timedelta(days=renewal_days)
        )
    accounts = with_health(accounts)
    if health in HEALTH_FILTERS:
        accounts = accounts.filter(HEALTH_FILTERS[health])
    return accounts.annotate(
        team_roles=team_roles_column(user=user),
        tier_name=_current_tier("tier__name"),
        open_tickets=_count(open_tickets),
        tickets_at_risk=_count(risky),
        last_contact=Subquery(
            LastContact.objects.filter(organisation=OuterRef("pk")).values("at")[:1]
        ),
    ).order_by(*ACCOUNT_SORTS.get(sort, ACCOUNT_SORTS["name"]))


def _tiers() -> QuerySet[ServiceTier]:
    return ServiceTier.objects.order_by("rank").values("name")


def tier_names() -> list[str]:
    """The tiers' names, in rank order: My accounts' tier filter (SQL built once)."""
    return [row["name"] for row in prepared.rows(_tiers)]


def _accounts(sort: str, *, user: User, now: datetime) -> QuerySet[Organisation]:
    return workspace_accounts(user=user, sort=sort, now=now)


def workspace_account_pages(*, user: User, sort: str, count: int) -> prepared.Page:
    """My accounts unfiltered, as `workspace_accounts` sorts them, for a Paginator: each
    page by SQL built once per process (config/prepared.py). `count` is how many there are
    (workspace_counts' "accounts")."""
    return prepared.Page(
        _accounts,
        sort if sort in ACCOUNT_SORTS else "name",
        count=count,
        user=user,
        now=timezone.now(),
    )


def _count(queryset):
    counted = queryset.order_by().values("organisation").annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted), 0)


# An open ticket whose last public word is the customer's, and not one we wait on them for.
# Who spoke last is kept on the ticket by the database (tickets/last_word.py) rather than
# looked up in each ticket's thread.
WAITING_FOR_STAFF = Q(last_public_by_customer=True) & ~Q(status="waiting")


# The work queue's ticket tables: 50 of each, oldest waiting first, newest at risk first.
QUEUE_ROWS = 50

# The three tables' tickets picked from one reading of the user's open tickets (`mine`):
# three queries read them three times, worked out each one's SLA state three times and
# paid PostgreSQL's planning three times. Each table's order is a window over them (the
# waiting ones oldest first, each SLA state newest first); a ticket waiting and at risk is
# picked once and dealt to both tables. PostgreSQL answers the IN of this subquery by
# reading the picked tickets by key.
PICKED = """SELECT id FROM (SELECT id, waiting, sla_state,
  ROW_NUMBER() OVER (PARTITION BY waiting ORDER BY created_at, id) AS waiting_rank,
  ROW_NUMBER() OVER (PARTITION BY sla_state ORDER BY created_at DESC, id DESC) AS sla_rank
  FROM ({mine}) AS mine) AS ranked
WHERE (waiting AND waiting_rank <= %s) OR (sla_state IN (%s, %s) AND sla_rank <= %s)"""


def _waiting_flag() -> ExpressionWrapper:
    return ExpressionWrapper(WAITING_FOR_STAFF, output_field=BooleanField())


# What a ticket table shows (tickets/templatetags/ticket_tags.py): a row made from all 30
# columns cost more to read than to render.
TABLE_FIELDS = ("subject", "priority", "status", "created_at", "organisation")


def _queue_tables(rows: int, *, user: User, now: datetime) -> QuerySet[Ticket]:
    """The tickets of the work queue's three tables of `rows` each, oldest first, each with
    `sla_state`, `waiting` and `organisation_name` (work_queue_tickets deals them out)."""
    # "open" says nothing more to the at-risk and breached tables (a done ticket is never
    # at risk) but lets PostgreSQL read the open tickets' index instead of every ticket.
    mine = ticket_list(user=user, status="open", now=now).select_related(None).order_by()
    mine = mine.annotate(waiting=_waiting_flag()).values("id", "created_at", "waiting", "sla_state")
    sql, params = mine.query.sql_with_params()
    cuts = (rows, SlaState.AT_RISK, SlaState.BREACHED, rows)
    picked = RawSQL(PICKED.format(mine=sql), (*params, *cuts))  # noqa: S611 - SQL of ours
    # The organisation's name as a column (raw rows cannot select_related), looked up for
    # the rows picked only. No policy again: the ids picked are of tickets it let through.
    name = Organisation.objects.filter(pk=OuterRef("organisation_id")).values("name")
    return (
        Ticket.objects.filter(pk__in=picked)
        .with_sla_state(now)
        .annotate(waiting=_waiting_flag(), organisation_name=Subquery(name))
        .only(*TABLE_FIELDS)
        .order_by("created_at", "pk")
    )


def _reviews_overdue(*, user: User, today: date) -> QuerySet[Organisation]:
    # Only what the table shows: the sponsor's columns, unused here, cost PostgreSQL more to
    # plan than the rows to read.
    overdue = overdue_reviews(user=user, today=today)
    return overdue.values("id", "name", "review_due", "check_due")[:QUEUE_ROWS]


def reviews_overdue(*, user: User) -> list[Organisation]:
    """The work queue's accounts with a review or health check overdue (SQL built once per
    process, config/prepared.py)."""
    return prepared.objects(_reviews_overdue, user=user, today=timezone.localdate())


def _commitments_overdue(*, user: User, today: date) -> QuerySet[Commitment]:
    commitments = overdue_commitments(user=user, today=today).select_related(None)
    named = commitments.annotate(
        organisation_name=F("organisation__name"), owner_name=F("owner__full_name")
    )
    return named.only("organisation", "title", "due_on")[:QUEUE_ROWS]


def commitments_overdue(*, user: User) -> list[Commitment]:
    """The work queue's overdue commitments, each with `organisation_name` and `owner_name`
    (SQL built once per process, config/prepared.py)."""
    return prepared.objects(_commitments_overdue, user=user, today=timezone.localdate())


def _sponsor_lapses(*, user: User) -> QuerySet[SponsorLapse]:
    lapses = sponsor_lapses(user=user).select_related(None)
    named = lapses.annotate(
        organisation_name=F("organisation__name"), sponsor_name=F("sponsor__full_name")
    )
    return named.only("organisation", "sponsor", "due_on")[:QUEUE_ROWS]


def lapsed_sponsor_promises(*, user: User) -> list[SponsorLapse]:
    """The work queue's lapsed sponsor promises, each with `organisation_name` and
    `sponsor_name` (SQL built once per process, config/prepared.py)."""
    return prepared.objects(_sponsor_lapses, user=user)


def _identities_waiting() -> QuerySet:
    counted = Func(F("pk"), function="COUNT", output_field=IntegerField())
    return sync_selectors.identity_queue().order_by().annotate(n=counted).values("n")


def customers_to_match() -> int:
    """How many legacy customers wait for a person to match them: the work queue's count
    (SQL built once per process)."""
    found = prepared.rows(_identities_waiting)
    return found[0]["n"] if found else 0  # no row only while prepared.together learns


TROUBLED_SOURCES_SHOWN = 20


def _troubled_sources() -> QuerySet[SourceSystem]:
    return sync_selectors.sources_needing_attention()[:TROUBLED_SOURCES_SHOWN]


def troubled_sources() -> list[SourceSystem]:
    """The work queue's "Legacy systems" card (SQL built once per process)."""
    return prepared.objects(_troubled_sources)


def work_queue_tickets(
    *, user: User, now: datetime | None = None, rows: int = QUEUE_ROWS
) -> dict[str, list[Ticket]]:
    """The work queue's three ticket tables of `rows` each (waiting for us, oldest first; at
    risk, and breached and still open, newest first), each ticket with its
    `organisation_name`: one query, its SQL built once per process (config/prepared.py)."""
    tickets = prepared.objects(_queue_tables, rows, user=user, now=now or timezone.now())
    newest = tickets[::-1]
    # The first `rows` of a table's kind among those picked are its rows: every one of them
    # was picked, and one picked for another table comes after them in its order.
    return {
        "waiting": [t for t in tickets if t.waiting][:rows],
        "at_risk": [t for t in newest if t.sla_state == SlaState.AT_RISK][:rows],
        "breached": [t for t in newest if t.sla_state == SlaState.BREACHED][:rows],
    }


def _count_of(queryset) -> Subquery:
    counted = queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Subquery(counted, output_field=IntegerField())


QUEUE_COUNTS = ("waiting", "at_risk", "breached")
RELATIONSHIP_COUNTS = ("reviews_overdue", "commitments_overdue", "sponsor_lapses")


def _queue_counts(*, user: User, now: datetime, today: date) -> QuerySet[Ticket]:
    """The queue card's six counts in one row: the ticket counts read the user's open
    tickets once (an aggregate with a filter each, not a scan each), the others are
    subqueries of that row."""
    tickets = ticket_list(user=user, status="open", now=now).select_related(None).order_by()
    # One group for all rows: an aggregate's row even when there are no tickets.
    counts = tickets.annotate(everything=Value(1)).values("everything")
    return counts.annotate(
        waiting=Count("pk", filter=WAITING_FOR_STAFF),
        at_risk=Count("pk", filter=Q(sla_state=SlaState.AT_RISK)),
        breached=Count("pk", filter=Q(sla_state=SlaState.BREACHED)),
        reviews_overdue=_count_of(overdue_reviews(user=user, today=today)),
        commitments_overdue=_count_of(overdue_commitments(user=user, today=today)),
        sponsor_lapses=_count_of(sponsor_lapses(user=user)),
        to_match=_count_of(sync_selectors.identity_queue()),
        accounts=_count_of(Organisation.objects.visible_to(user)),
    ).values(*QUEUE_COUNTS, *RELATIONSHIP_COUNTS, "to_match", "accounts")


def workspace_counts(*, user: User) -> dict[str, int]:
    """The numbers on My accounts' queue card: tickets waiting for us, at risk and breached;
    reviews and commitments overdue, lapsed sponsor promises; customers to match; and how
    many accounts the list has unfiltered (`accounts`).

    One query whatever the data, its SQL built once per process (config/prepared.py)."""
    now = timezone.now()
    found = prepared.rows(_queue_counts, user=user, now=now, today=timezone.localdate(now))
    return found[0]  # an aggregate without GROUP BY: one row, tickets or none


RENEWAL_BUCKETS = [(30, "Next 30 days"), (60, "31 to 60 days"), (90, "61 to 90 days")]


def renewal_pipeline(*, user: User, today: date | None = None) -> list[dict]:
    """Renewals in the next 90 days in 30-day buckets, each account with its health."""
    today = today or timezone.localdate()
    organisations = list(
        with_health(Organisation.objects.visible_to(user))
        .filter(renewal_date__gte=today, renewal_date__lte=today + timedelta(days=90))
        .exclude(lifecycle_stage=LifecycleStage.CHURNED)
        .annotate(tier_name=_current_tier("tier__name"))
        .order_by("renewal_date", "name")
    )
    attach_health(organisations)
    buckets = [{"label": label, "organisations": []} for _, label in RENEWAL_BUCKETS]
    for organisation in organisations:
        days = (organisation.renewal_date - today).days
        index = next(i for i, (end, _) in enumerate(RENEWAL_BUCKETS) if days <= end)
        buckets[index]["organisations"].append(organisation)
    return buckets
