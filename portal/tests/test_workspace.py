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


def test_my_accounts_search_and_filters_narrow_the_book(client, world):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import Organisation
    from portal.relationship.models import HealthScore
    from portal.tests.relationship import premium_tier, put_on_tier

    today = timezone.localdate()
    org_a, org_b = world.org_a, world.org_b
    Organisation.objects.filter(pk=org_a.pk).update(
        lifecycle_stage="renewal", renewal_date=today + timedelta(days=20)
    )
    Organisation.objects.filter(pk=org_b.pk).update(
        lifecycle_stage="active", renewal_date=today + timedelta(days=75)
    )
    put_on_tier(org_b, premium_tier(), timezone.now())
    for organisation, score in ((org_a, 82), (org_b, 35)):
        HealthScore.objects.create(
            organisation=organisation, computed_on=today, computed_at=timezone.now(),
            score=score, colour="green" if score >= 70 else "red", sla_breaches=0,
            orders_recent=0, orders_previous=0, overdue_invoices=0, overdue_commitments=0,
        )  # fmt: skip
    client.force_login(world.admin)

    def names(**query) -> set[str]:
        return {org.name for org in client.get(reverse("home"), query).context["page"]}

    assert names() == {org_a.name, org_b.name}
    assert names(q="bravo") == {org_b.name}
    assert names(q=org_a.customer_number) == {org_a.name}
    assert names(stage="renewal") == {org_a.name}
    assert names(tier="Premium") == {org_b.name}
    assert names(health="red") == {org_b.name}
    assert names(health="green") == {org_a.name}
    assert names(renewal="30") == {org_a.name}
    assert names(renewal="90") == {org_a.name, org_b.name}
    assert names(renewal="45") == {org_a.name, org_b.name}  # not a choice: ignored
    assert names(stage="renewal", tier="Premium") == set()
    page = client.get(reverse("home"), {"q": "bravo", "sort": "health"}).content.decode()
    assert "q=bravo&amp;sort=renewal" in page  # sorting keeps the filters
    assert "1 account match." in page
    client.force_login(world.am_a)
    assert names() == {org_a.name}  # filters never widen the policy
    assert names(q="bravo") == set()


def test_my_accounts_prepared_lists_what_the_orm_lists_for_every_sort_and_page(world):
    """The unfiltered list runs SQL built once per process (config/prepared.py): the same
    accounts, in the same order, with the same figures (dates as dates, on SQLite too) as
    workspace_accounts built afresh."""
    from datetime import timedelta

    from django.core.paginator import Paginator

    from accounts.tests.factories import (
        AssignmentFactory,
        MembershipFactory,
        OrganisationFactory,
    )
    from portal.relationship.services import last_contact_record
    from portal.workspace import selectors

    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    for n in range(7):
        organisation = OrganisationFactory(name=f"Clinic {n % 3}", renewal_date=None)
        AssignmentFactory(organisation=organisation, user=world.am_a, role="backup_am")
        requester = MembershipFactory(organisation=organisation).user
        for hours in range(n % 4):
            open_ticket(world, organisation, requester, f"T{n}", start + timedelta(hours=hours))
        if n % 2:
            last_contact_record(organisation=organisation, at=start + timedelta(days=n))
    fields = (
        "pk", "open_tickets", "tickets_at_risk", "last_contact", "tier_name", "health_score",
        "team_roles",
    )  # fmt: skip
    for user in (world.am_a, world.admin, world.am_b):
        count = selectors.workspace_counts(user=user)["accounts"]
        for sort in [*selectors.ACCOUNT_SORTS, "nonsense"]:
            pages = selectors.workspace_account_pages(user=user, sort=sort, count=count)
            expected = selectors.workspace_accounts(user=user, sort=sort)
            assert len(pages) == expected.count()
            for number in (1, 2):
                built = Paginator(pages, 3)
                afresh = Paginator(expected, 3).get_page(number).object_list
                got = built.get_page(number).object_list
                assert [[getattr(o, f) for f in fields] for o in got] == [
                    [getattr(o, f) for f in fields] for o in afresh
                ], (user.email, sort, number)


def _selected(page: str, name: str) -> str:
    select = re.search(rf'<select id="f-{name}".*?</select>', page, re.S).group(0)
    return re.search(r'<option value="([^"]*)" selected>', select).group(1)


def test_my_accounts_form_and_headings_follow_each_request(client, world):
    """The filters, column headings and intro are rendered once per set of values
    ({% memo %}): each request still shows its own choices and its own sort."""
    client.force_login(world.admin)
    for stage, health, renewal, sort in (
        ("renewal", "red", "30", "health"),
        ("active", "green", "90", "open"),
        ("renewal", "green", "60", "health"),
    ):
        query = {"stage": stage, "health": health, "renewal": renewal, "sort": sort}
        page = client.get(reverse("home"), query).content.decode()
        assert (_selected(page, "stage"), _selected(page, "health")) == (stage, health)
        assert _selected(page, "renewal") == renewal
        assert page.count('aria-sort="ascending"') == 1
        assert re.search(r'<th scope="col" aria-sort="ascending"><span>[^<]+ ▲</span>', page)
        assert f"stage={stage}&amp;health={health}&amp;renewal={renewal}&amp;sort=name" in page
    assert "Every customer organisation." in page
    client.force_login(world.am_a)
    assert "The organisations you look after." in client.get(reverse("home")).content.decode()
