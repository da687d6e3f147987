"""Ticket notifications: who is told what, and nobody twice when a send is retried."""

import smtplib
from collections import Counter

import pytest
from django.utils import timezone

from accounts.choices import TeamRole
from accounts.models import SentNotification
from accounts.tests.factories import AssignmentFactory, StaffFactory
from tests.smtp import DROP_CONNECTION, TEMPORARY_FAILURE
from tickets import services, tasks
from tickets.choices import Status
from tickets.models import Improvement, Ticket


def done_improvement(world):
    """An improvement just done, linked to tickets of three customers in two organisations."""
    customers = [world.member_a, world.customer_admin_a, world.member_b]
    tickets = [
        services.ticket_create(
            organisation=customer.memberships.get().organisation,
            requester=customer,
            subject=f"Late delivery for {customer.full_name}",
            category="delivery",
            priority="normal",
            body="Late again.",
        )
        for customer in customers
    ]
    improvement = Improvement.objects.create(
        department="logistics",
        title="New carrier for Tuesday rounds",
        status="done",
        what_changed="Tuesday rounds moved.",
        done_at=timezone.now(),
    )
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(improvement=improvement)
    return improvement, customers


@pytest.mark.parametrize("failure", [TEMPORARY_FAILURE, DROP_CONNECTION], ids=["4xx", "dropped"])
def test_a_retry_after_a_send_that_failed_half_way_mails_each_customer_once(
    world, smtp_server, celery_retries_inline, failure
):
    improvement, customers = done_improvement(world)
    smtp_server.accept_only(1, then=failure)
    # Celery's own retries (run inline by apply) meet the same failing server, then give up.
    attempt = tasks.notify_improvement_done.apply((improvement.pk,))
    assert attempt.failed()
    assert isinstance(attempt.result, smtplib.SMTPException)
    assert sum(smtp_server.received.values()) == 1

    smtp_server.accept_all()
    # A later retry, or the same task delivered once more by the outbox.
    assert tasks.notify_improvement_done.apply((improvement.pk,)).successful()
    assert smtp_server.received == Counter({c.email: 1 for c in customers})


def staff_reply(world, ticket, body, internal=False):
    return services.ticket_reply(ticket=ticket, author=world.am_a, body=body, internal=internal)


def test_internal_notes_never_send_mail(world, mailoutbox):
    ticket = open_ticket(world)
    note = staff_reply(world, ticket, "Customer is on the churn watch list", internal=True)
    assert tasks.notify_staff_reply(note.pk)["sent"] == 0
    assert mailoutbox == []
    assert not SentNotification.objects.exists()


def test_a_second_reply_to_the_same_person_is_still_sent_and_a_rerun_sends_neither(
    world, mailoutbox
):
    ticket = open_ticket(world)
    first = staff_reply(world, ticket, "It left the depot this morning.")
    second = staff_reply(world, ticket, "It arrives tomorrow.")
    assert tasks.notify_staff_reply(first.pk)["sent"] == 1
    assert tasks.notify_staff_reply(second.pk)["sent"] == 1
    assert tasks.notify_staff_reply(first.pk) == {"sent": 0, "already_sent": 1, "refused": 0}
    assert [m.to for m in mailoutbox] == [[world.member_a.email]] * 2
    assert "It arrives tomorrow." in mailoutbox[1].body


def test_new_ticket_goes_to_the_account_manager_and_following_backup_once(world, mailoutbox):
    # Issue 28: the backup hears of new tickets by following the account, not by default.
    from accounts.preferences import account_follow

    backup = StaffFactory(email="backup.a@portal.test")
    AssignmentFactory(organisation=world.org_a, user=backup, role=TeamRole.BACKUP_AM)
    account_follow(user=backup, organisation_id=world.org_a.pk)
    ticket = open_ticket(world)
    tasks.notify_new_ticket(ticket.pk)
    tasks.notify_new_ticket(ticket.pk)  # delivered twice by the outbox
    assert sorted(m.to[0] for m in mailoutbox) == [world.am_a.email, backup.email]


def test_a_ticket_resolved_again_after_a_reopen_is_news_again(world, mailoutbox):
    ticket = open_ticket(world)
    resolve = {"ticket": ticket, "by": world.am_a, "status": Status.RESOLVED}
    services.ticket_set_status(**resolve)
    tasks.notify_resolved(ticket.pk)
    tasks.notify_resolved(ticket.pk)
    assert len(mailoutbox) == 1
    services.ticket_set_status(ticket=ticket, by=world.member_a, status=Status.OPEN)
    services.ticket_set_status(**resolve)
    tasks.notify_resolved(ticket.pk)
    assert len(mailoutbox) == 2


def test_sla_warnings_reach_the_managers_and_the_assignee_once_per_ticket(world, mailoutbox):
    tickets = [open_ticket(world), open_ticket(world)]
    Ticket.objects.filter(pk=tickets[0].pk).update(assignee=world.agent)
    ids = [t.pk for t in tickets]
    assert tasks.notify_sla_warnings(ids)["sent"] == 3
    assert tasks.notify_sla_warnings(ids) == {"sent": 0, "already_sent": 3, "refused": 0}
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        [world.am_a.email, world.agent.email, world.am_a.email]
    )


def open_ticket(world):
    return services.ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject="Parcel missing",
        category="delivery",
        priority="normal",
        body="Where is it?",
    )
