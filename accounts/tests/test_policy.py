"""The access policy, and that its changes take effect on the very next request."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import policy
from accounts.models import AccountAssignment, AuditEvent, Membership, Organisation
from accounts.services import account_team_assign


def visible(user):
    return set(Organisation.objects.visible_to(user).values_list("customer_number", flat=True))


def test_each_role_sees_exactly_its_organisations(world):
    assert visible(world.member_a) == {"C-A001"}
    assert visible(world.customer_admin_b) == {"C-B001"}
    assert visible(world.am_a) == {"C-A001"}
    assert visible(world.am_b) == {"C-B001"}
    assert visible(world.agent) == set()
    assert visible(world.admin) == {"C-A001", "C-B001"}


def test_the_id_list_and_the_subquery_give_the_same_organisations(world):
    # A customer in two organisations, one membership ended; an AM with an ended term.
    Membership.objects.create(user=world.member_a, organisation=world.org_b, is_active=False)
    started = timezone.now() - timedelta(days=30)
    AccountAssignment.objects.create(
        user=world.am_a,
        organisation=world.org_b,
        role="backup_am",
        started_at=started,
        ended_at=started + timedelta(days=1),
    )
    second = Membership.objects.create(user=world.member_b, organisation=world.org_a)
    users = [world.member_a, world.member_b, world.am_a, world.am_b, world.agent, world.admin]
    for user in users:
        as_list = policy.visible_organisation_id_list(user)
        as_subquery = Organisation.objects.visible_to(user).values_list("pk", flat=True)
        if user.is_portal_admin:
            assert as_list is None, user
        else:
            assert sorted(as_list) == sorted(as_subquery), user
    assert sorted(policy.visible_organisation_id_list(world.member_b)) == sorted(
        [world.org_a.pk, world.org_b.pk]
    )
    second.is_active = False
    second.save()
    assert policy.visible_organisation_id_list(world.member_b) == [world.org_b.pk]
    world.member_b.is_active = False
    assert policy.visible_organisation_id_list(world.member_b) == []


# Per organisation: (membership: None, active, or deactivated; team term: None, current,
# or ended); the policy's SQL must give what the querysets' own rules give.
TERMS = st.lists(
    st.tuples(st.sampled_from([None, True, False]), st.sampled_from([None, True, False])),
    min_size=1,
    max_size=4,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(terms=TERMS)
def test_the_policy_sees_what_active_memberships_and_current_terms_say(world, terms):
    with transaction.atomic():
        person = world.am_b  # staff may hold memberships too: both rules apply at once
        started = timezone.now() - timedelta(days=30)
        for i, (membership, term) in enumerate(terms):
            organisation = Organisation.objects.create(name=f"Org {i}", customer_number=f"T-{i}")
            if membership is not None:
                Membership.objects.create(
                    user=person, organisation=organisation, is_active=membership
                )
            if term is not None:
                AccountAssignment.objects.create(
                    user=person, organisation=organisation, role="backup_am", started_at=started,
                    ended_at=None if term else started + timedelta(days=1),
                )  # fmt: skip
        said = set(
            Membership.objects.active().filter(user=person).values_list("organisation", flat=True)
        )
        said |= set(
            AccountAssignment.objects.current()
            .filter(user=person)
            .values_list("organisation", flat=True)
        )
        assert set(policy.visible_organisation_id_list(person)) == said
        assert set(Organisation.objects.visible_to(person).values_list("pk", flat=True)) == said
        for organisation in Organisation.objects.all():
            on_team = organisation.assignments.current().filter(user=person).exists()
            assert policy.is_account_team(person, organisation) == on_team
        transaction.set_rollback(True)


def test_owned_rows_follow_the_policy(world):
    rows = Membership.objects.visible_to(world.member_b)
    assert {m.organisation_id for m in rows} == {world.org_b.pk}


def test_anonymous_and_inactive_users_see_nothing(world, django_user_model):
    from django.contrib.auth.models import AnonymousUser

    assert visible(AnonymousUser()) == set()
    world.member_a.is_active = False
    assert visible(world.member_a) == set()


def test_removed_am_loses_the_account_on_the_next_request(client, world):
    client.force_login(world.am_a)
    client.post(reverse("accounts:view_as_start", args=[world.org_a.pk]))
    assert world.org_a.name in client.get(reverse("home")).content.decode()

    account_team_assign(
        organisation=world.org_a, role="primary_am", user=world.am_b, by=world.admin
    )

    page = client.get(reverse("home")).content.decode()
    assert world.org_a.name not in page  # view-as ended, the workspace no longer lists A
    response = client.post(reverse("accounts:view_as_start", args=[world.org_a.pk]))
    assert response.status_code == 404


def test_deactivated_user_is_logged_out_on_the_next_request(client, world):
    client.force_login(world.member_a)
    assert client.get(reverse("home")).status_code == 200
    world.member_a.is_active = False
    world.member_a.save()
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_deactivated_membership_ends_access_on_the_next_request(client, world):
    client.force_login(world.member_a)
    assert world.org_a.name in client.get(reverse("home")).content.decode()
    Membership.objects.filter(user=world.member_a).update(
        is_active=False, deactivated_at=timezone.now()
    )
    response = client.get(reverse("home"))
    assert response.status_code == 403
    assert world.org_a.name not in response.content.decode()


def test_customer_in_two_organisations_switches_between_them(client, world):
    Membership.objects.create(user=world.member_a, organisation=world.org_b)
    client.force_login(world.member_a)
    switch = reverse("accounts:organisation_switch")
    assert client.post(switch, {"organisation": world.org_b.pk}).status_code == 302
    assert world.org_b.name in client.get(reverse("home")).content.decode()
    client.post(switch, {"organisation": world.org_a.pk})
    page = client.get(reverse("home")).content.decode()
    assert "<h1>Alpha Clinic</h1>" in page


def test_switching_to_an_organisation_one_does_not_belong_to_is_404(client, world):
    client.force_login(world.member_a)
    switch = reverse("accounts:organisation_switch")
    assert client.post(switch, {"organisation": world.org_b.pk}).status_code == 404
    assert client.post(switch, {"organisation": 999999}).status_code == 404
    assert client.post(switch, {"organisation": "x"}).status_code == 404


class TestViewAs:
    def test_banner_shows_and_screens_are_the_customers(self, client, world):
        client.force_login(world.am_a)
        response = client.post(reverse("accounts:view_as_start", args=[world.org_a.pk]))
        assert response["Location"] == reverse("home")
        page = client.get(reverse("home")).content.decode()
        assert 'data-testid="view-as-banner"' in page
        assert "<h1>Alpha Clinic</h1>" in page
        assert "Exit view as customer" in page

    def test_exit_returns_to_the_workspace_and_is_audited(self, client, world):
        client.force_login(world.am_a)
        client.post(reverse("accounts:view_as_start", args=[world.org_a.pk]))
        client.post(reverse("accounts:view_as_exit"))
        page = client.get(reverse("home")).content.decode()
        assert "view-as-banner" not in page
        assert "My accounts" in page
        actions = list(
            AuditEvent.objects.filter(actor=world.am_a)
            .order_by("at")
            .values_list("action", flat=True)
        )
        assert actions == ["view_as.start", "view_as.end"]

    def test_actions_while_viewing_as_are_attributed_to_the_am(self, client, world):
        client.force_login(world.am_a)
        client.post(reverse("accounts:view_as_start", args=[world.org_a.pk]))
        client.post(reverse("accounts:member_invite"), {"email": "x@alpha.test", "role": "member"})
        invited = AuditEvent.objects.get(action="member.invited")
        assert invited.actor == world.am_a
        assert invited.via_view_as is True
        recorded = AuditEvent.objects.get(action="view_as.action")
        assert recorded.actor == world.am_a
        assert recorded.organisation == world.org_a
        assert recorded.target == reverse("accounts:member_invite")

    def test_another_ams_account_cannot_be_viewed(self, client, world):
        client.force_login(world.am_b)
        response = client.post(reverse("accounts:view_as_start", args=[world.org_a.pk]))
        assert response.status_code == 404
        # The world's own records are in the trail; no view-as was.
        assert not AuditEvent.objects.filter(action__startswith="view_as").exists()

    def test_a_customer_cannot_view_as(self, client, world):
        client.force_login(world.customer_admin_a)
        response = client.post(reverse("accounts:view_as_start", args=[world.org_a.pk]))
        assert response.status_code == 404


@pytest.mark.parametrize("role", ["primary_am", "backup_am", "executive_sponsor"])
def test_every_account_team_role_grants_the_account(world, role):
    account_team_assign(organisation=world.org_b, role=role, user=world.am_a, by=world.admin)
    assert visible(world.am_a) == {"C-A001", "C-B001"}
    AccountAssignment.objects.filter(organisation=world.org_b, user=world.am_a).update(
        ended_at=timezone.now()
    )
    assert visible(world.am_a) == {"C-A001"}
