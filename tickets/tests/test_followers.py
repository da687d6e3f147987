"""Following a ticket and CC: colleagues hear its answers; nobody outside the organisation
can be copied; who hears about a new ticket."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts.choices import Delivery, NotificationKind, TeamRole
from accounts.models import SentNotification
from accounts.preferences import account_follow, preferences_set
from accounts.tests.factories import AssignmentFactory, StaffFactory
from tickets import followers, notifications, services
from tickets.models import TicketFollower

CC_REFUSED = "Enter the email address of a colleague in this organisation."


def staff_reply(ticket, author):
    return services.ticket_reply(ticket=ticket, author=author, body="Found it: on its way.")


def test_a_colleague_who_follows_a_ticket_hears_of_staff_answers(world, ticket, mailoutbox):
    followers.ticket_follow(ticket=ticket, user=world.customer_admin_a)
    mailoutbox.clear()
    notifications.staff_reply_notify(message=staff_reply(ticket, world.am_a))
    to = sorted(m.to[0] for m in mailoutbox)
    assert to == sorted([world.member_a.email, world.customer_admin_a.email])
    follower_mail = next(m for m in mailoutbox if m.to == [world.customer_admin_a.email])
    assert "which you follow or were copied on" in follower_mail.body
    assert "List-Unsubscribe" in follower_mail.extra_headers


def test_a_follower_hears_of_the_resolution_without_the_requesters_rating_links(
    world, ticket, mailoutbox
):
    followers.ticket_follow(ticket=ticket, user=world.customer_admin_a)
    services.ticket_set_status(ticket=ticket, by=world.am_a, status="resolved")
    ticket.refresh_from_db()
    mailoutbox.clear()
    notifications.ticket_resolved_notify(ticket=ticket)
    follower_mail = next(m for m in mailoutbox if m.to == [world.customer_admin_a.email])
    requester_mail = next(m for m in mailoutbox if m.to == [world.member_a.email])
    assert "/tickets/rate/" in requester_mail.body
    assert "/tickets/rate/" not in follower_mail.body


def test_a_colleague_copied_by_email_hears_and_is_shown_as_cc(world, ticket, mailoutbox):
    follower = followers.ticket_cc(ticket=ticket, by=world.member_a, email=" Admin.A@Alpha.test ")
    assert follower.user == world.customer_admin_a
    assert follower.is_cc
    mailoutbox.clear()
    notifications.staff_reply_notify(message=staff_reply(ticket, world.am_a))
    assert world.customer_admin_a.email in {m.to[0] for m in mailoutbox}


@pytest.mark.parametrize(
    "who",
    [
        lambda w: w.member_b.email,  # a customer of another organisation
        lambda w: w.am_a.email,  # staff: they follow accounts, not tickets
        lambda w: "stranger@alpha.test",  # nobody here
        lambda w: "",
    ],
    ids=["other-organisation", "staff", "unknown", "empty"],
)
def test_cc_reaches_only_members_of_the_tickets_organisation(world, ticket, who):
    with pytest.raises(ValidationError) as refused:
        followers.ticket_cc(ticket=ticket, by=world.member_a, email=who(world))
    # The same words whoever it was: the form reveals nobody's account.
    assert refused.value.message_dict["email"] == [CC_REFUSED]
    assert not TicketFollower.objects.exists()


def test_a_former_colleague_is_refused_and_no_longer_mailed(world, ticket, mailoutbox):
    followers.ticket_follow(ticket=ticket, user=world.customer_admin_a)
    world.customer_admin_a.memberships.update(is_active=False)
    with pytest.raises(ValidationError):
        followers.ticket_cc(ticket=ticket, by=world.member_a, email=world.customer_admin_a.email)
    mailoutbox.clear()
    notifications.staff_reply_notify(message=staff_reply(ticket, world.am_a))
    assert [m.to for m in mailoutbox] == [[world.member_a.email]]


def test_someone_who_cannot_see_the_ticket_cannot_follow_or_copy_on_it(world, ticket):
    with pytest.raises(PermissionDenied):
        followers.ticket_follow(ticket=ticket, user=world.member_b)
    with pytest.raises(PermissionDenied):
        followers.ticket_cc(ticket=ticket, by=world.member_b, email=world.member_b.email)
    assert not TicketFollower.objects.exists()


def test_the_ticket_page_follows_and_unfollows(client, world, ticket):
    client.force_login(world.customer_admin_a)
    url = reverse("tickets:follow", args=[ticket.pk])
    assert client.post(url).status_code == 302
    page = client.get(reverse("tickets:detail", args=[ticket.pk]))
    assert b"Stop following" in page.content
    assert client.post(url, {"stop": "1"}).status_code == 302
    assert not TicketFollower.objects.exists()


def test_the_ticket_page_says_why_a_cc_was_refused(client, world, ticket):
    client.force_login(world.member_a)
    response = client.post(reverse("tickets:cc", args=[ticket.pk]), {"email": world.member_b.email})
    assert response.status_code == 400
    assert CC_REFUSED in response.content.decode()


# --- Who hears about a new ticket --------------------------------------------------------


def new_ticket_recipients(ticket, mailoutbox):
    """Who the new-ticket mail reaches (as if sent for the first time)."""
    SentNotification.objects.all().delete()
    mailoutbox.clear()
    notifications.new_ticket_notify(ticket=ticket)
    return sorted(m.to[0] for m in mailoutbox)


def test_a_new_ticket_reaches_the_account_manager_not_the_backup_unless_they_follow(
    world, ticket, mailoutbox
):
    backup = StaffFactory(email="backup.a@portal.test")
    AssignmentFactory(organisation=world.org_a, user=backup, role=TeamRole.BACKUP_AM)
    assert new_ticket_recipients(ticket, mailoutbox) == [world.am_a.email]
    account_follow(user=backup, organisation_id=world.org_a.pk)
    assert new_ticket_recipients(ticket, mailoutbox) == sorted([world.am_a.email, backup.email])


def test_an_am_of_other_accounts_never_hears_of_this_ones_tickets(world, ticket, mailoutbox):
    # am_b cannot even follow A: it is not theirs.
    from django.http import Http404

    with pytest.raises(Http404):
        account_follow(user=world.am_b, organisation_id=world.org_a.pk)
    assert world.am_b.email not in new_ticket_recipients(ticket, mailoutbox)


def test_a_follower_who_left_the_account_team_is_no_longer_told(world, ticket, mailoutbox):
    backup = StaffFactory(email="backup.a@portal.test")
    term = AssignmentFactory(organisation=world.org_a, user=backup, role=TeamRole.BACKUP_AM)
    account_follow(user=backup, organisation_id=world.org_a.pk)
    term.ended_at = term.started_at
    term.save()
    assert new_ticket_recipients(ticket, mailoutbox) == [world.am_a.email]


def test_an_am_who_routes_new_tickets_to_the_digest_gets_no_mail_for_them(
    world, ticket, mailoutbox
):
    preferences_set(user=world.am_a, choices={NotificationKind.TICKET_NEW: Delivery.DIGEST})
    assert new_ticket_recipients(ticket, mailoutbox) == []
    assert world.am_a.digest_items.get().subject.startswith(f"[{ticket.reference}]")
