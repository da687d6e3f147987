"""Account team history, invitations and colleagues."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import AccountAssignment, Invitation, Membership, User
from accounts.tests.factories import StaffFactory
from tests.helpers import invitation_token_from


class TestAccountTeam:
    def test_reassignment_keeps_history_and_handoff_note(self, world):
        newcomer = StaffFactory(full_name="Nora New")
        services.account_team_assign(
            organisation=world.org_a,
            role="primary_am",
            user=newcomer,
            by=world.admin,
            handoff_note="Prefers calls on Tuesdays.",
        )
        terms = AccountAssignment.objects.filter(organisation=world.org_a, role="primary_am")
        old, new = terms.get(user=world.am_a), terms.get(user=newcomer)
        assert old.ended_at is not None
        assert old.handoff_note == "Prefers calls on Tuesdays."
        assert new.ended_at is None
        assert new.assigned_by == world.admin

    def test_assigning_the_current_holder_again_changes_nothing(self, world):
        services.account_team_assign(
            organisation=world.org_a, role="primary_am", user=world.am_a, by=world.admin
        )
        assert AccountAssignment.objects.filter(organisation=world.org_a).count() == 1

    def test_customers_cannot_join_an_account_team(self, world):
        with pytest.raises(ValidationError):
            services.account_team_assign(
                organisation=world.org_a, role="backup_am", user=world.member_a, by=world.admin
            )
        assert not AccountAssignment.objects.filter(user=world.member_a).exists()

    def test_the_database_refuses_two_current_holders_of_one_role(self, world):
        with pytest.raises(IntegrityError):
            AccountAssignment.objects.create(
                organisation=world.org_a, role="primary_am", user=world.am_b
            )


class TestInvitations:
    def invite(self, world, email="new@alpha.test", role="member"):
        return services.invitation_create(
            organisation=world.org_a, email=email, role=role, invited_by=world.customer_admin_a
        )

    def test_invitation_email_carries_a_working_single_use_link(
        self, client, world, mailoutbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            self.invite(world)
        assert mailoutbox[0].to == ["new@alpha.test"]
        url = reverse("accounts:invitation_accept", args=[invitation_token_from(mailoutbox[0])])
        form = {
            "full_name": "Nia New",
            "password1": "a long unusual passphrase",
            "password2": "a long unusual passphrase",
        }
        response = client.post(url, form)
        assert response.status_code == 302
        user = User.objects.get(email="new@alpha.test")
        assert user.memberships.get().organisation == world.org_a
        assert client.get(reverse("home")).content.decode().count("Alpha Clinic") >= 1

        client.logout()
        assert client.get(url).status_code == 404  # used once, never again

    def test_only_a_hash_of_the_token_is_stored(
        self, world, mailoutbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            invitation = self.invite(world)
        token = invitation_token_from(mailoutbox[0])
        invitation.refresh_from_db()
        assert token not in invitation.token_hash
        assert len(invitation.token_hash) == 64

    def test_expired_invitation_is_refused(
        self, world, mailoutbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            invitation = self.invite(world)
        Invitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        with pytest.raises(ValidationError):
            services.invitation_accept(
                token=invitation_token_from(mailoutbox[0]), full_name="X", password="y" * 12
            )
        assert not User.objects.filter(email="new@alpha.test").exists()

    def test_existing_account_must_be_logged_in_as_the_invited_address(
        self, world, mailoutbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            self.invite(world, email=world.member_b.email)
        token = invitation_token_from(mailoutbox[0])
        with pytest.raises(PermissionDenied):
            services.invitation_accept(token=token)
        with pytest.raises(PermissionDenied):
            services.invitation_accept(token=token, user=world.customer_admin_b)
        membership = services.invitation_accept(token=token, user=world.member_b)
        assert membership.organisation == world.org_a
        assert set(world.member_b.memberships.values_list("organisation", flat=True)) == {
            world.org_a.pk,
            world.org_b.pk,
        }

    def test_inviting_a_current_member_says_so(self, world):
        with pytest.raises(ValidationError) as error:
            self.invite(world, email=world.member_a.email.upper())
        assert "already a member" in str(error.value)

    def test_bad_email_in_the_form_names_the_field(self, client, world):
        client.force_login(world.customer_admin_a)
        response = client.post(
            reverse("accounts:member_invite"), {"email": "not-an-email", "role": "member"}
        )
        assert response.status_code == 400
        assert "Enter a valid email address." in response.content.decode()
        assert not Invitation.objects.exists()


class TestDeactivation:
    def test_customer_admin_deactivates_a_colleague(self, client, world):
        client.force_login(world.customer_admin_a)
        membership = world.member_a.memberships.get()
        client.post(reverse("accounts:member_deactivate", args=[membership.pk]))
        membership.refresh_from_db()
        assert membership.is_active is False
        assert membership.deactivated_by == world.customer_admin_a

    def test_nobody_deactivates_themselves(self, world):
        membership = world.customer_admin_a.memberships.get()
        with pytest.raises(ValidationError):
            services.membership_deactivate(membership=membership, by=world.customer_admin_a)
        membership.refresh_from_db()
        assert membership.is_active

    def test_deactivation_leaves_other_organisations_alone(self, world):
        services.membership_add(organisation=world.org_b, user=world.member_a)
        services.membership_deactivate(
            membership=Membership.objects.get(user=world.member_a, organisation=world.org_a),
            by=world.customer_admin_a,
        )
        assert list(
            Membership.objects.filter(user=world.member_a, is_active=True).values_list(
                "organisation", flat=True
            )
        ) == [world.org_b.pk]


def test_email_is_unique_whatever_its_case(world):
    with pytest.raises(ValidationError):
        services.user_create(email="MEMBER.A@alpha.test", full_name="Copy", password="x" * 12)
    user = services.user_create(email="  New.Person@Example.ORG ", full_name="P", password="x" * 12)
    assert user.email == "new.person@example.org"


def test_the_account_team_comes_with_whole_users_in_one_query(world, django_assert_num_queries):
    """account_team reads its SQL built once per process (config/prepared.py): each current
    holder with every field of their user, ended terms left out."""
    from accounts.selectors import account_team

    newcomer = StaffFactory(full_name="Nora New", phone="+44 20 7946 0000")
    services.account_team_assign(
        organisation=world.org_a, role="primary_am", user=newcomer, by=world.admin
    )
    with django_assert_num_queries(1):
        team = account_team(organisation=world.org_a)
        users = {role: term.user for role, term in team.items()}
    assert users["primary_am"] == newcomer
    current = AccountAssignment.objects.filter(organisation=world.org_a, ended_at__isnull=True)
    assert set(team) == set(current.values_list("role", flat=True))
    for role, user in users.items():
        assert user.get_deferred_fields() == set()
        assert user.phone == current.get(role=role).user.phone
