"""The account managers' task list's Celery tasks, under their first registered names
(portal.tasks.*) so beat's entries and messages already queued find them."""

from celery import shared_task

from accounts.platform.mail import MAIL_RETRY


@shared_task(name="portal.tasks.am_task_rules")
def am_task_rules(organisation_ids: list[int] | None = None) -> dict:
    """Beat runs the task rules hourly for every account; a team change runs them for its
    accounts (portal/am_tasks/rules.py). Safe to repeat."""
    from portal.am_tasks.rules import am_task_rules_run

    return am_task_rules_run(organisation_ids=organisation_ids)


@shared_task(name="portal.tasks.am_tasks_morning", **MAIL_RETRY)
def am_tasks_morning() -> dict[str, int]:
    """Beat sends this each morning: each AM's tasks overdue, today and this week."""
    from portal.am_tasks.notifications import am_tasks_morning_notify
    from portal.am_tasks.rules import am_task_rules_run

    am_task_rules_run()  # the list reflects this morning's conditions
    return am_tasks_morning_notify()
