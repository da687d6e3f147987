"""Handoff: a leaving account manager's accounts go to colleagues, one note per account."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts.choices import AuditAction, TeamRole
from accounts.models import AccountAssignment, AuditEvent
from accounts.services import HandoffMove, team_handoff
from accounts.tests.factories import AssignmentFactory, OrganisationFactory, StaffFactory


@pytest.fixture
def team(world):
    """Anna (am_a) looks after A and Delta; Bert (am_b) is Delta's backup; Cara is new."""
    world.delta = OrganisationFactory(name="Delta Dental", customer_number="C-D001")
    world.anna_delta = AssignmentFactory(
        organisation=world.delta, user=world.am_a, role=TeamRole.PRIMARY_AM
    )
    world.bert_backup = AssignmentFactory(
        organisation=world.delta, user=world.am_b, role=TeamRole.BACKUP_AM
    )
    world.anna_a = AccountAssignment.objects.get(organisation=world.org_a, user=world.am_a)
    world.cara = StaffFactory(email="cara@portal.test", full_name="Cara Newman")
    return world


def current_holder(organisation, role=TeamRole.PRIMARY_AM):
    return AccountAssignment.objects.get(
        organisation=organisation, role=role, ended_at__isnull=True
    ).user


def handoff_form(team, **fields):
    return {"from": team.am_a.pk, **fields}


def test_handoff_keeps_history_stores_notes_and_audits(
    team, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        started = team_handoff(
            from_user=team.am_a,
            moves=[
                HandoffMove(team.anna_a.pk, team.cara, "Renewal in May; CFO prefers calls."),
                HandoffMove(team.anna_delta.pk, team.am_b, "Open dispute on invoice 42."),
            ],
            by=team.admin,
        )
    assert len(started) == 2
    assert current_holder(team.org_a) == team.cara
    assert current_holder(team.delta) == team.am_b
    history = AccountAssignment.objects.filter(organisation=team.org_a).order_by("started_at")
    assert [(t.user, t.ended_at is None) for t in history] == [
        (team.am_a, False),
        (team.cara, True),
    ]
    old = history[0]
    assert old.handoff_note == "Renewal in May; CFO prefers calls."
    assert old.ended_at == history[1].started_at
    assert history[1].assigned_by == team.admin
    events = AuditEvent.objects.filter(action=AuditAction.TEAM_HANDOFF, organisation=team.org_a)
    assert [e.detail for e in events] == [
        {
            "from": "am.a@portal.test",
            "to": "cara@portal.test",
            "note": "Renewal in May; CFO prefers calls.",
        }
    ]
    assert events[0].actor == team.admin


def test_the_backup_who_takes_over_stops_being_the_backup(team):
    team_handoff(
        from_user=team.am_a,
        moves=[HandoffMove(team.anna_delta.pk, team.am_b, "Knows them well already.")],
        by=team.admin,
    )
    team.bert_backup.refresh_from_db()
    assert team.bert_backup.ended_at is not None
    assert team.bert_backup.handoff_note == "Became the account manager in a handoff."
    assert not AccountAssignment.objects.filter(
        organisation=team.delta, role=TeamRole.BACKUP_AM, ended_at__isnull=True
    ).exists()


def test_new_holder_gets_the_notes_and_customers_hear_without_them(
    team, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        team_handoff(
            from_user=team.am_a,
            moves=[HandoffMove(team.anna_a.pk, team.cara, "CFO prefers calls.")],
            by=team.admin,
        )
    to_cara = [m for m in mailoutbox if m.to == ["cara@portal.test"]]
    assert len(to_cara) == 1
    assert "Alpha Clinic" in to_cara[0].body
    assert "from Anna Manager" in to_cara[0].body
    assert "CFO prefers calls." in to_cara[0].body
    customers = sorted(m.to[0] for m in mailoutbox if m.to != ["cara@portal.test"])
    assert customers == ["admin.a@alpha.test", "member.a@alpha.test"]
    letter = next(m for m in mailoutbox if m.to == ["member.a@alpha.test"])
    assert "Cara Newman is now your account manager" in letter.body
    assert "CFO" not in letter.body  # internal notes stay internal


def test_customer_sees_the_new_account_manager(team, client):
    team_handoff(
        from_user=team.am_a,
        moves=[HandoffMove(team.anna_a.pk, team.cara, "Welcome them warmly.")],
        by=team.admin,
    )
    client.force_login(team.member_a)
    body = client.get(reverse("home")).content.decode()
    assert "Cara Newman" in body
    assert "Anna Manager" not in body


def test_a_missing_note_or_a_bad_holder_writes_nothing(team):
    agent_move = HandoffMove(team.anna_delta.pk, team.agent, "Please take it.")
    with pytest.raises(ValidationError) as caught:
        team_handoff(
            from_user=team.am_a,
            moves=[HandoffMove(team.anna_a.pk, team.cara, "  "), agent_move],
            by=team.admin,
        )
    assert set(caught.value.message_dict) == {
        f"note_{team.anna_a.pk}",
        f"to_{team.anna_delta.pk}",
    }
    assert current_holder(team.org_a) == team.am_a
    assert current_holder(team.delta) == team.am_a
    assert not AuditEvent.objects.filter(action=AuditAction.TEAM_HANDOFF).exists()


def test_only_admins_hand_over(team):
    with pytest.raises(PermissionDenied):
        team_handoff(
            from_user=team.am_a,
            moves=[HandoffMove(team.anna_a.pk, team.cara, "Note.")],
            by=team.am_b,
        )


def test_the_account_manager_cannot_also_become_the_backup(team):
    AssignmentFactory(organisation=team.org_a, user=team.cara, role=TeamRole.BACKUP_AM)
    cara_backup = AccountAssignment.objects.get(user=team.cara, role=TeamRole.BACKUP_AM)
    with pytest.raises(ValidationError) as caught:
        team_handoff(
            from_user=team.cara,
            moves=[HandoffMove(cara_backup.pk, team.am_a, "Note.")],
            by=team.admin,
        )
    assert caught.value.message_dict == {
        f"to_{cara_backup.pk}": ["Anna Manager is already the account manager of Alpha Clinic."]
    }


# --- The page ------------------------------------------------------------------------------


def test_admin_hands_everything_to_one_person_but_keeps_one(team, client):
    client.force_login(team.admin)
    url = reverse("accounts:team_handoff")
    page = client.get(url, {"from": team.am_a.pk})
    assert page.status_code == 200
    assert "Delta Dental" in page.content.decode()
    response = client.post(
        url,
        handoff_form(
            team,
            to_all=team.cara.pk,
            **{
                f"note_{team.anna_a.pk}": "Renewal in May.",
                f"to_{team.anna_delta.pk}": "keep",
            },
        ),
    )
    assert response.status_code == 302
    assert current_holder(team.org_a) == team.cara
    assert current_holder(team.delta) == team.am_a


def test_page_shows_per_field_errors_and_writes_nothing(team, client):
    client.force_login(team.admin)
    response = client.post(
        reverse("accounts:team_handoff"),
        handoff_form(team, **{f"to_{team.anna_a.pk}": team.cara.pk}),
    )
    assert response.status_code == 400
    assert response.context["form"].errors == {
        f"note_{team.anna_a.pk}": ["Write what Cara needs to know about Alpha Clinic."]
    }
    assert current_holder(team.org_a) == team.am_a


def test_choosing_nobody_is_an_error(team, client):
    client.force_login(team.admin)
    response = client.post(reverse("accounts:team_handoff"), handoff_form(team))
    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        "Choose who takes over at least one account."
    ]


@pytest.mark.parametrize(
    ("role", "status"),
    [("member_a", 404), ("am_a", 403), ("agent", 403), ("admin", 200)],
)
def test_the_handoff_page_is_for_admins(team, client, role, status):
    client.force_login(getattr(team, role))
    assert client.get(reverse("accounts:team_handoff")).status_code == status


def test_handoff_page_queries_do_not_grow_with_accounts(
    team, client, django_assert_max_num_queries
):
    client.force_login(team.admin)
    url = reverse("accounts:team_handoff")
    with django_assert_max_num_queries(12):
        client.get(url, {"from": team.am_a.pk})
    for _ in range(30):
        AssignmentFactory(organisation=OrganisationFactory(), user=team.am_a)
    with django_assert_max_num_queries(12):
        client.get(url, {"from": team.am_a.pk})
    with django_assert_max_num_queries(25):
        response = client.post(
            url,
            handoff_form(
                team,
                to_all=team.cara.pk,
                **{
                    f"note_{t.pk}": "Fine."
                    for t in AccountAssignment.objects.filter(user=team.am_a, ended_at=None)
                },
            ),
        )
    assert response.status_code == 302
    assert AccountAssignment.objects.filter(user=team.cara, ended_at=None).count() == 32


def test_django_admin_action_opens_the_handoff_page(team, client):
    client.force_login(team.admin)
    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "hand_over_accounts", "_selected_action": [team.am_a.pk]},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:team_handoff')}?from={team.am_a.pk}"
