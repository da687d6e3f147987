"""Tasks for account managers: a to-do list with due dates, made by hand or by rules."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation, User
from accounts.querysets import OrganisationOwnedQuerySet


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")


class TaskRule(models.TextChoices):
    """The relationship rules that make tasks (portal/am_tasks/rules.py)."""

    REVIEW_DUE = "review_due", _("Business review due within 14 days")
    RENEWAL_RISK = "renewal_risk", _("Renewal within 60 days, health below healthy")
    COMMITMENT_DUE = "commitment_due", _("Commitment due this week")
    NO_BACKUP = "no_backup", _("No backup account manager")
    DETRACTOR = "detractor", _("A detractor's rating")


class AccountTask(models.Model):
    """Something an account manager has to do for an account, by a day.

    Made by hand (`rule` empty) or by a rule, which names the condition it saw in
    `rule_key` (e.g. "review_due:12:2027-01-15"): while that condition holds
    (`condition_holds`) there is one task for it, open or done, so a rule run never
    makes it twice and a task someone marked done does not come back. When the
    condition ends the rule closes the task if still open; should it come back later,
    it is a new task. Snoozing moves the day it is shown, not the day it was due.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="am_tasks"
    )
    assignee = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="am_tasks",
        help_text="Empty when the account has no account manager to give it to.",
    )
    title = models.CharField(max_length=200)
    details = models.TextField(blank=True)
    due_on = models.DateField()
    snoozed_until = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=TaskStatus, default=TaskStatus.OPEN)
    rule = models.CharField(max_length=20, choices=TaskRule, blank=True)
    rule_key = models.CharField(max_length=120, blank=True)
    condition_holds = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    close_note = models.CharField(max_length=200, blank=True)

    objects = OrganisationOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule_key"],
                condition=Q(condition_holds=True) & ~Q(rule_key=""),
                name="am_task_one_per_condition",
                violation_error_message="A task for this condition exists already.",
            ),
            models.CheckConstraint(
                condition=Q(rule="") | ~Q(rule_key=""),
                name="am_task_rule_names_its_condition",
                violation_error_message="A rule's task names the condition it saw.",
            ),
        ]
        indexes = [
            models.Index(
                fields=["assignee", "due_on"],
                condition=Q(status="open"),
                name="am_task_open_by_assignee",
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.organisation_id}, due {self.due_on})"
