"""Writes of account managers' tasks: made by hand, done, snoozed; through the policy."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation, User
from portal.am_tasks.models import AccountTask, TaskStatus


def _visible_task(user: User, pk: int) -> AccountTask:
    task = AccountTask.objects.visible_to(user).select_for_update().filter(pk=pk).first()
    if task is None or not user.is_employee:
        raise Http404
    return task


@transaction.atomic
def am_task_create(
    *,
    by: User,
    organisation_id: int,
    title: str,
    due_on: date,
    details: str = "",
    assignee: User | None = None,
) -> AccountTask:
    """A task made by hand on an account `by` can see, for them or a colleague on it."""
    if not by.is_employee:
        raise Http404
    organisation = Organisation.objects.visible_to(by).filter(pk=organisation_id).first()
    if organisation is None:
        raise ValidationError({"organisation": _("Choose one of your accounts.")})
    assignee = assignee or by
    if not assignee.is_employee or not assignee.is_active:
        raise ValidationError({"assignee": _("Tasks go to active staff.")})
    if not Organisation.objects.visible_to(assignee).filter(pk=organisation.pk).exists():
        raise ValidationError(
            {
                "assignee": _("%(person)s does not look after %(organisation)s.")
                % {"person": assignee, "organisation": organisation}
            }
        )
    task = AccountTask(
        organisation=organisation,
        assignee=assignee,
        title=title.strip(),
        details=details.strip(),
        due_on=due_on,
        created_by=by,
    )
    task.full_clean()
    task.save()
    return task


@transaction.atomic
def am_task_done(*, by: User, pk: int, note: str = "") -> AccountTask:
    """Mark a task done (a no-op when it is already)."""
    task = _visible_task(by, pk)
    if task.status == TaskStatus.OPEN:
        task.status, task.closed_at, task.closed_by = TaskStatus.DONE, timezone.now(), by
        task.close_note = note.strip()[:200]
        task.save(update_fields=["status", "closed_at", "closed_by", "close_note"])
    return task


@transaction.atomic
def am_task_snooze(*, by: User, pk: int, until: date) -> AccountTask:
    """Hide an open task from the day's lists until `until` (a later day)."""
    task = _visible_task(by, pk)
    if until <= timezone.localdate():
        raise ValidationError({"until": _("Snooze until a day after today.")})
    if task.status != TaskStatus.OPEN:
        raise ValidationError(_("This task is done already."))
    task.snoozed_until = until
    task.save(update_fields=["snoozed_until"])
    return task
