"""Account emails (invitations, handoffs) and the one query for who manages an account."""

import smtplib
from collections import Counter
from datetime import timedelta

from django.utils import timezone

from accounts.choices import TeamRole
from accounts.selectors import account_manager_emails
from accounts.services import HandoffMove, invitation_create, team_handoff
from accounts.tasks import invitation_send, team_handoff_notify
from accounts.tests.factories import AssignmentFactory, StaffFactory
from tests.smtp import TEMPORARY_FAILURE


def test_account_managers_are_the_current_primary_and_backup_who_are_active(world):
    backup = StaffFactory(email="backup.a@portal.test")
    AssignmentFactory(organisation=world.org_a, user=backup, role=TeamRole.BACKUP_AM)
    AssignmentFactory(
        organisation=world.org_a, role=TeamRole.EXECUTIVE_SPONSOR, user=StaffFactory()
    )
    gone = StaffFactory(email="gone@portal.test", is_active=False)
    AssignmentFactory(organisation=world.org_b, user=gone, role=TeamRole.BACKUP_AM)
    AssignmentFactory(
        organisation=world.org_b,
        user=StaffFactory(email="before@portal.test"),
        role=TeamRole.BACKUP_AM,
        started_at=timezone.now() - timedelta(days=9),
        ended_at=timezone.now() - timedelta(days=2),
    )
    ids = [world.org_a.pk, world.org_b.pk]
    found = account_manager_emails(organisation_ids=ids)
    assert {org: sorted(emails) for org, emails in found.items()} == {
        world.org_a.pk: sorted([world.am_a.email, backup.email]),
        world.org_b.pk: [world.am_b.email],
    }
    primary_only = account_manager_emails(organisation_ids=ids, roles=[TeamRole.PRIMARY_AM])
    assert primary_only == {world.org_a.pk: [world.am_a.email], world.org_b.pk: [world.am_b.email]}


def test_an_invitation_task_run_twice_sends_the_link_once(world, mailoutbox):
    invitation = invitation_create(
        organisation=world.org_a, email="new@alpha.test", role="member", invited_by=world.admin
    )
    assert invitation_send(invitation.pk, "token")["sent"] == 1
    assert invitation_send(invitation.pk, "token")["already_sent"] == 1
    assert [m.to for m in mailoutbox] == [["new@alpha.test"]]


def test_a_handoff_mail_retried_after_a_half_way_failure_reaches_each_person_once(
    world, smtp_server, celery_retries_inline
):
    cara = StaffFactory(email="cara@portal.test", full_name="Cara Newman")
    anna_a = world.am_a.assignments.get(organisation=world.org_a)
    started = team_handoff(
        from_user=world.am_a,
        moves=[HandoffMove(anna_a.pk, cara, "CFO prefers calls.")],
        by=world.admin,
    )
    smtp_server.accept_only(1)
    attempt = team_handoff_notify.apply(([t.pk for t in started],))
    assert attempt.failed()
    assert isinstance(attempt.result, smtplib.SMTPDataError)
    assert attempt.result.smtp_code == int(TEMPORARY_FAILURE[:3])

    smtp_server.accept_all()
    assert team_handoff_notify.apply(([t.pk for t in started],)).result["sent"] == 2
    # Cara hears of her new account, the two people at Alpha of their new manager: once each.
    assert smtp_server.received == Counter(
        {cara.email: 1, world.member_a.email: 1, world.customer_admin_a.email: 1}
    )
