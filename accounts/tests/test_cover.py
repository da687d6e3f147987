"""An account manager hands over or names cover for their own accounts, without an admin:
audited, the customer told, and never silently leaving an account without a backup."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts import cover, policy
from accounts.choices import AuditAction, TeamRole
from accounts.models import AccountAssignment, AuditEvent
from accounts.notifications import cover_notify, team_handoff_notify
from accounts.selectors import handoff_news, new_ticket_watchers
from accounts.tests.factories import AssignmentFactory, StaffFactory
from portal.am_tasks.models import AccountTask, TaskRule, TaskStatus
from portal.am_tasks.rules import am_task_rules_run


@pytest.fixture
def backup(world):
    """Northwind's case: A has a backup, who is about to take over."""
    person = StaffFactory(email="backup.a@portal.test", full_name="Bea Backup")
    AssignmentFactory(organisation=world.org_a, user=person, role=TeamRole.BACKUP_AM)
    return person


def current(organisation, role):
    return AccountAssignment.objects.filter(
        organisation=organisation, role=role, ended_at__isnull=True
    ).first()


def test_handing_over_to_the_backup_asks_for_a_new_backup(world, backup):
    with pytest.raises(ValidationError) as asked:
        cover.own_handover(
            by=world.am_a, organisation_id=world.org_a.pk, to_user=backup, note="All yours."
        )
    assert "no backup account manager" in asked.value.message_dict["new_backup"][0]
    # Nothing changed.
    assert current(world.org_a, TeamRole.PRIMARY_AM).user == world.am_a


def test_handing_over_with_a_new_backup_names_them_in_the_same_step(world, backup, mailoutbox):
    newcomer = StaffFactory(email="newcomer@portal.test")
    with_captured = cover.own_handover(
        by=world.am_a, organisation_id=world.org_a.pk, to_user=backup, note="All yours.",
        new_backup=newcomer,
    )  # fmt: skip
    assert current(world.org_a, TeamRole.PRIMARY_AM).user == backup
    assert current(world.org_a, TeamRole.BACKUP_AM).user == newcomer
    assert AuditEvent.objects.filter(
        action=AuditAction.TEAM_HANDOFF, organisation=world.org_a, actor=world.am_a
    ).exists()
    # The customer gets one letter naming both.
    team_handoff_notify(news=handoff_news(assignment_ids=[a.pk for a in with_captured]))
    letter = next(m for m in mailoutbox if m.to == [world.member_a.email])
    assert backup.full_name in letter.body
    assert newcomer.full_name in letter.body


def test_handing_over_knowingly_without_a_backup_gives_a_task_to_name_one(world, backup):
    cover.own_handover(
        by=world.am_a, organisation_id=world.org_a.pk, to_user=backup, note="All yours.",
        without_backup=True,
    )  # fmt: skip
    assert current(world.org_a, TeamRole.BACKUP_AM) is None
    am_task_rules_run(organisation_ids=[world.org_a.pk])
    task = AccountTask.objects.get(rule=TaskRule.NO_BACKUP, organisation=world.org_a)
    assert task.assignee == backup
    assert task.status == TaskStatus.OPEN


def test_the_team_change_reruns_the_rules_when_it_commits(
    world, backup, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        cover.own_handover(
            by=world.am_a, organisation_id=world.org_a.pk, to_user=backup, note="All yours.",
            without_backup=True,
        )  # fmt: skip
    assert AccountTask.objects.filter(rule=TaskRule.NO_BACKUP, organisation=world.org_a).exists()


def test_an_am_cannot_hand_over_or_cover_someone_elses_account(world):
    for call in (
        lambda: cover.own_handover(
            by=world.am_b, organisation_id=world.org_a.pk, to_user=world.am_b, note="Mine now"
        ),
        lambda: cover.cover_name(
            by=world.am_b,
            organisation_id=world.org_a.pk,
            cover=world.am_b,
            until=timezone.localdate(),
            note="x",
        ),
        lambda: cover.backup_name(by=world.am_b, organisation_id=world.org_a.pk, backup=world.am_b),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert current(world.org_a, TeamRole.PRIMARY_AM).user == world.am_a


def test_only_staff_who_look_after_accounts_can_take_over(world, backup):
    with pytest.raises(ValidationError):
        cover.own_handover(
            by=world.am_a, organisation_id=world.org_a.pk, to_user=world.member_a, note="x",
            new_backup=backup,
        )  # fmt: skip


def test_cover_sees_the_account_hears_its_tickets_and_ends_after_its_last_day(world, mailoutbox):
    stand_in = StaffFactory(email="stand.in@portal.test", full_name="Sam Standin")
    until = timezone.localdate() + timedelta(days=7)
    term = cover.cover_name(
        by=world.am_a, organisation_id=world.org_a.pk, cover=stand_in, until=until,
        note="Alpha's invoices are disputed; see ticket T-42.",
    )  # fmt: skip
    assert term.role == TeamRole.COVER_AM
    assert term.until == until
    assert policy.is_account_team(stand_in, world.org_a)
    assert stand_in.email in new_ticket_watchers(organisation_ids=[world.org_a.pk])[world.org_a.pk]
    assert AuditEvent.objects.filter(
        action=AuditAction.TEAM_ASSIGNED, organisation=world.org_a, actor=world.am_a
    ).exists()
    cover_notify(assignment_id=term.pk)
    to_cover = next(m for m in mailoutbox if m.to == [stand_in.email])
    assert "invoices are disputed" in to_cover.body
    to_customer = next(m for m in mailoutbox if m.to == [world.member_a.email])
    assert "Sam Standin" in to_customer.body
    assert "invoices are disputed" not in to_customer.body  # the note is internal
    # Its last day is still cover; the day after, it ends.
    assert cover.cover_expire(today=until)["ended"] == 0
    assert cover.cover_expire(today=until + timedelta(days=1))["ended"] == 1
    assert not policy.is_account_team(stand_in, world.org_a)


@pytest.mark.parametrize("days", [-1, cover.COVER_MAX_DAYS + 1])
def test_cover_is_time_bounded(world, days):
    with pytest.raises(ValidationError):
        cover.cover_name(
            by=world.am_a, organisation_id=world.org_a.pk, cover=world.am_b,
            until=timezone.localdate() + timedelta(days=days), note="x",
        )  # fmt: skip


def test_the_own_team_page_hands_over_and_says_when_a_backup_is_needed(client, world, backup):
    client.force_login(world.am_a)
    url = reverse("accounts:own_team", args=[world.org_a.pk])
    page = client.get(url)
    assert page.status_code == 200
    asked = client.post(
        url,
        {"action": "handover", "handover-to_user": backup.pk, "handover-note": "All yours."},
    )
    assert asked.status_code == 400
    assert "no backup account manager" in asked.content.decode()
    done = client.post(
        url,
        {
            "action": "handover",
            "handover-to_user": backup.pk,
            "handover-note": "All yours.",
            "handover-without_backup": "on",
        },
    )
    assert done.status_code == 302
    assert current(world.org_a, TeamRole.PRIMARY_AM).user == backup


def test_an_admin_handing_an_account_to_its_backup_is_told_and_the_am_gets_a_task(
    world, backup, client, django_capture_on_commit_callbacks
):
    """Issue 28: handing Northwind to its backup left it with no backup and asked nobody."""
    client.force_login(world.admin)
    term = current(world.org_a, TeamRole.PRIMARY_AM)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:team_handoff"),
            {"from": world.am_a.pk, f"to_{term.pk}": backup.pk, f"note_{term.pk}": "Yours."},
            follow=True,
        )
    assert "Now without a backup account manager: Alpha Clinic" in response.content.decode()
    task = AccountTask.objects.get(rule=TaskRule.NO_BACKUP, organisation=world.org_a)
    assert task.assignee == backup
