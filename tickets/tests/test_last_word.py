"""Who spoke last in public is kept on the ticket by the database (tickets/last_word.py):
it agrees with the thread after every kind of write (the services, inbound mail's reply,
merges, bulk and raw SQL, deletes, a stale instance saved, an author's kind changed or
their account deleted), and a write that skipped the triggers is caught."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.choices import UserKind
from accounts.tests.factories import StaffFactory
from tickets import last_word, services
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _open(world, subject="Where is my order?", at=T0) -> Ticket:
    return services.ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject=subject,
        category="delivery",
        priority="normal",
        body="?",
        now=at,
    )


def _by_customer(ticket: Ticket) -> bool:
    assert last_word.drift(connection) == []
    return Ticket.objects.values_list("last_public_by_customer", flat=True).get(pk=ticket.pk)


def test_the_services_keep_who_spoke_last(world):
    ticket = _open(world)
    assert _by_customer(ticket)  # the customer's first message
    services.ticket_reply(ticket=ticket, author=world.am_a, body="On it", now=T0 + timedelta(1))
    assert not _by_customer(ticket)
    note = T0 + timedelta(2)
    services.ticket_reply(ticket=ticket, author=world.am_a, body="n", internal=True, now=note)
    assert not _by_customer(ticket)  # a note is not a public word
    services.ticket_reply(ticket=ticket, author=world.member_a, body="And?", now=T0 + timedelta(3))
    assert _by_customer(ticket)
    duplicate = _open(world, "Same order", at=T0 + timedelta(4))
    services.ticket_merge(duplicate=duplicate, into=ticket, by=world.am_a, now=T0 + timedelta(5))
    assert not _by_customer(duplicate)  # told where it goes on, by staff
    assert _by_customer(ticket)  # only an internal note was added there


def test_a_stale_instance_saved_does_not_bring_back_the_old_answer(world):
    ticket = _open(world)
    stale = Ticket.objects.get(pk=ticket.pk)
    services.ticket_reply(ticket=ticket, author=world.am_a, body="On it", now=T0 + timedelta(1))
    stale.subject = "Renamed"
    stale.save()  # writes every field, last_public_by_customer=True included
    assert not _by_customer(ticket)
    Ticket.objects.filter(pk=ticket.pk).update(last_public_by_customer=True)
    assert not _by_customer(ticket)  # the thread decides, whatever a statement sets


def test_bulk_raw_and_deleting_writes_keep_who_spoke_last(world):
    first, second = _open(world), _open(world, "Invoice", at=T0 + timedelta(hours=1))
    Message.objects.bulk_create(
        Message(ticket=ticket, author=world.agent, body="Answer", created_at=T0 + timedelta(1))
        for ticket in (first, second)
    )
    assert not _by_customer(first)
    assert not _by_customer(second)
    answers = Message.objects.filter(author=world.agent)
    answers.filter(ticket=first).update(is_internal=True)
    assert _by_customer(first)  # the answer became a note
    answers.filter(ticket=second).update(ticket=first, is_internal=False)  # moved
    assert not _by_customer(first)
    assert _by_customer(second)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM tickets_message WHERE author_id = %s", [world.agent.pk])
    assert _by_customer(first)
    Message.objects.create(ticket=second, author=None, body="?", created_at=T0 + timedelta(2))
    assert _by_customer(second)  # an author gone counts as the customer, as before


def test_an_authors_kind_changed_or_account_deleted_is_followed(world):
    ticket = _open(world)
    helper = StaffFactory(email="helper@portal.test")
    services.ticket_reply(ticket=ticket, author=world.admin, body="Hi", now=T0 + timedelta(1))
    Message.objects.filter(ticket=ticket, author=world.admin).update(author=helper)
    assert not _by_customer(ticket)
    helper.kind = UserKind.CUSTOMER
    helper.save()
    assert _by_customer(ticket)
    helper.kind = UserKind.ACCOUNT_MANAGER
    helper.save(update_fields=["kind"])
    assert not _by_customer(ticket)
    helper.delete()  # the messages keep no author
    assert _by_customer(ticket)


def test_without_the_triggers_a_skipped_write_is_caught(world):
    ticket = _open(world)
    last_word.uninstall(connection)
    try:
        Message.objects.create(ticket=ticket, author=world.am_a, body="x", created_at=T0)
        Message.objects.create(ticket=ticket, author=world.am_a, body="y", created_at=T0)
        assert last_word.drift(connection) == [ticket.pk]
    finally:
        last_word.install(connection)  # installing fills the column from the threads again
    assert last_word.drift(connection) == []


# One step on a ticket's thread: (what, which ticket, who, hours after T0, internal).
_STEP = st.tuples(
    st.sampled_from(["add", "add", "add", "delete", "toggle", "move"]),
    st.integers(0, 2),
    st.sampled_from(["customer", "staff", "gone"]),
    st.integers(0, 5),  # equal times happen: the id decides
    st.booleans(),
)


def _expected(ticket_pk: int) -> bool:
    """The rule in Python: the newest public message by time then id is the customer's, or
    has no author; no public message counts as the customer's."""
    public = Message.objects.filter(ticket_id=ticket_pk, is_internal=False)
    last = public.select_related("author").order_by("-created_at", "-pk").first()
    return last is None or last.author is None or last.author.kind == UserKind.CUSTOMER


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(_STEP, max_size=12))
def test_any_sequence_of_message_writes_keeps_the_rule(world, steps):
    tickets = [_open(world, f"T{n}") for n in range(3)]
    authors = {"customer": world.member_a, "staff": world.am_a, "gone": None}
    for what, n, who, hours, internal in steps:
        ticket, mine = tickets[n], Message.objects.filter(ticket=tickets[n]).order_by("pk")
        at = T0 + timedelta(hours=hours)
        if what == "add":
            Message.objects.create(
                ticket=ticket, author=authors[who], body=".", created_at=at, is_internal=internal
            )
        elif what == "delete":
            mine.filter(pk__in=mine.values("pk")[:1]).delete()
        elif what == "toggle":
            Message.objects.filter(pk__in=mine.values("pk")[:1]).update(is_internal=internal)
        else:
            Message.objects.filter(pk__in=mine.values("pk")[:1]).update(ticket=tickets[n - 1])
    assert last_word.drift(connection) == []
    for ticket in tickets:
        stored = Ticket.objects.values_list("last_public_by_customer", flat=True).get(pk=ticket.pk)
        assert stored == _expected(ticket.pk)
