"""The emails of accounts: who is told what about invitations and handoffs.

Each function renders one `Mail` per person and sends them with `accounts.mail.mail_send`
(each person once per notification key); the Celery tasks in accounts/tasks.py call them.
"""

from __future__ import annotations

from django.template.loader import render_to_string

from accounts.mail import Mail, absolute_url, mail_send
from accounts.models import Invitation
from accounts.selectors import HandoffNews


def invitation_notify(*, invitation: Invitation, token: str) -> dict[str, int]:
    """Send the invitation link, unless the invitation was accepted or expired meanwhile."""
    if not invitation.is_usable:
        return mail_send([])
    context = {"invitation": invitation, "link": absolute_url("accounts:invitation_accept", token)}
    return mail_send(
        [
            Mail(
                # Each link its own mail: a resent invitation has a new token.
                key=f"accounts.invitation:{invitation.pk}:{invitation.token_hash[:16]}",
                to=invitation.email,
                subject=(
                    f"You are invited to {invitation.organisation.name} on the Customer Portal"
                ),
                body=render_to_string("accounts/email/invitation.txt", context),
            )
        ]
    )


def team_handoff_notify(*, news: HandoffNews) -> dict[str, int]:
    """After a handoff: the new holders get their accounts with the notes; the customers'
    people hear who looks after them now (never the internal notes)."""
    key = f"accounts.team_handoff:{news.handoff_id}"
    link = absolute_url("home")
    mails = [
        Mail(
            key=f"{key}:holder",
            to=holder.email,
            subject=f"{len(items)} account{'s' if len(items) != 1 else ''} handed over to you",
            body=render_to_string(
                "accounts/email/handoff_staff.txt",
                {"holder": holder, "items": items, "link": link},
            ),
        )
        for holder, items in news.by_new_holder().items()
    ]
    mails += [
        Mail(
            # A person in two of the organisations gets both letters.
            key=f"{key}:organisation:{organisation.pk}",
            to=person.email,
            subject=f"Your account team at {organisation.name} has changed",
            body=render_to_string(
                "accounts/email/handoff_customer.txt",
                {"person": person, "organisation": organisation, "terms": terms, "link": link},
            ),
        )
        for person, organisation, terms in news.customer_letters()
    ]
    return mail_send(mails)


def webhook_disabled_notify(*, subscription_id: int) -> dict[str, int]:
    """Tell a subscription's owner it was turned off after failing, and where to turn it on."""
    from accounts.models import WebhookSubscription

    subscription = (
        WebhookSubscription.objects.select_related("owner", "organisation")
        .filter(pk=subscription_id, is_active=False)
        .first()
    )
    if subscription is None:  # turned on again meanwhile
        return mail_send([])
    context = {"subscription": subscription, "link": absolute_url("accounts:webhooks")}
    return mail_send(
        [
            Mail(
                key=f"accounts.webhook_disabled:{subscription.pk}:"
                f"{subscription.consecutive_failures}",
                to=subscription.owner.email,
                subject="Your webhook was turned off after repeated failures",
                body=render_to_string("accounts/email/webhook_disabled.txt", context),
            )
        ]
    )


def domain_claim_notify(*, claim, token: str) -> dict[str, int]:
    """The proof of a claimed domain: a link to the address at it (accounts/sso.py)."""
    if claim.verified_at is not None:
        return mail_send([])
    context = {"claim": claim, "link": absolute_url("accounts:sso_domain_verify", token)}
    return mail_send(
        [
            Mail(
                key=f"accounts.domain_claim:{claim.pk}:{claim.token_hash[:16]}",
                to=claim.proof_email,
                subject=f"Confirm that {claim.domain} belongs to {claim.organisation.name}",
                body=render_to_string("accounts/email/domain_claim.txt", context),
            )
        ]
    )
