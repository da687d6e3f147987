"""The staff queue: saved views (own, shared with a department, a default) and bulk actions
through the access policy, each change made by the single-ticket service."""

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.choices import AuditAction, Department, UserKind
from accounts.models import AuditEvent
from accounts.tests.factories import UserFactory
from tests.helpers import as_browser
from tickets import queue, services
from tickets.models import SavedView, Ticket


def open_ticket(organisation, requester, subject, category="billing"):
    return services.ticket_create(
        organisation=organisation,
        requester=requester,
        subject=subject,
        category=category,
        priority="normal",
        body="Details.",
    )


@pytest.fixture
def mixed(world):
    """Billing tickets of A and B (the billing agent's queue), a delivery ticket of A
    (logistics: not the agent's) and a resolved billing ticket of B."""
    resolved = open_ticket(world.org_b, world.member_b, "Paid twice")
    services.ticket_set_status(ticket=resolved, by=world.admin, status="resolved")
    return {
        "billing_a": open_ticket(world.org_a, world.member_a, "Invoice wrong"),
        "billing_b": open_ticket(world.org_b, world.member_b, "Credit note missing"),
        "logistics_a": open_ticket(world.org_a, world.member_a, "Parcel late", "delivery"),
        "resolved_b": resolved,
    }


def bulk(client, **data):
    response = client.post(reverse("tickets:bulk"), data)
    assert response.status_code == 302
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_an_agent_acts_on_the_allowed_tickets_and_is_told_which_were_refused(client, world, mixed):
    client.force_login(world.agent)
    chosen = [mixed["billing_a"], mixed["logistics_a"], mixed["billing_b"]]
    said = bulk(
        client,
        action="assign",
        assignee=world.agent.pk,
        ticket=[t.pk for t in chosen] + [999999],
    )
    assert Ticket.objects.get(pk=mixed["billing_a"].pk).assignee == world.agent
    assert Ticket.objects.get(pk=mixed["billing_b"].pk).assignee == world.agent
    assert Ticket.objects.get(pk=mixed["logistics_a"].pk).assignee is None
    done = f"Assigned 2 tickets: {mixed['billing_a'].reference}, {mixed['billing_b'].reference}."
    assert done in said
    refused = [m for m in said if m.startswith("Not changed (2)")]
    assert refused, said
    assert f"{mixed['logistics_a'].reference}: not among the tickets you may act on" in refused[0]
    assert "T-999999: not among the tickets you may act on" in refused[0]
    assert "Parcel late" not in " ".join(said)  # nothing of a ticket one may not see


def test_each_bulk_change_is_audited_to_the_person(client, world, mixed):
    client.force_login(world.agent)
    bulk(
        client,
        action="route",
        department=Department.PRODUCT,
        ticket=[mixed["billing_a"].pk, mixed["billing_b"].pk],
    )
    changes = AuditEvent.objects.filter(
        action=AuditAction.RECORD_CHANGED, detail__model="tickets.ticket", actor=world.agent
    )
    routed = {event.organisation_id: event.detail["changes"]["department"] for event in changes}
    assert routed == {
        world.org_a.pk: ["billing", "product"],
        world.org_b.pk: ["billing", "product"],
    }


def test_a_status_the_ticket_cannot_take_is_refused_with_the_reason(client, world, mixed):
    client.force_login(world.admin)
    said = bulk(
        client,
        action="status",
        status="waiting",
        ticket=[mixed["resolved_b"].pk, mixed["billing_a"].pk],
    )
    assert Ticket.objects.get(pk=mixed["billing_a"].pk).status == "waiting"
    assert Ticket.objects.get(pk=mixed["resolved_b"].pk).status == "resolved"
    assert (
        f"Not changed (1): {mixed['resolved_b'].reference}: A ticket that is resolved cannot "
        "be set to waiting on customer by you." in said
    )


def test_bulk_resolve_tells_each_requester_as_the_ticket_page_does(
    client, world, mixed, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(world.agent)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        bulk(
            client,
            action="status",
            status="resolved",
            ticket=[mixed["billing_a"].pk, mixed["billing_b"].pk],
        )
    told = sorted(address for message in mailoutbox for address in message.to)
    assert told == sorted([world.member_a.email, world.member_b.email])


def test_an_account_manager_cannot_reach_another_accounts_tickets(client, world, mixed):
    client.force_login(world.am_b)
    said = bulk(client, action="status", status="closed", ticket=[mixed["billing_a"].pk])
    assert Ticket.objects.get(pk=mixed["billing_a"].pk).status == "new"
    assert said == [
        f"Not changed (1): {mixed['billing_a'].reference}: not among the tickets you may act on."
    ]


def test_customers_have_no_bulk_actions(client, world, mixed):
    client.force_login(world.customer_admin_a)
    response = client.post(
        reverse("tickets:bulk"),
        {"action": "status", "status": "closed", "ticket": [mixed["billing_a"].pk]},
    )
    assert response.status_code == 404
    assert Ticket.objects.get(pk=mixed["billing_a"].pk).status == "new"


def test_a_bulk_action_without_its_value_or_tickets_changes_nothing(client, world, mixed):
    client.force_login(world.admin)
    said = bulk(client, action="route", ticket=[mixed["billing_a"].pk])
    assert said == ["Choose the department to route to."]
    said = bulk(client, action="status", status="closed")
    assert said[-1] == "Choose at least one ticket."
    assert Ticket.objects.get(pk=mixed["billing_a"].pk).status == "new"


def test_assigning_to_a_customer_is_refused(client, world, mixed):
    client.force_login(world.admin)
    said = bulk(client, action="assign", assignee=world.member_a.pk, ticket=[mixed["billing_a"].pk])
    assert said == ["Select a valid choice. That choice is not one of the available choices."]
    assert Ticket.objects.get(pk=mixed["billing_a"].pk).assignee is None


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_bulk_changes_exactly_the_visible_tickets_chosen(world, mixed, data):
    """For any person and any choice of ids, the tickets changed are the chosen ones that
    person may see, every other chosen id is refused, and nothing else moves."""
    people = [world.agent, world.am_a, world.am_b, world.admin]
    person = data.draw(st.sampled_from(people))
    pool = [t.pk for t in mixed.values() if t.status == "new"] + [999998]
    chosen = data.draw(st.lists(st.sampled_from(pool), max_size=6))
    with transaction.atomic():
        visible = set(Ticket.objects.visible_to(person).values_list("pk", flat=True))
        before = dict(Ticket.objects.values_list("pk", "department"))
        if not chosen:  # an empty choice is the one refused as a whole
            with pytest.raises(ValidationError):
                queue.tickets_bulk_act(by=person, ticket_ids=chosen, action="route", value="sales")
        else:
            outcome = queue.tickets_bulk_act(
                by=person, ticket_ids=chosen, action="route", value=Department.SALES
            )
            changed = {
                pk
                for pk, department in Ticket.objects.values_list("pk", "department")
                if department != before[pk]
            }
            wanted = set(chosen) & visible
            assert changed == wanted
            assert {Ticket(pk=pk).reference for pk in wanted} == set(outcome.done)
            refused = {reference for reference, _ in outcome.refused}
            assert refused == {Ticket(pk=pk).reference for pk in set(chosen) - visible}
        transaction.set_rollback(True)


# --- Saved views -------------------------------------------------------------------------------


def save_view(client, name, **filters):
    return client.post(reverse("tickets:view_save"), {"name": name, **filters})


def test_a_saved_view_keeps_the_filters_and_opens_them(client, world, mixed):
    client.force_login(world.agent)
    response = save_view(client, "Unassigned billing", assigned="unassigned", department="billing")
    assert response.status_code == 302
    view = SavedView.objects.get(owner=world.agent)
    assert view.query == "assigned=unassigned&department=billing&status=open"
    page = client.get(reverse("tickets:queue") + "?" + view.query).content.decode()
    assert 'aria-current="true">Unassigned billing</a>' in page


def test_the_default_view_opens_when_the_queue_has_no_filters(client, world, mixed):
    client.force_login(world.agent)
    save_view(client, "Mine", assigned="mine", default="on")
    save_view(client, "Everything", status="all", default="on")  # replaces the default
    assert list(SavedView.objects.filter(is_default=True).values_list("name", flat=True)) == [
        "Everything"
    ]
    response = client.get(reverse("tickets:queue"))
    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:queue") + "?status=all"
    assert client.get(reverse("tickets:queue") + "?status=open").status_code == 200


def test_a_shared_view_reaches_the_department_and_no_one_else(client, world, mixed):
    colleague = UserFactory(
        email="agent2@portal.test", kind=UserKind.SUPPORT_AGENT, department=Department.BILLING
    )
    elsewhere = UserFactory(
        email="agent3@portal.test", kind=UserKind.SUPPORT_AGENT, department=Department.LOGISTICS
    )
    client.force_login(world.agent)
    save_view(client, "Team breaches", sla="breached", shared="on")
    save_view(client, "My own", assigned="mine")
    names = lambda who: {v.name for v in queue.saved_views(user=who)}  # noqa: E731
    assert names(world.agent) == {"Team breaches", "My own"}
    assert names(colleague) == {"Team breaches"}
    assert names(elsewhere) == set()
    assert names(world.am_a) == set()
    # Only the owner deletes it: to the colleague it is the 404 of a missing view.
    shared = SavedView.objects.get(name="Team breaches")
    client.force_login(colleague)
    assert client.post(reverse("tickets:view_delete", args=[shared.pk])).status_code == 404
    client.force_login(world.agent)
    assert client.post(reverse("tickets:view_delete", args=[shared.pk])).status_code == 302
    assert not SavedView.objects.filter(pk=shared.pk).exists()


def test_an_account_manager_has_no_department_to_share_with(client, world):
    client.force_login(world.am_a)
    response = save_view(client, "Shared?", shared="on")
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said == ["Only a department's agents share views with it."]
    assert not SavedView.objects.exists()


def test_unknown_filter_values_are_not_kept(world):
    view = queue.saved_view_save(
        owner=world.admin,
        name="  Odd   one ",
        filters={"status": "bogus", "sla": "<script>", "q": " parcel ", "page": "3"},
    )
    assert view.name == "Odd one"
    assert view.query == "q=parcel&status=open"


def test_the_queue_costs_the_same_queries_with_many_saved_views(client, world, mixed):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    colleague = UserFactory(
        email="agent2@portal.test", kind=UserKind.SUPPORT_AGENT, department=Department.BILLING
    )
    queue.saved_view_save(owner=world.agent, name="Mine", filters={"assigned": "mine"})
    url = reverse("tickets:queue") + "?status=open"
    client.force_login(world.agent)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert as_browser(client).get(url).status_code == 200
        return len(captured)

    few = queries()
    for n in range(12):
        queue.saved_view_save(
            owner=colleague if n % 2 else world.agent,
            name=f"View {n}",
            filters={"q": str(n)},
            shared=True,
        )
    assert queries() == few <= 10
