"""The account manager's workspace: my accounts and one work queue across them."""

import re
from datetime import UTC, datetime

from django.urls import reverse

from tickets import services


def open_ticket(world, organisation, requester, subject, at=None):
    return services.ticket_create(
        organisation=organisation,
        requester=requester,
        subject=subject,
        category="delivery",
        priority="normal",
        body="?",
        now=at,
    )


def test_my_accounts_shows_tier_tickets_risk_and_last_contact(client, world):
    overdue = open_ticket(
        world, world.org_a, world.member_a, "Old", datetime(2026, 1, 5, 9, tzinfo=UTC)
    )
    open_ticket(world, world.org_a, world.member_a, "Fresh")
    services.ticket_reply(ticket=overdue, author=world.am_a, body="On it")
    client.force_login(world.admin)
    page = client.get(reverse("home")).content.decode()
    row_a = re.search(r"<tr>\s*<td><strong>Alpha Clinic.*?</tr>", page, re.S).group(0)
    assert "Standard" in row_a  # the tier
    assert "<td>2</td>" in row_a  # open tickets
    assert "1 at risk or breached" in row_a
    assert "ago" in row_a  # last contact: the AM's reply
    row_b = re.search(r"<tr>\s*<td><strong>Bravo Hospital.*?</tr>", page, re.S).group(0)
    assert "never" in row_b


def test_my_accounts_sorts_by_the_column_asked_for(client, world):
    open_ticket(world, world.org_b, world.member_b, "B needs help")
    client.force_login(world.admin)
    by_name = client.get(reverse("home")).content.decode()
    assert by_name.index("Alpha Clinic") < by_name.index("Bravo Hospital")
    by_open = client.get(reverse("home"), {"sort": "open"}).content.decode()
    assert by_open.index("Bravo Hospital") < by_open.index("Alpha Clinic")


def test_work_queue_lists_tickets_waiting_for_us_only_on_my_accounts(client, world):
    waiting = open_ticket(world, world.org_a, world.member_a, "Customer spoke last")
    answered = open_ticket(world, world.org_a, world.member_a, "We answered")
    services.ticket_reply(ticket=answered, author=world.am_a, body="Done?")
    open_ticket(world, world.org_b, world.member_b, "Not my account")
    client.force_login(world.am_a)
    page = client.get(reverse("portal:work_queue")).content.decode()
    waiting_section = page.split('id="at-risk"')[0]
    assert waiting.subject in waiting_section
    assert answered.subject not in waiting_section
    assert "Not my account" not in page
