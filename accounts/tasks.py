"""Celery entry points for accounts: thin, they load rows and call services."""

from celery import shared_task

from accounts import notifications
from accounts.models import Invitation
from accounts.platform.mail import MAIL_RETRY, mail_send
from accounts.platform.tokens import token_hash
from accounts.selectors import handoff_news


@shared_task(**MAIL_RETRY)
def invitation_send(invitation_id: int, token: str) -> dict[str, int]:
    invitation = (
        Invitation.objects.select_related("organisation", "invited_by")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None:
        return mail_send([])
    return notifications.invitation_notify(invitation=invitation, token=token)


@shared_task
def outbox_relay() -> dict:
    """Beat sends this every OUTBOX_RELAY_SECONDS: work kept while Redis was down goes out."""
    from accounts.platform import outbox

    return outbox.relay()


@shared_task(**MAIL_RETRY)
def team_handoff_notify(assignment_ids: list[int]) -> dict[str, int]:
    """After a handoff: tell the new holders and the customers' people (accounts.notifications)."""
    return notifications.team_handoff_notify(news=handoff_news(assignment_ids=assignment_ids))


# Webhooks (accounts/platform/webhooks.py). Each attempt is one task: the service records it and
# schedules the next one with its back-off; the beat's sweep sends what is due if a task
# was lost. acks_late: a worker that dies mid-send leaves the message for another.
@shared_task(acks_late=True, ignore_result=True)
def webhook_deliver(message_id: str) -> str:
    from accounts.platform import webhooks

    return webhooks.delivery_attempt(message_id=message_id)


@shared_task(ignore_result=True)
def webhooks_due() -> dict:
    from accounts.platform import webhooks

    return webhooks.deliveries_due()


@shared_task(**MAIL_RETRY)
def webhook_disabled_notify(subscription_id: int) -> dict[str, int]:
    return notifications.webhook_disabled_notify(subscription_id=subscription_id)


@shared_task(**MAIL_RETRY)
def daily_digest() -> dict[str, int]:
    """Beat sends this each morning: one digest per person with something in it."""
    from accounts.digest import daily_digest_send

    return daily_digest_send()


@shared_task(**MAIL_RETRY)
def cover_notify(assignment_id: int) -> dict[str, int]:
    return notifications.cover_notify(assignment_id=assignment_id)


@shared_task
def cover_expire() -> dict[str, int]:
    """Beat sends this every few minutes: covers past their last day end."""
    from accounts.cover import cover_expire as expire

    return expire()


@shared_task(**MAIL_RETRY)
def domain_claim_send(claim_id: int, token: str) -> dict[str, int]:
    """The proof link of a claimed email domain (accounts/sso.py)."""
    from accounts.models import DomainClaim

    claim = DomainClaim.objects.select_related("organisation").filter(pk=claim_id).first()
    if claim is None or claim.token_hash != token_hash(token):
        return mail_send([])  # removed, or claimed again with a newer link
    return notifications.domain_claim_notify(claim=claim, token=token)
