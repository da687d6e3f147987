"""Celery entry points for accounts: thin, they load rows and call services."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
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
