"""Account managers' tasks: the rules make them once, close them when their reason is gone;
done and snooze; the lists of today, this week and overdue; the morning email."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.choices import TeamRole
from accounts.tests.factories import AssignmentFactory, StaffFactory
from portal.am_tasks import selectors, services
from portal.am_tasks.models import AccountTask, TaskRule, TaskStatus
from portal.am_tasks.notifications import am_tasks_morning_notify
from portal.am_tasks.rules import CLOSED_BY_RULE, am_task_rules_run
from portal.relationship.choices import CommitmentStatus
from portal.relationship.models import Commitment, HealthScore
from portal.tests.relationship import premium_tier, put_on_tier
from tickets import services as ticket_services
from tickets.models import Rating


def today():
    return timezone.localdate()


def tasks_of(rule, organisation=None):
    tasks = AccountTask.objects.filter(rule=rule)
    return tasks.filter(organisation=organisation) if organisation else tasks


def give_backups(world):
    for org in (world.org_a, world.org_b):
        AssignmentFactory(
            organisation=org, user=StaffFactory(email=f"backup{org.pk}@portal.test"),
            role=TeamRole.BACKUP_AM,
        )  # fmt: skip


def score(organisation, value: int):
    return HealthScore.objects.create(
        organisation=organisation, computed_on=today(), computed_at=timezone.now(),
        score=value, colour="red" if value < 40 else "amber", sla_breaches=0,
        orders_recent=0, orders_previous=0, overdue_invoices=0, overdue_commitments=0,
    )  # fmt: skip


# --- The rules --------------------------------------------------------------------------


def test_an_account_without_a_backup_gets_one_task_for_its_account_manager(world):
    am_task_rules_run()
    task = tasks_of(TaskRule.NO_BACKUP, world.org_a).get()
    assert task.assignee == world.am_a
    assert task.status == TaskStatus.OPEN
    assert "backup" in task.title
    assert world.org_a.name in task.title
    # A second run, and a third, add nothing.
    am_task_rules_run()
    am_task_rules_run(organisation_ids=[world.org_a.pk])
    assert tasks_of(TaskRule.NO_BACKUP, world.org_a).count() == 1


def test_a_task_closes_itself_once_a_backup_is_named(world):
    am_task_rules_run()
    AssignmentFactory(organisation=world.org_a, user=StaffFactory(), role=TeamRole.BACKUP_AM)
    result = am_task_rules_run()
    task = tasks_of(TaskRule.NO_BACKUP, world.org_a).get()
    assert task.status == TaskStatus.DONE
    assert task.close_note == CLOSED_BY_RULE
    assert task.closed_by is None
    assert result["closed"] == 1
    # B still has no backup: its task stays open.
    assert tasks_of(TaskRule.NO_BACKUP, world.org_b).get().status == TaskStatus.OPEN


def test_a_task_done_by_hand_is_not_made_again_while_its_condition_holds(world):
    am_task_rules_run()
    task = tasks_of(TaskRule.NO_BACKUP, world.org_a).get()
    services.am_task_done(by=world.am_a, pk=task.pk)
    am_task_rules_run()
    assert tasks_of(TaskRule.NO_BACKUP, world.org_a).count() == 1


def test_a_condition_that_comes_back_later_is_a_new_task(world):
    am_task_rules_run()
    backup = AssignmentFactory(
        organisation=world.org_a, user=StaffFactory(), role=TeamRole.BACKUP_AM
    )
    am_task_rules_run()
    backup.ended_at = timezone.now()
    backup.save()
    am_task_rules_run()
    tasks = tasks_of(TaskRule.NO_BACKUP, world.org_a).order_by("pk")
    assert [t.status for t in tasks] == [TaskStatus.DONE, TaskStatus.OPEN]


def test_a_business_review_due_within_14_days_is_a_task_until_one_is_booked(world):
    give_backups(world)
    tier = premium_tier(executive_sponsor_promised=False)
    put_on_tier(world.org_a, tier, since=timezone.now() - timedelta(days=90 - 10))
    put_on_tier(world.org_b, tier, since=timezone.now() - timedelta(days=90 - 20))
    am_task_rules_run()
    task = tasks_of(TaskRule.REVIEW_DUE).get()
    assert task.organisation == world.org_a
    assert task.due_on == today() + timedelta(days=10)
    from portal.relationship.models import Engagement

    Engagement.objects.create(
        organisation=world.org_a, kind="qbr", status="planned", on=today() + timedelta(days=8)
    )
    am_task_rules_run()
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert task.close_note == CLOSED_BY_RULE


def test_a_renewal_within_60_days_with_health_below_healthy_is_a_task(world):
    give_backups(world)
    world.org_a.renewal_date = today() + timedelta(days=45)
    world.org_a.save()
    world.org_b.renewal_date = today() + timedelta(days=45)
    world.org_b.save()
    score(world.org_a, 35)
    score(world.org_b, 85)  # healthy: no task
    am_task_rules_run()
    task = tasks_of(TaskRule.RENEWAL_RISK).get()
    assert task.organisation == world.org_a
    assert "35" in task.title
    # Health recovers: the task closes itself.
    HealthScore.objects.filter(organisation=world.org_a).update(score=80)
    am_task_rules_run()
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_a_commitment_due_this_week_is_a_task_for_its_owner(world):
    give_backups(world)
    owner = StaffFactory(email="owner@portal.test")
    AssignmentFactory(organisation=world.org_a, user=owner, role=TeamRole.EXECUTIVE_SPONSOR)
    week_end = today() + timedelta(days=6 - today().weekday())
    commitment = Commitment.objects.create(
        organisation=world.org_a, title="Send the stock report", due_on=week_end, owner=owner
    )
    Commitment.objects.create(
        organisation=world.org_a, title="Later", due_on=week_end + timedelta(days=1)
    )
    am_task_rules_run()
    task = tasks_of(TaskRule.COMMITMENT_DUE).get()
    assert task.assignee == owner
    assert "Send the stock report" in task.title
    commitment.status = CommitmentStatus.DONE
    commitment.save()
    am_task_rules_run()
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_a_detractors_rating_is_a_call_back_task(world):
    give_backups(world)
    ticket = ticket_services.ticket_create(
        organisation=world.org_a, requester=world.member_a, subject="Late", category="delivery",
        priority="normal", body="Late.",
    )  # fmt: skip
    rating = Rating.objects.create(ticket=ticket, csat=2, effort=2, rated_by=world.member_a)
    am_task_rules_run()
    task = tasks_of(TaskRule.DETRACTOR).get()
    assert task.assignee == world.am_a
    assert "2/5" in task.title
    # The customer changes their rating to a good one: the task closes itself.
    Rating.objects.filter(pk=rating.pk).update(csat=5)
    am_task_rules_run()
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_rule_made_tasks_follow_the_account_manager_of_the_day(world):
    am_task_rules_run()
    term = world.org_a.assignments.get(role=TeamRole.PRIMARY_AM)
    term.ended_at = timezone.now()
    term.save()
    newcomer = StaffFactory(email="new.am@portal.test")
    AssignmentFactory(organisation=world.org_a, user=newcomer, role=TeamRole.PRIMARY_AM)
    am_task_rules_run()
    assert tasks_of(TaskRule.NO_BACKUP, world.org_a).get().assignee == newcomer


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    runs=st.lists(
        st.sampled_from(["run", "backup_on", "backup_off", "done"]), min_size=1, max_size=12
    )
)
def test_whatever_happens_there_is_at_most_one_open_task_per_condition(world, runs):
    """Any sequence of rule runs, team changes and people marking tasks done: never two open
    tasks for one condition, and after a run an open task exactly when the condition holds."""
    AccountTask.objects.all().delete()
    world.org_a.assignments.filter(role=TeamRole.BACKUP_AM).delete()
    backup_user = StaffFactory()
    for step in runs:
        has_backup = world.org_a.assignments.filter(
            role=TeamRole.BACKUP_AM, ended_at__isnull=True
        ).exists()
        if step == "run":
            am_task_rules_run(organisation_ids=[world.org_a.pk])
            open_ = tasks_of(TaskRule.NO_BACKUP, world.org_a).filter(status=TaskStatus.OPEN)
            holding_done = tasks_of(TaskRule.NO_BACKUP, world.org_a).filter(
                status=TaskStatus.DONE, condition_holds=True
            )
            assert open_.count() == (0 if has_backup or holding_done.exists() else 1)
        elif step == "backup_on" and not has_backup:
            AssignmentFactory(organisation=world.org_a, user=backup_user, role=TeamRole.BACKUP_AM)
        elif step == "backup_off":
            world.org_a.assignments.filter(role=TeamRole.BACKUP_AM).update(ended_at=timezone.now())
        elif step == "done":
            for task in tasks_of(TaskRule.NO_BACKUP).filter(status=TaskStatus.OPEN):
                services.am_task_done(by=world.admin, pk=task.pk)
        assert tasks_of(TaskRule.NO_BACKUP, world.org_a).filter(status=TaskStatus.OPEN).count() <= 1


# --- By hand, done, snooze, the lists -------------------------------------------------------


def test_a_task_by_hand_only_on_an_account_one_looks_after(world):
    task = services.am_task_create(
        by=world.am_a, organisation_id=world.org_a.pk, title="Send samples", due_on=today()
    )
    assert task.assignee == world.am_a
    assert task.rule == ""
    with pytest.raises(ValidationError):
        services.am_task_create(
            by=world.am_a, organisation_id=world.org_b.pk, title="Snoop", due_on=today()
        )
    with pytest.raises(Http404):
        services.am_task_create(
            by=world.member_a, organisation_id=world.org_a.pk, title="x", due_on=today()
        )


def test_another_ams_task_answers_404(world):
    task = services.am_task_create(
        by=world.am_a, organisation_id=world.org_a.pk, title="Call", due_on=today()
    )
    with pytest.raises(Http404):
        services.am_task_done(by=world.am_b, pk=task.pk)
    with pytest.raises(Http404):
        services.am_task_snooze(by=world.am_b, pk=task.pk, until=today() + timedelta(days=1))


def test_tasks_are_listed_overdue_today_this_week_and_later_and_snooze_moves_them(world):
    def make(days, title):
        return services.am_task_create(
            by=world.am_a, organisation_id=world.org_a.pk, title=title,
            due_on=today() + timedelta(days=days),
        )  # fmt: skip

    late, now, soon, far = make(-2, "late"), make(0, "now"), make(3, "soon"), make(30, "far")
    buckets = selectors.my_task_buckets(user=world.am_a, today=today())
    assert [t.pk for t in buckets.overdue] == [late.pk]
    assert [t.pk for t in buckets.due_today] == [now.pk]
    assert [t.pk for t in buckets.this_week] == [soon.pk]
    assert [t.pk for t in buckets.later] == [far.pk]
    services.am_task_snooze(by=world.am_a, pk=now.pk, until=today() + timedelta(days=1))
    services.am_task_done(by=world.am_a, pk=late.pk)
    buckets = selectors.my_task_buckets(user=world.am_a, today=today())
    assert buckets.overdue == []
    assert buckets.due_today == []
    assert {t.pk for t in buckets.this_week} == {now.pk, soon.pk}
    # Nobody else's list shows them.
    assert selectors.my_task_buckets(user=world.am_b, today=today()).count == 0


def _card(buckets) -> list[list[tuple]]:
    return [
        [(t.pk, t.organisation_id, t.organisation.name, t.title, t.due_on, t.snoozed_until,
          t.get_rule_display(), t.shows_on) for t in tasks]
        for tasks in (buckets.overdue, buckets.due_today, buckets.this_week, buckets.later)
    ]  # fmt: skip


def test_the_tasks_card_lists_what_my_task_buckets_lists_on_any_day(world):
    """The card's prepared query (due_task_buckets) gives each person the tasks, days and
    organisations my_task_buckets gives, a snoozed task by its snooze day, the limit kept."""
    for days, title in ((-2, "late"), (0, "now"), (3, "soon"), (30, "far"), (-9, "old")):
        for by, org in ((world.am_a, world.org_a), (world.am_b, world.org_b)):
            services.am_task_create(
                by=by, organisation_id=org.pk, title=f"<i>{title}</i>",
                due_on=today() + timedelta(days=days),
            )  # fmt: skip
    snoozed = AccountTask.objects.filter(title="<i>now</i>").first()
    services.am_task_snooze(by=world.am_a, pk=snoozed.pk, until=today() + timedelta(days=2))
    people = [world.am_a, world.am_b, world.agent, world.admin]
    for day in (today(), today() + timedelta(days=5)):
        for user in people:
            for limit in (3, 30):
                found = selectors.due_task_buckets(user=user, today=day, limit=limit)
                expected = selectors.my_task_buckets(user=user, today=day, limit=limit)
                assert _card(found) == _card(expected), (user.email, day, limit)
    card = selectors.due_task_buckets(user=world.am_a, today=today(), limit=30)
    assert [t.title for t in card.overdue] == ["<i>old</i>", "<i>late</i>"]
    assert [t.title for t in card.this_week] == ["<i>now</i>", "<i>soon</i>"]  # now: snoozed


def test_snooze_only_to_a_later_day(world):
    task = services.am_task_create(
        by=world.am_a, organisation_id=world.org_a.pk, title="Call", due_on=today()
    )
    with pytest.raises(ValidationError):
        services.am_task_snooze(by=world.am_a, pk=task.pk, until=today())


def test_my_accounts_and_the_work_queue_show_the_days_tasks(client, world):
    services.am_task_create(
        by=world.am_a, organisation_id=world.org_a.pk, title="Call about the invoice",
        due_on=today(),
    )  # fmt: skip
    client.force_login(world.am_a)
    for name in ("home", "portal:work_queue", "portal:am_tasks"):
        page = client.get(reverse(name))
        assert page.status_code == 200
        assert "Call about the invoice" in page.content.decode(), name
    client.force_login(world.am_b)
    assert "Call about the invoice" not in client.get(reverse("home")).content.decode()


def test_the_task_buttons_mark_done_and_snooze(client, world):
    task = services.am_task_create(
        by=world.am_a, organisation_id=world.org_a.pk, title="Call", due_on=today()
    )
    client.force_login(world.am_a)
    snooze = client.post(reverse("portal:am_task_snooze", args=[task.pk]), {"days": "3"})
    assert snooze.status_code == 302
    task.refresh_from_db()
    assert task.snoozed_until == today() + timedelta(days=3)
    assert client.post(reverse("portal:am_task_done", args=[task.pk])).status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert task.closed_by == world.am_a


# --- The morning email ---------------------------------------------------------------------


def test_the_morning_email_lists_each_ams_tasks_once_a_day(world, mailoutbox):
    services.am_task_create(
        by=world.am_a, organisation_id=world.org_a.pk, title="Call Alpha", due_on=today()
    )
    services.am_task_create(
        by=world.am_a, organisation_id=world.org_a.pk, title="Overdue thing",
        due_on=today() - timedelta(days=1),
    )  # fmt: skip
    services.am_task_create(
        by=world.am_a, organisation_id=world.org_a.pk, title="Far away",
        due_on=today() + timedelta(days=40),
    )  # fmt: skip
    assert am_tasks_morning_notify()["sent"] == 1
    (mail,) = mailoutbox
    assert mail.to == [world.am_a.email]
    assert mail.subject == "Your tasks: 1 overdue, 1 today"
    assert "Call Alpha" in mail.body
    assert "Overdue thing" in mail.body
    assert "Far away" not in mail.body
    assert am_tasks_morning_notify()["sent"] == 0  # the same day again: nobody twice


def test_nobody_with_nothing_due_gets_a_morning_email(world, mailoutbox):
    services.am_task_create(
        by=world.am_a, organisation_id=world.org_a.pk, title="Far away",
        due_on=today() + timedelta(days=40),
    )  # fmt: skip
    assert am_tasks_morning_notify()["sent"] == 0
    assert mailoutbox == []


def test_a_task_of_an_account_one_left_is_not_mailed(world, mailoutbox):
    services.am_task_create(
        by=world.am_a, organisation_id=world.org_a.pk, title="Call Alpha", due_on=today()
    )
    world.org_a.assignments.filter(user=world.am_a).update(ended_at=timezone.now())
    assert am_tasks_morning_notify()["sent"] == 0
