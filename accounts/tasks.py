"""Celery entry points for accounts: thin, they load rows and call services."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail, send_mass_mail
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import Invitation


@shared_task(
    autoretry_for=(ConnectionError, TimeoutError, OSError),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def invitation_send(invitation_id: int, token: str) -> str:
    invitation = (
        Invitation.objects.select_related("organisation", "invited_by")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None or not invitation.is_usable:
        return "skipped"
    link = settings.PORTAL_BASE_URL.rstrip("/") + reverse(
        "accounts:invitation_accept", args=[token]
    )
    context = {"invitation": invitation, "link": link}
    send_mail(
        subject=f"You are invited to {invitation.organisation.name} on the Customer Portal",
        message=render_to_string("accounts/email/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )
    return "sent"


@shared_task
def outbox_relay() -> dict:
    """Beat sends this every OUTBOX_RELAY_SECONDS: work kept while Redis was down goes out."""
    from accounts import outbox

    return outbox.relay()


@shared_task(
    autoretry_for=(ConnectionError, TimeoutError, OSError),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def team_handoff_notify(assignment_ids: list[int]) -> str:
    """After a handoff: the new holders get their accounts with the notes; the customers'
    people hear who looks after them now (never the internal notes)."""
    from accounts.selectors import handoff_news

    news = handoff_news(assignment_ids=assignment_ids)
    if not news.started:
        return "skipped"
    base_url = settings.PORTAL_BASE_URL.rstrip("/")
    mails = [
        (
            f"{len(items)} account{'s' if len(items) != 1 else ''} handed over to you",
            render_to_string(
                "accounts/email/handoff_staff.txt",
                {"holder": holder, "items": items, "base_url": base_url},
            ),
            None,
            [holder.email],
        )
        for holder, items in news.by_new_holder().items()
    ]
    mails += [
        (
            f"Your account team at {organisation.name} has changed",
            render_to_string(
                "accounts/email/handoff_customer.txt",
                {
                    "person": person,
                    "organisation": organisation,
                    "terms": terms,
                    "base_url": base_url,
                },
            ),
            None,
            [person.email],
        )
        for person, organisation, terms in news.customer_letters()
    ]
    send_mass_mail(mails, fail_silently=False)
    return f"sent {len(mails)}"
