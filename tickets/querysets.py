"""Ticket querysets: the access policy plus the department queue, and SLA state in SQL."""

from django.db import models
from django.db.models import Case, F, Q, Value, When

from accounts import policy
from accounts.choices import UserKind
from accounts.querysets import OrganisationOwnedQuerySet
from tickets.choices import DONE_STATUSES, OPEN_STATUSES, SlaState


def _agent_department(user) -> str:
    if user.is_authenticated and user.is_active and user.kind == UserKind.SUPPORT_AGENT:
        return user.department
    return ""


class TicketQuerySet(OrganisationOwnedQuerySet):
    def visible_to(self, user):
        """The organisations the policy allows, plus, for agents, their department's queue."""
        allowed = policy.organisation_q(user, self.organisation_field)
        department = _agent_department(user)
        if department:
            return self.filter(allowed | Q(department=department))
        return self.filter(allowed)

    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    def with_sla_state(self, now):
        """Annotate `sla_state`, so lists filter and sort on it and pages agree with lists."""
        return self.annotate(sla_state=sla_state_expression(now))


def first_response_breached(now) -> Q:
    return Q(
        first_responded_at__isnull=False, first_responded_at__gt=F("first_response_due_at")
    ) | Q(first_responded_at__isnull=True, first_response_due_at__lt=now)


def resolution_breached(now) -> Q:
    """Late resolution, or overdue now while the clock runs (not paused)."""
    return Q(resolved_at__isnull=False, resolved_at__gt=F("resolution_due_at")) | Q(
        resolved_at__isnull=True, sla_paused_at__isnull=True, resolution_due_at__lt=now
    )


def sla_state_expression(now):
    at_risk = Q(first_responded_at__isnull=True, first_response_warn_at__lte=now) | Q(
        resolution_warn_at__lte=now
    )
    return Case(
        When(resolution_due_at__isnull=True, then=Value(SlaState.NONE)),
        When(
            first_response_breached(now) | resolution_breached(now), then=Value(SlaState.BREACHED)
        ),
        When(status__in=DONE_STATUSES, then=Value(SlaState.MET)),
        When(sla_paused_at__isnull=False, then=Value(SlaState.PAUSED)),
        When(at_risk, then=Value(SlaState.AT_RISK)),
        default=Value(SlaState.ON_TRACK),
        output_field=models.CharField(),
    )


class MessageQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Messages of visible tickets; internal notes only for staff."""
        from tickets.models import Ticket

        rows = self.filter(ticket__in=Ticket.objects.visible_to(user).values("pk"))
        if not (user.is_authenticated and user.is_employee):
            rows = rows.filter(is_internal=False)
        return rows


class AttachmentQuerySet(models.QuerySet):
    def visible_to(self, user):
        from tickets.models import Message

        return self.filter(message__in=Message.objects.visible_to(user).values("pk"))
