"""Reads of account managers' tasks: what is overdue, due today and due this week."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Case, Exists, F, OuterRef, Q, When
from django.db.models.functions import Greatest

from accounts.choices import UserKind
from accounts.models import AccountAssignment, Organisation, User
from config import prepared
from portal.am_tasks.models import AccountTask, TaskStatus

WEEK_DAYS = 7  # "this week": the seven days after today


@dataclass
class TaskBuckets:
    """A person's open tasks by when they are due (snoozed ones by their snooze day)."""

    today: date
    overdue: list = field(default_factory=list)
    due_today: list = field(default_factory=list)
    this_week: list = field(default_factory=list)
    later: list = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.overdue) + len(self.due_today) + len(self.this_week)


def _shows_on():
    """The day a task is listed on: its due day, or the later day it was snoozed to."""
    return Case(
        When(snoozed_until__isnull=False, then=Greatest("due_on", "snoozed_until")),
        default=F("due_on"),
    )


def open_tasks(*, user: User):
    """Open tasks the person can see, each with `shows_on`."""
    return (
        AccountTask.objects.visible_to(user)
        .filter(status=TaskStatus.OPEN)
        .annotate(shows_on=_shows_on())
        .select_related("organisation", "assignee")
        .order_by("shows_on", "organisation__name", "pk")
    )


def my_task_buckets(
    *, user: User, today: date, limit: int = 200, everyone: bool = False
) -> TaskBuckets:
    """The person's own open tasks (or, `everyone`, all they can see) by when due: one query.

    Admins and account managers see their own; an admin who asks for everyone's sees
    those with nobody to do them too.
    """
    tasks = open_tasks(user=user)
    if not everyone:
        tasks = tasks.filter(assignee=user)
    return _buckets(tasks[:limit], today)


def _due_tasks(limit: int, *, user: User):
    # What the tasks card shows (portal/includes/am_task_list.html), the organisation's
    # name as a column: raw rows cannot select_related.
    mine = open_tasks(user=user).filter(assignee=user).select_related(None)
    named = mine.annotate(organisation_name=F("organisation__name"))
    return named.only("organisation", "title", "due_on", "snoozed_until", "rule")[:limit]


def due_task_buckets(*, user: User, today: date, limit: int) -> TaskBuckets:
    """my_task_buckets for the tasks card of My accounts and the work queue: one query, its
    SQL built once per process (config/prepared.py), each task with its organisation's name."""
    tasks = prepared.objects(_due_tasks, limit, user=user)
    for task in tasks:
        task.organisation = Organisation.from_db(
            None, ["id", "name"], [task.organisation_id, task.organisation_name]
        )
    return _buckets(tasks, today)


def _buckets(tasks, today: date) -> TaskBuckets:
    buckets = TaskBuckets(today=today)
    week_end = today + timedelta(days=WEEK_DAYS)
    for task in tasks:
        if task.shows_on < today:
            buckets.overdue.append(task)
        elif task.shows_on == today:
            buckets.due_today.append(task)
        elif task.shows_on <= week_end:
            buckets.this_week.append(task)
        else:
            buckets.later.append(task)
    return buckets


def recently_done(*, user: User, limit: int = 20):
    return (
        AccountTask.objects.visible_to(user)
        .filter(status=TaskStatus.DONE, assignee=user)
        .select_related("organisation", "closed_by")
        .order_by("-closed_at")[:limit]
    )


def morning_list(*, today: date) -> dict[User, TaskBuckets]:
    """Each active assignee's tasks overdue, due today or this week, on accounts they
    still see (a task given to someone who left the team is not mailed to them): one query."""
    week_end = today + timedelta(days=WEEK_DAYS)
    on_team = AccountAssignment.objects.filter(
        organisation=OuterRef("organisation"), user=OuterRef("assignee"), ended_at__isnull=True
    )
    tasks = (
        AccountTask.objects.filter(status=TaskStatus.OPEN, assignee__is_active=True)
        .filter(Exists(on_team) | Q(assignee__kind=UserKind.ADMIN) | Q(assignee__is_superuser=True))
        .annotate(shows_on=_shows_on())
        .filter(shows_on__lte=week_end)
        .select_related("organisation", "assignee")
        .order_by("assignee_id", "shows_on", "pk")
    )
    found: dict[User, TaskBuckets] = {}
    for task in tasks:
        buckets = found.setdefault(task.assignee, TaskBuckets(today=today))
        if task.shows_on < today:
            buckets.overdue.append(task)
        elif task.shows_on == today:
            buckets.due_today.append(task)
        else:
            buckets.this_week.append(task)
    return found
