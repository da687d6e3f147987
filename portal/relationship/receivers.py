"""The account's "last contact", kept from what the tickets app tells (see tickets/signals.py)."""

from portal.relationship.services import last_contact_record
from tickets.signals import staff_replied


def on_staff_replied(*, organisation_id, at, **kwargs) -> None:
    last_contact_record(organisation=organisation_id, at=at)


def connect() -> None:
    staff_replied.connect(on_staff_replied, dispatch_uid="portal.relationship.staff_replied")
