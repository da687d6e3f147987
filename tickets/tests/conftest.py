"""Fixtures the ticket tests share."""

import pytest

from tickets import services


@pytest.fixture
def ticket(world):
    return services.ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject="Parcel missing",
        category="delivery",
        priority="normal",
        body="Where is it?",
    )
