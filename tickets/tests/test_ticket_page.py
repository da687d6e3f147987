"""A ticket's page reads what it shows of its related rows from queries built once per
process (tickets.selectors.ticket_page and friends): the same facts as the ORM's objects,
internal notes' files still hidden from customers, and a fixed number of queries."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tickets import followers, selectors, services


@pytest.fixture
def busy_ticket(world):
    """A ticket with every relation its page shows: tier, assignee, rating, improvement,
    a follower copied by a colleague, a file on a reply and on an internal note, a
    duplicate merged into it."""
    ticket = services.ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject="Pallet arrived crushed",
        category="delivery",
        priority="normal",
        body="Photos attached.",
        attachments=[SimpleUploadedFile("crushed.txt", b"photo")],
    )
    duplicate = services.ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject="Crushed pallet again",
        category="delivery",
        priority="normal",
        body="Same pallet.",
    )
    services.ticket_merge(duplicate=duplicate, into=ticket, by=world.am_a)
    services.ticket_reply(
        ticket=ticket,
        author=world.am_a,
        body="Carrier claim notes",
        internal=True,
        attachments=[SimpleUploadedFile("claim-internal.txt", b"secret")],
    )
    services.ticket_reply(
        ticket=ticket,
        author=world.am_a,
        body="We sent a new pallet.",
        attachments=[SimpleUploadedFile("new-pallet.txt", b"tracking")],
    )
    followers.ticket_cc(ticket=ticket, by=world.member_a, user=world.customer_admin_a)
    services.ticket_set_status(ticket=ticket, by=world.member_a, status="resolved")
    services.ticket_rate(ticket=ticket, by=world.member_a, csat=2, effort=5, comment="Slow")
    services.ticket_triage(
        ticket=ticket,
        by=world.admin,
        assignee=world.agent,
        department="logistics",
        priority="normal",
        feedback_department="logistics",
        feedback_note="Packaging",
    )
    services.improvement_create(
        by=world.admin, department="logistics", title="Corner guards", ticket_ids=[ticket.pk]
    )
    return ticket


RELATED = {
    "organisation": ["name"],
    "tier": ["name"],
    "requester": ["full_name"],
    "assignee": ["full_name"],
    "rating": ["csat", "effort", "comment"],
    "improvement": ["pk", "title"],
}


@pytest.mark.parametrize("who", ["member_a", "am_a", "admin"])
def test_the_page_ticket_holds_what_the_orm_ticket_holds(world, busy_ticket, who):
    user = getattr(world, who)
    shown = selectors.ticket_page(user=user, pk=busy_ticket.pk)
    whole = selectors.ticket_get(user=user, pk=busy_ticket.pk)
    assert shown.sla_state == whole.sla_state
    assert shown.merged_into_id == whole.merged_into_id
    for relation, fields in RELATED.items():
        for field in fields:
            value = getattr(getattr(whole, relation), field)
            assert getattr(getattr(shown, relation), field) == value, (relation, field)


def test_the_page_ticket_has_none_where_the_ticket_has_no_related_row(world):
    ticket = services.ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject="Nothing yet",
        category="delivery",
        priority="normal",
        body="x",
    )
    shown = selectors.ticket_page(user=world.member_a, pk=ticket.pk)
    assert shown.assignee is None
    assert shown.improvement is None
    assert getattr(shown, "rating", None) is None


def test_the_page_ticket_is_404_for_who_may_not_see_it(world, busy_ticket):
    from django.http import Http404

    with pytest.raises(Http404):
        selectors.ticket_page(user=world.member_b, pk=busy_ticket.pk)


def test_the_customer_page_shows_the_ticket_and_never_an_internal_notes_file(
    client, world, busy_ticket
):
    client.force_login(world.member_a)
    page = client.get(reverse("tickets:detail", args=[busy_ticket.pk])).content.decode()
    for shown in ("Alpha Clinic", world.agent.full_name, "new-pallet.txt", "crushed.txt"):
        assert shown in page
    assert "Crushed pallet again" in page  # the duplicate merged into it
    assert f"copied by {world.member_a.full_name}" in page
    assert 'value="2"' in page  # the rating form holds the rating given
    assert "claim-internal.txt" not in page
    assert "Carrier claim notes" not in page


def test_the_staff_page_shows_the_notes_file_the_rating_and_the_improvement(
    client, world, busy_ticket
):
    client.force_login(world.admin)
    page = client.get(reverse("tickets:detail", args=[busy_ticket.pk])).content.decode()
    for shown in ("claim-internal.txt", "new-pallet.txt", "Corner guards", "Satisfaction 2/5"):
        assert shown in page


def test_the_ticket_page_reads_the_ticket_once(
    client, world, busy_ticket, django_assert_max_num_queries
):
    """Nine with the frame and the kept content's data versions: the ticket once (it was
    read twice, ten in all), its thread, its messages' files, the tickets merged into it,
    its followers."""
    client.force_login(world.member_a)
    url = reverse("tickets:detail", args=[busy_ticket.pk])
    client.get(url)
    with django_assert_max_num_queries(9):
        assert client.get(url).status_code == 200
