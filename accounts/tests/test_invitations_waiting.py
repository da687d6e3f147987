"""Invitations nobody accepted yet: listed for the customer admin, sent again, withdrawn."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from accounts.choices import AuditAction
from accounts.models import AuditEvent, Invitation
from accounts.services import invitation_create
from tests.helpers import invitation_token_from


def invite(world, capture, mailoutbox, email="new.colleague@alpha.test") -> tuple:
    with capture(execute=True):
        invitation = invitation_create(
            organisation=world.org_a, email=email, role="member", invited_by=world.customer_admin_a
        )
    return invitation, invitation_token_from(mailoutbox[-1])


def test_a_waiting_invitation_is_listed_and_sent_again_with_a_new_link(
    client, world, mailoutbox, django_capture_on_commit_callbacks
):
    invitation, first_token = invite(world, django_capture_on_commit_callbacks, mailoutbox)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(1))
    client.force_login(world.customer_admin_a)
    page = client.get(reverse("accounts:members")).content.decode()
    assert "new.colleague@alpha.test" in page
    assert "Expired" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:member_invitation_resend", args=[invitation.pk]))
    assert response.status_code == 302
    assert len(mailoutbox) == 2  # a second mail: each link is its own notification
    second_token = invitation_token_from(mailoutbox[-1])
    assert second_token != first_token
    assert client.get(reverse("accounts:invitation_accept", args=[first_token])).status_code != 200
    client.logout()
    assert client.get(reverse("accounts:invitation_accept", args=[second_token])).status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.INVITATION_RESENT).exists()


def test_a_withdrawn_invitation_link_stops_working(
    client, world, mailoutbox, django_capture_on_commit_callbacks
):
    invitation, token = invite(world, django_capture_on_commit_callbacks, mailoutbox)
    client.force_login(world.customer_admin_a)
    client.post(reverse("accounts:member_invitation_revoke", args=[invitation.pk]))
    assert not Invitation.objects.exists()
    page = client.get(reverse("accounts:members"))
    assert list(page.context["invitations"]) == []
    assert "is withdrawn" in page.content.decode()  # the message says so, once
    client.logout()
    assert client.get(reverse("accounts:invitation_accept", args=[token])).status_code != 200
    event = AuditEvent.objects.get(action=AuditAction.INVITATION_REVOKED)
    assert (event.actor, event.target) == (world.customer_admin_a, "new.colleague@alpha.test")


def test_another_organisations_admin_cannot_touch_the_invitation(
    client, world, mailoutbox, django_capture_on_commit_callbacks
):
    invitation, _ = invite(world, django_capture_on_commit_callbacks, mailoutbox)
    client.force_login(world.customer_admin_b)
    for name in ("accounts:member_invitation_resend", "accounts:member_invitation_revoke"):
        assert client.post(reverse(name, args=[invitation.pk])).status_code == 404
    assert Invitation.objects.filter(pk=invitation.pk, token_hash=invitation.token_hash).exists()
