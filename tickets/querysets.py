"""Ticket querysets: the access policy plus the department queue, and SLA state (tickets/sla.py)."""

from django.db import models
from django.db.models import Q

from accounts import policy
from accounts.choices import UserKind
from accounts.querysets import OrganisationOwnedQuerySet
from tickets import sla
from tickets.choices import OPEN_STATUSES


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
        return self.annotate(sla_state=sla.state(now))


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


class InboundEmailQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Staff only: all of them for an admin, else the ones on tickets they may see."""
        from tickets.models import Ticket

        if not (user and user.is_authenticated and user.is_active and user.is_employee):
            return self.none()
        if policy.sees_everything(user):
            return self
        return self.filter(ticket__in=Ticket.objects.visible_to(user).values("pk"))
