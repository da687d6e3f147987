"""Task rules re-run for the accounts whose team changed (see accounts/signals.py)."""

from accounts.platform import outbox
from accounts.signals import team_changed


def on_team_changed(*, organisation_ids, **kwargs) -> None:
    from portal.am_tasks.tasks import am_task_rules

    outbox.enqueue_on_commit(am_task_rules, list(organisation_ids))


def connect() -> None:
    team_changed.connect(on_team_changed, dispatch_uid="portal.am_tasks.team_changed")
