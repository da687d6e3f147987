from django.apps import AppConfig

# The SLA clock's bookkeeping: a save that only moves these is not worth a trail entry.
SLA_CLOCK_FIELDS = {
    "first_response_warn_at",
    "resolution_warn_at",
    "sla_warned_at",
    "sla_breached_at",
    "sla_paused_at",
    "sla_paused_seconds",
}


class TicketsConfig(AppConfig):
    name = "tickets"

    def ready(self):
        from accounts.platform import audit
        from tickets.models import Ticket, TicketFollower

        audit.register(Ticket, ignore=SLA_CLOCK_FIELDS)
        audit.register(TicketFollower)  # who put whom in CC
