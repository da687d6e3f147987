"""Outbound webhooks: the portal's events, signed, POSTed to the URLs customers and admins name.

Why here, in the lowest app: every app above (tickets, portal's sync, identity matching)
reports its events by calling `event_emit` / `events_emit` at the point where its service
makes the change, the way they already call `accounts.platform.outbox`. The layers stay one-way
(nothing here imports an app above), and the sync reports the rows a batch wrote from its
own results (no model signals: it writes in bulk).

Each event becomes one `WebhookDelivery` row per subscription that may receive it (in the
transaction of the change, so a rolled-back change sends nothing), and a Celery task sends
it once the transaction commits. Deliveries are signed as Standard Webhooks says
(webhook-id, webhook-timestamp, webhook-signature "v1,<base64 HMAC-SHA256>", with the
`standardwebhooks` package), sent at least once: a failed attempt is tried again after
WEBHOOK_RETRY_BASE_SECONDS × 2^(attempt-1), up to WEBHOOK_MAX_ATTEMPTS, and the beat entry
`webhooks-due` sends whatever is due should a task have been lost. After
WEBHOOK_DISABLE_AFTER_FAILURES failed attempts in a row a subscription is turned off and
its owner is told by email.

Requests go only to public addresses: the host is resolved, every address it has must be
global unicast (not loopback, private, link-local, multicast, reserved, ...) unless it is
in WEBHOOK_ALLOWED_NETWORKS, and the request is sent to the address that was checked (no
second lookup for a rebinding DNS server to answer differently). Redirects are never
followed: a 3xx is a failed attempt.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import secrets
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from standardwebhooks import Webhook

from accounts import tasks
from accounts.models import Organisation, User, WebhookDelivery, WebhookSubscription
from accounts.platform import outbox

logger = logging.getLogger(__name__)


class WebhookEvent(models.TextChoices):
    TICKET_CREATED = "ticket.created", gettext_lazy("A ticket was opened")
    TICKET_REPLIED = "ticket.replied", gettext_lazy("A ticket got a reply")
    TICKET_STATUS_CHANGED = "ticket.status_changed", gettext_lazy("A ticket's status changed")
    TICKET_RESOLVED = "ticket.resolved", gettext_lazy("A ticket was resolved")
    ORDER_CREATED = "order.created", gettext_lazy("An order arrived from order entry")
    ORDER_CHANGED = "order.changed", gettext_lazy("An order changed")
    SHIPMENT_CREATED = "shipment.created", gettext_lazy("A shipment arrived from fulfilment")
    SHIPMENT_CHANGED = "shipment.changed", gettext_lazy("A shipment changed")
    INVOICE_CREATED = "invoice.created", gettext_lazy("An invoice arrived from billing")
    INVOICE_CHANGED = "invoice.changed", gettext_lazy("An invoice changed")
    IDENTITY_MATCHED = (
        "identity.matched",
        gettext_lazy("A legacy customer was matched to an organisation"),
    )


ROTATION_OVERLAP = timedelta(hours=24)
USER_AGENT = "CustomerPortal-Webhooks/1"


def secret_new() -> str:
    """A Standard Webhooks secret: whsec_ and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


# --- Addresses -----------------------------------------------------------------------------


class RefusedAddress(ValidationError):
    """The URL's host is, or resolves to, an address webhooks may not reach."""


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(net, strict=False) for net in settings.WEBHOOK_ALLOWED_NETWORKS]


def address_allowed(address: str) -> bool:
    """A global unicast address, or one in WEBHOOK_ALLOWED_NETWORKS (for tests, intranets)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback, whatever it looks like
    if any(ip in network for network in _allowed_networks()):
        return True
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


@dataclass(frozen=True)
class Target:
    """Where a delivery goes: the URL as given, and the checked address to connect to."""

    url: str
    host: str
    address: str


def url_resolve(url: str) -> Target:
    """Check the URL and resolve its host; RefusedAddress unless every address is allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedAddress("Use an http:// or https:// address.")
    if parts.username or parts.password:
        raise RefusedAddress("Leave the user name and password out of the address.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise RefusedAddress(f"{parts.hostname} cannot be resolved ({error}).") from error
    addresses = sorted({info[4][0] for info in found})
    refused = [address for address in addresses if not address_allowed(address)]
    if not addresses or refused:
        raise RefusedAddress(
            f"{parts.hostname} is an internal address ({', '.join(refused)}): webhooks go "
            "only to public addresses."
        )
    return Target(url=url, host=parts.hostname, address=addresses[0])


# --- Subscriptions -------------------------------------------------------------------------


def _events_clean(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(WebhookEvent.values))
    if unknown or not events:
        raise ValidationError(
            {
                "events": _("Choose events among: %(join)s.")
                % {"join": ", ".join(WebhookEvent.values)}
            }
        )
    return sorted(set(events))


def subscription_create(
    *, owner: User, organisation: Organisation | None, url: str, events: list[str]
) -> WebhookSubscription:
    """A customer admin subscribes their organisation's events; an admin may subscribe to
    every organisation's (organisation None). The URL must reach a public address."""
    if organisation is None and not owner.is_portal_admin:
        raise PermissionDenied(_("Only admins receive every organisation's events."))
    if organisation is not None and not _may_receive(owner, organisation.pk):
        raise PermissionDenied
    try:
        url_resolve(url)
    except RefusedAddress as error:
        raise ValidationError({"url": error.messages}) from error
    subscription = WebhookSubscription(
        owner=owner,
        organisation=organisation,
        url=url,
        events=_events_clean(events),
        secret=secret_new(),
    )
    subscription.full_clean()
    subscription.save()
    return subscription


def subscription_rotate(*, subscription: WebhookSubscription, now=None) -> WebhookSubscription:
    """A new secret; for ROTATION_OVERLAP each delivery carries a signature with the old one
    too, so a receiver has a day to switch over without refusing anything."""
    now = now or timezone.now()
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_until = now + ROTATION_OVERLAP
    subscription.secret = secret_new()
    subscription.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    return subscription


def subscription_enable(*, subscription: WebhookSubscription) -> WebhookSubscription:
    """Turn a subscription on again (after its receiver was fixed): failures start at 0."""
    subscription.is_active = True
    subscription.consecutive_failures = 0
    subscription.disabled_reason = ""
    subscription.save(update_fields=["is_active", "consecutive_failures", "disabled_reason"])
    return subscription


def _may_receive(owner: User, organisation_id: int | None) -> bool:
    """The owner still sees the organisation (or is an admin, for every organisation's)."""
    if not owner.is_active:
        return False
    if organisation_id is None:
        return owner.is_portal_admin
    return Organisation.objects.visible_to(owner).filter(pk=organisation_id).exists()


# --- Events --------------------------------------------------------------------------------


def event_emit(*, event: str, organisation_id: int, data: dict) -> int:
    """Record one event for every subscription that may receive it; sent after the commit.
    Returns the number of deliveries made."""
    return events_emit([(event, organisation_id, data)])


def listened_to(events: set[str]) -> bool:
    """Whether any subscription takes one of these events (a sync asks before reading rows)."""
    active = WebhookSubscription.objects.filter(is_active=True).values_list("events", flat=True)
    return any(events & set(subscribed) for subscribed in active)


def events_emit(events: list[tuple[str, int, dict]]) -> int:
    """Many events at once (a sync batch): one look-up of the subscriptions, one insert."""
    if not events:
        return 0
    kinds = {event for event, _, _ in events}
    organisations = {organisation_id for _, organisation_id, _ in events}
    subscriptions = [
        s
        for s in WebhookSubscription.objects.filter(is_active=True)
        .filter(Q(organisation__isnull=True) | Q(organisation_id__in=organisations))
        .select_related("owner")
        if kinds & set(s.events)
    ]
    if not subscriptions:
        return 0
    may = {}  # (owner, organisation) -> bool, asked once per pair
    now = timezone.now()
    deliveries = []
    for event, organisation_id, data in events:
        for subscription in subscriptions:
            if event not in subscription.events or subscription.organisation_id not in (
                None,
                organisation_id,
            ):
                continue
            key = (subscription.owner_id, organisation_id)
            if key not in may:
                may[key] = _may_receive(subscription.owner, organisation_id)
            if may[key]:
                deliveries.append(_delivery(subscription, event, organisation_id, data, now))
    WebhookDelivery.objects.bulk_create(deliveries)
    for delivery in deliveries:
        outbox.enqueue_on_commit(tasks.webhook_deliver, delivery.message_id)
    return len(deliveries)


def _delivery(subscription, event: str, organisation_id: int, data: dict, now) -> WebhookDelivery:
    body = {
        "type": event,
        "timestamp": now.isoformat(),
        "data": {"organisation": organisation_id, **data},
    }
    return WebhookDelivery(
        subscription=subscription,
        organisation_id=organisation_id,
        message_id=f"msg_{uuid.uuid4().hex}",
        event=event,
        payload=json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":")),
        next_attempt_at=now,
        created_at=now,
    )


# --- Sending -------------------------------------------------------------------------------


def signature_headers(subscription: WebhookSubscription, message_id: str, body: str, now):
    """The Standard Webhooks headers; during a rotation, signed with both secrets."""
    keys = [subscription.secret]
    if subscription.previous_secret and (subscription.previous_secret_until or now) > now:
        keys.append(subscription.previous_secret)
    signature = " ".join(Webhook(key).sign(message_id, now, body) for key in keys)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


def _post(target: Target, body: str, headers: dict) -> tuple[int, bool]:
    """POST to the checked address, with the URL's host in Host and in TLS (SNI and the
    certificate check), so the connection goes where url_resolve looked. Returns the
    status and whether it was a redirect; the answer's body is never read (a receiver
    could send gigabytes)."""
    parts = urlsplit(target.url)
    ip = ipaddress.ip_address(target.address.split("%", 1)[0])
    netloc = f"[{ip}]" if ip.version == 6 else str(ip)
    if parts.port:
        netloc += f":{parts.port}"
    pinned = parts._replace(netloc=netloc).geturl()
    host = parts.netloc.rsplit("@", 1)[-1]
    headers = {
        **headers,
        "Host": host,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    with (
        httpx.Client(timeout=settings.WEBHOOK_TIMEOUT_SECONDS, follow_redirects=False) as client,
        client.stream(
            "POST",
            pinned,
            content=body.encode(),
            headers=headers,
            extensions={"sni_hostname": target.host},
        ) as response,
    ):
        return response.status_code, response.is_redirect


def delivery_attempt(*, message_id: str, now=None) -> str:
    """Send one delivery if it is due and nobody else is sending it; returns its status."""
    now = now or timezone.now()
    claimed = WebhookDelivery.objects.filter(
        message_id=message_id,
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at__lte=now,
    ).update(status=WebhookDelivery.Status.SENDING, last_attempt_at=now)
    delivery = (
        WebhookDelivery.objects.select_related("subscription__owner")
        .filter(message_id=message_id)
        .first()
    )
    if delivery is None or not claimed:
        return delivery.status if delivery else "missing"
    subscription = delivery.subscription
    if not subscription.is_active or not _may_receive(subscription.owner, delivery.organisation_id):
        return _settle(delivery, WebhookDelivery.Status.FAILED, error="Subscription off.")
    try:
        target = url_resolve(subscription.url)
        headers = signature_headers(subscription, delivery.message_id, delivery.payload, now)
        status_code, redirected = _post(target, delivery.payload, headers)
    except RefusedAddress as error:
        return _failed(delivery, now, error=" ".join(error.messages))
    except httpx.HTTPError as error:
        return _failed(delivery, now, error=f"{type(error).__name__}: {error}"[:500])
    if 200 <= status_code < 300:
        WebhookSubscription.objects.filter(pk=subscription.pk).update(consecutive_failures=0)
        return _settle(delivery, WebhookDelivery.Status.SUCCEEDED, code=status_code)
    reason = "a redirect (not followed)" if redirected else "not a 2xx answer"
    return _failed(delivery, now, error=reason, code=status_code)


def _settle(delivery: WebhookDelivery, status: str, *, error: str = "", code=None) -> str:
    delivery.status = status
    delivery.attempts += 1
    delivery.last_error = error
    delivery.last_status_code = code
    delivery.save(update_fields=["status", "attempts", "last_error", "last_status_code"])
    return status


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off: base, 2 × base, 4 × base, ... after the 1st, 2nd, 3rd failure."""
    return timedelta(seconds=settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempts - 1))


def _failed(delivery: WebhookDelivery, now, *, error: str, code=None) -> str:
    attempts = delivery.attempts + 1
    if attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        status = _settle(delivery, WebhookDelivery.Status.FAILED, error=error, code=code)
    else:
        delivery.next_attempt_at = now + retry_delay(attempts)
        delivery.save(update_fields=["next_attempt_at"])
        status = _settle(delivery, WebhookDelivery.Status.PENDING, error=error, code=code)
        _send_later(delivery)
    _count_failure(delivery.subscription, error)
    return status


def _send_later(delivery: WebhookDelivery) -> None:
    """The next attempt as a Celery task with a countdown. Where tasks run inline (the
    embedded default, the tests) it would run at once: the beat's sweep sends it instead."""
    if tasks.webhook_deliver.app.conf.task_always_eager:
        return
    delay = max((delivery.next_attempt_at - timezone.now()).total_seconds(), 0)
    try:
        tasks.webhook_deliver.apply_async((delivery.message_id,), countdown=delay)
    except outbox.BROKER_ERRORS:
        logger.warning("webhook %s: the sweep will retry it", delivery.message_id)


def _count_failure(subscription: WebhookSubscription, error: str) -> None:
    """One more failure in a row; at the limit the subscription is turned off, once."""
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    limit = settings.WEBHOOK_DISABLE_AFTER_FAILURES
    reason = f"Turned off after {limit} failed deliveries in a row (last: {error})"[:300]
    turned_off = WebhookSubscription.objects.filter(
        pk=subscription.pk, is_active=True, consecutive_failures__gte=limit
    ).update(is_active=False, disabled_reason=reason)
    if turned_off:
        outbox.enqueue_on_commit(tasks.webhook_disabled_notify, subscription.pk)


def deliveries_due(*, now=None, limit: int = 500) -> dict[str, int]:
    """The beat's sweep: deliveries due (a retry, or a task lost), and attempts whose worker
    died mid-send (SENDING for longer than a request can take), sent again."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 4 + 60)
    WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.SENDING, last_attempt_at__lt=stale
    ).update(status=WebhookDelivery.Status.PENDING)
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        )
        .order_by("next_attempt_at")
        .values_list("message_id", flat=True)[:limit]
    )
    for message_id in due:
        outbox.send(tasks.webhook_deliver, message_id)
    return {"due": len(due)}


@transaction.atomic
def delivery_replay(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a logged delivery again (admin): same webhook-id, a fresh signature and timestamp."""
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "next_attempt_at"])
    outbox.enqueue_on_commit(tasks.webhook_deliver, delivery.message_id)
    return delivery
