"""The relationship rules that give account managers tasks, and keep them true.

Each rule lists the conditions it sees now, each named by a key that says which
occurrence it is (the review due on which day, which commitment due which day, which
rating). `am_task_rules_run` then, in one transaction and a fixed number of queries:

- makes a task for each condition without one (the unique constraint on the key of
  holding conditions makes a second run, or two runs at once, add nothing);
- closes the open tasks whose condition no longer holds ("Closed by itself: ...") and
  releases the key of every task of that condition, done ones too, so that the same
  condition coming back later is a new task;
- gives the open rule-made tasks of an account to its account manager of the day (a
  handoff moves them; tasks made by hand stay with whom they were given).

A task marked done while its condition still holds stays done: the person decided;
the rule does not nag them again for the same occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from accounts.choices import LifecycleStage, TeamRole
from accounts.models import AccountAssignment, Organisation
from portal.am_tasks.models import AccountTask, TaskRule, TaskStatus
from portal.relationship.choices import CommitmentStatus, EngagementKind, EngagementStatus
from portal.relationship.health import GREEN_FROM, with_health
from portal.relationship.models import Commitment, Engagement
from portal.relationship.selectors import with_schedule
from tickets.models import Rating

REVIEW_WITHIN_DAYS = 14
RENEWAL_WITHIN_DAYS = 60
# A rating of 1 or 2 out of 5 is a detractor's (CSAT's usual cut); one from the last
# DETRACTOR_DAYS makes a task, which then stays until done or the rating is changed.
DETRACTOR_CSAT = 2
DETRACTOR_DAYS = 30
CLOSED_BY_RULE = "Closed by itself: the condition no longer holds."


@dataclass(frozen=True)
class Condition:
    rule: str
    key: str
    organisation_id: int
    title: str
    due_on: date
    owner_id: int | None = None  # who the task goes to, when not the account manager


def _accounts(organisation_ids: Iterable[int] | None):
    organisations = Organisation.objects.exclude(lifecycle_stage=LifecycleStage.CHURNED)
    if organisation_ids is not None:
        organisations = organisations.filter(pk__in=list(organisation_ids))
    return organisations


def _reviews_due(today: date, organisation_ids) -> list[Condition]:
    """A business review due within 14 days (or overdue) that nobody booked yet."""
    booked = Engagement.objects.filter(
        organisation=OuterRef("pk"),
        kind=EngagementKind.QBR,
        status=EngagementStatus.PLANNED,
        on__gte=today,
    )
    rows = (
        with_schedule(_accounts(organisation_ids))
        .filter(review_due__lte=today + timedelta(days=REVIEW_WITHIN_DAYS))
        .exclude(Exists(booked))
        .values_list("pk", "name", "review_due")
    )
    return [
        Condition(
            TaskRule.REVIEW_DUE,
            f"review_due:{pk}:{_day(due)}",
            pk,
            f"Book the business review with {name} (due {_day(due)})",
            _as_date(due),
        )
        for pk, name, due in rows
    ]


def _renewals_at_risk(today: date, organisation_ids) -> list[Condition]:
    rows = (
        with_health(_accounts(organisation_ids))
        .filter(
            renewal_date__gte=today,
            renewal_date__lte=today + timedelta(days=RENEWAL_WITHIN_DAYS),
            health_score__lt=GREEN_FROM,
        )
        .values_list("pk", "name", "renewal_date", "health_score")
    )
    return [
        Condition(
            TaskRule.RENEWAL_RISK,
            f"renewal_risk:{pk}:{renewal}",
            pk,
            f"{name} renews on {renewal} with health {score}: plan the renewal talk",
            max(today, renewal - timedelta(days=30)),
        )
        for pk, name, renewal, score in rows
    ]


def _commitments_due(today: date, organisation_ids) -> list[Condition]:
    """Open commitments due by the end of this week (Sunday), overdue ones too."""
    week_ends = today + timedelta(days=6 - today.weekday())
    commitments = Commitment.objects.filter(
        status=CommitmentStatus.OPEN,
        due_on__lte=week_ends,
        organisation__in=_accounts(organisation_ids),
    ).values_list("pk", "organisation_id", "title", "due_on", "owner_id", "owner__kind")
    return [
        Condition(
            TaskRule.COMMITMENT_DUE,
            f"commitment_due:{pk}:{due}",
            organisation_id,
            f"Keep the commitment “{title}” (due {due})",
            due,
            owner_id if owner_kind and owner_kind != "customer" else None,
        )
        for pk, organisation_id, title, due, owner_id, owner_kind in commitments
    ]


def _without_backup(today: date, organisation_ids) -> list[Condition]:
    """Accounts with an account manager and no backup: nobody to cover them."""
    current = AccountAssignment.objects.filter(organisation=OuterRef("pk"), ended_at__isnull=True)
    rows = (
        _accounts(organisation_ids)
        .filter(Exists(current.filter(role=TeamRole.PRIMARY_AM)))
        .exclude(Exists(current.filter(role=TeamRole.BACKUP_AM)))
        .values_list("pk", "name")
    )
    return [
        Condition(
            TaskRule.NO_BACKUP,
            f"no_backup:{pk}",
            pk,
            f"Name a backup account manager for {name}",
            today,
        )
        for pk, name in rows
    ]


def _detractors(today: date, organisation_ids) -> list[Condition]:
    since = timezone.now() - timedelta(days=DETRACTOR_DAYS)
    open_keys = AccountTask.objects.filter(
        rule=TaskRule.DETRACTOR, condition_holds=True, status=TaskStatus.OPEN
    ).values_list("rule_key", flat=True)
    kept = [int(key.split(":")[1]) for key in open_keys]
    ratings = Rating.objects.filter(
        Q(created_at__gte=since) | Q(pk__in=kept),
        csat__lte=DETRACTOR_CSAT,
        ticket__organisation__in=_accounts(organisation_ids),
    ).values_list("pk", "ticket_id", "ticket__organisation_id", "csat", "created_at")
    return [
        Condition(
            TaskRule.DETRACTOR,
            f"detractor:{pk}",
            organisation_id,
            f"Call back: ticket T-{ticket_id:06d} was rated {csat}/5",
            timezone.localdate(created) + timedelta(days=1),
        )
        for pk, ticket_id, organisation_id, csat, created in ratings
    ]


RULES = (_reviews_due, _renewals_at_risk, _commitments_due, _without_backup, _detractors)


def conditions_now(*, today: date, organisation_ids=None) -> list[Condition]:
    return [found for rule in RULES for found in rule(today, organisation_ids)]


@transaction.atomic
def am_task_rules_run(
    *, today: date | None = None, organisation_ids: Iterable[int] | None = None
) -> dict[str, int]:
    """Bring the rule-made tasks in line with the conditions of today (of some accounts,
    or all). Returns {"created", "closed", "reassigned"}."""
    today = today or timezone.localdate()
    ids = None if organisation_ids is None else sorted(set(organisation_ids))
    found = {c.key: c for c in conditions_now(today=today, organisation_ids=ids)}
    holding = AccountTask.objects.filter(condition_holds=True).exclude(rule="")
    if ids is not None:
        holding = holding.filter(organisation_id__in=ids)
    ended = list(
        holding.exclude(rule_key__in=list(found)).values_list("pk", "organisation_id", "status")
    )
    now = timezone.now()
    closed = AccountTask.objects.filter(
        pk__in=[pk for pk, _, status in ended if status == TaskStatus.OPEN]
    ).update(status=TaskStatus.DONE, closed_at=now, close_note=CLOSED_BY_RULE)
    AccountTask.objects.filter(pk__in=[pk for pk, _, _ in ended]).update(condition_holds=False)
    managers = dict(
        AccountAssignment.objects.filter(
            organisation_id__in={c.organisation_id for c in found.values()},
            role=TeamRole.PRIMARY_AM,
            ended_at__isnull=True,
        ).values_list("organisation_id", "user_id")
    )
    present = set(
        AccountTask.objects.filter(condition_holds=True, rule_key__in=list(found)).values_list(
            "rule_key", flat=True
        )
    )
    created = [c for key, c in found.items() if key not in present]
    # ignore_conflicts: a run at the same moment may have made some; the constraint keeps one.
    AccountTask.objects.bulk_create(
        [
            AccountTask(
                organisation_id=c.organisation_id,
                assignee_id=c.owner_id or managers.get(c.organisation_id),
                title=c.title[:200],
                due_on=c.due_on,
                rule=c.rule,
                rule_key=c.key,
            )
            for c in created
        ],
        ignore_conflicts=True,
    )
    reassigned = _follow_account_managers(ids)
    return {
        "conditions": len(found),
        "created": len(created),
        "closed": closed,
        "reassigned": len(reassigned),
    }


def _follow_account_managers(organisation_ids) -> set[int]:
    """Open rule-made tasks (other than commitments, which go to their owner) go to the
    account's account manager of the day."""
    primary = AccountAssignment.objects.filter(
        organisation=OuterRef("organisation"), role=TeamRole.PRIMARY_AM, ended_at__isnull=True
    )
    stale = (
        AccountTask.objects.filter(status=TaskStatus.OPEN)
        .exclude(rule__in=["", TaskRule.COMMITMENT_DUE])
        .filter(Exists(primary))
        .exclude(Exists(primary.filter(user_id=OuterRef("assignee_id"))))
    )
    if organisation_ids is not None:
        stale = stale.filter(organisation_id__in=organisation_ids)
    moved = set(stale.values_list("organisation_id", flat=True))
    if moved:
        stale.update(assignee_id=Subquery(primary.values("user_id")[:1]))
    return moved


def _day(value) -> str:
    return _as_date(value).isoformat()


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
