"""The account's "last contact" and health, kept from what the tickets app tells
(see tickets/signals.py)."""

from portal.relationship.services import health_refresh_on_commit, last_contact_record
from tickets.signals import staff_replied, ticket_changed


def on_staff_replied(*, organisation_id, at, **kwargs) -> None:
    last_contact_record(organisation=organisation_id, at=at)
    health_refresh_on_commit(organisation_id)


def on_ticket_changed(*, organisation_id, **kwargs) -> None:
    health_refresh_on_commit(organisation_id)


def connect() -> None:
    staff_replied.connect(on_staff_replied, dispatch_uid="portal.relationship.staff_replied")
    ticket_changed.connect(on_ticket_changed, dispatch_uid="portal.relationship.ticket_changed")
