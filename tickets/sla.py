"""The SLA rule, stated once: when a ticket's clocks are breached and when they are at risk.

Each part is a query condition, so the lists, the ticket page, the insights, the
minute scan and the services that mark a late reply all ask the same question of
the same columns (the due and warning times sla_schedule() sets from the tier):

- the first-response clock is breached when the first staff reply came after its
  due time, or there is none yet and the due time has passed;
- the resolution clock likewise, except that a paused clock (waiting on the
  customer) does not run out;
- a clock is at risk once its warning time (a fraction of the target) has passed
  while it still runs;
- a ticket resolved or closed in time is met only if staff answered it: one the
  customer closed before any staff reply is not judged (left out of attainment);
- a duplicate merged into another ticket is not judged either: the survivor is.
"""

from django.db import models
from django.db.models import Case, F, Q, Value, When

from tickets.choices import DONE_STATUSES, SlaState


def answered_late() -> Q:
    """The first reply, or the resolution, came after its due time."""
    return Q(
        first_responded_at__isnull=False, first_responded_at__gt=F("first_response_due_at")
    ) | Q(resolved_at__isnull=False, resolved_at__gt=F("resolution_due_at"))


def ran_out(now) -> Q:
    """A clock still running is past its due time (what the scan marks)."""
    return Q(first_responded_at__isnull=True, first_response_due_at__lt=now) | Q(
        resolved_at__isnull=True, sla_paused_at__isnull=True, resolution_due_at__lt=now
    )


def breached(now) -> Q:
    return answered_late() | ran_out(now)


def at_risk(now) -> Q:
    """A running clock is past its warning time."""
    return Q(first_responded_at__isnull=True, first_response_warn_at__lte=now) | Q(
        sla_paused_at__isnull=True, resolution_warn_at__lte=now
    )


def state(now) -> Case:
    """The ticket's SLA state as SQL, for annotating lists and pages alike."""
    return Case(
        When(resolution_due_at__isnull=True, then=Value(SlaState.NONE)),
        When(merged_into__isnull=False, then=Value(SlaState.NOT_JUDGED)),
        When(breached(now), then=Value(SlaState.BREACHED)),
        When(
            status__in=DONE_STATUSES,
            first_responded_at__isnull=True,
            then=Value(SlaState.NOT_JUDGED),
        ),
        When(status__in=DONE_STATUSES, then=Value(SlaState.MET)),
        When(sla_paused_at__isnull=False, then=Value(SlaState.PAUSED)),
        When(at_risk(now), then=Value(SlaState.AT_RISK)),
        default=Value(SlaState.ON_TRACK),
        output_field=models.CharField(),
    )
