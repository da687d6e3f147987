"""Notification preferences: each person routes each kind of email at once, to the daily
digest, or off; and the signed unsubscribe links that change it without signing in.

`route` is called by `accounts.platform.mail.mail_send` for every mail that names its `kind`:
"off" drops it, "digest" keeps it as a `DigestItem` for accounts/digest.py, "at once"
sends it with an unsubscribe link in its body and the List-Unsubscribe and
List-Unsubscribe-Post headers of RFC 8058 (one click in the mail client, no sign-in).

An unsubscribe link names the person and the kinds it turns off, signed with Django's
TimestampSigner (SECRET_KEY, a salt of its own): nobody can forge one for someone else or
widen it to other kinds. It turns notifications off, never on, so a link that leaks, or a
mail scanner that opens it, can only make someone get fewer emails; the page still asks
for a click (scanners follow links, they do not press buttons) except for the one-click
POST that RFC 8058 defines for mail clients.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.choices import Delivery, NotificationKind, UserKind
from accounts.models import DigestItem, NotificationPreference, User

SALT = "accounts.unsubscribe"
# Old emails keep working for a year; after that the preferences page (signed in) does it.
UNSUBSCRIBE_MAX_AGE = 366 * 86400

# Which kinds a person can receive, hence sees on the preferences page.
CUSTOMER_KINDS = (
    NotificationKind.TICKET_REPLY,
    NotificationKind.TICKET_RESOLVED,
    NotificationKind.IMPROVEMENT_DONE,
    NotificationKind.ACCOUNT_TEAM,
)
STAFF_KINDS = (
    NotificationKind.TICKET_NEW,
    NotificationKind.SLA_WARNING,
    NotificationKind.SPONSOR_LAPSE,
    NotificationKind.AM_TASKS,
    NotificationKind.ACCOUNT_TEAM,
)
# The morning task email is a digest already: at once or off.
NO_DIGEST = {NotificationKind.AM_TASKS}


def kinds_for(user: User) -> tuple[str, ...]:
    return STAFF_KINDS if user.kind != UserKind.CUSTOMER else CUSTOMER_KINDS


def deliveries_for(kind: str) -> list[tuple[str, str]]:
    if kind in NO_DIGEST:
        return [c for c in Delivery.choices if c[0] != Delivery.DIGEST]
    return list(Delivery.choices)


# --- Reads and writes of the preferences ---------------------------------------------------


def preference_map(*, user: User) -> dict[str, str]:
    """{kind: delivery} for every kind the person can receive (at once unless set)."""
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "delivery"))
    return {kind: chosen.get(kind, Delivery.AT_ONCE) for kind in kinds_for(user)}


@transaction.atomic
def preferences_set(*, user: User, choices: dict[str, str]) -> None:
    """Store the person's delivery per kind; unknown kinds or deliveries are refused."""
    for kind, delivery in choices.items():
        if kind not in NotificationKind.values or delivery not in dict(deliveries_for(kind)):
            raise ValueError(f"Not a notification setting: {kind}={delivery}")
    for kind, delivery in choices.items():
        NotificationPreference.objects.update_or_create(
            user=user, kind=kind, defaults={"delivery": delivery}
        )


# --- Unsubscribe links ---------------------------------------------------------------------


def unsubscribe_token(user_id: int, kinds: Iterable[str]) -> str:
    return signing.dumps({"u": user_id, "k": sorted(set(kinds))}, salt=SALT, compress=True)


def unsubscribe_url(user_id: int, kinds: Iterable[str]) -> str:
    path = reverse("accounts:unsubscribe", args=[unsubscribe_token(user_id, kinds)])
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def unsubscribe_read(token: str) -> tuple[User, list[str]] | None:
    """The active person and the kinds a link turns off, or None if it is not good."""
    try:
        data = signing.loads(token, salt=SALT, max_age=UNSUBSCRIBE_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is one too
        return None
    kinds = data.get("k") if isinstance(data, dict) else None
    if not isinstance(kinds, list) or not kinds or not set(kinds) <= set(NotificationKind.values):
        return None
    user = User.objects.filter(pk=data.get("u"), is_active=True).first()
    return (user, kinds) if user else None


def unsubscribe(*, token: str) -> tuple[User, list[str]] | None:
    """Turn off the kinds a link names; None (and nothing changed) if the link is not good."""
    found = unsubscribe_read(token)
    if found:
        user, kinds = found
        preferences_set(user=user, choices=dict.fromkeys(kinds, Delivery.OFF))
    return found


# --- Routing the mails of mail_send --------------------------------------------------------


def route(mails: list) -> tuple[list, dict[str, int]]:
    """The mails to send now (with their unsubscribe link), and what else happened.

    Mails without a kind (an invitation, a password reset) pass as they are. Two queries
    however many mails: the people, their settings.
    """
    kinded = [mail for mail in mails if mail.kind]
    if not kinded:
        return mails, {}
    users = {
        u.email: u
        for u in User.objects.filter(email__in={m.to for m in kinded}, is_active=True).only(
            "pk", "email"
        )
    }
    settings_of = {
        (user_id, kind): delivery
        for user_id, kind, delivery in NotificationPreference.objects.filter(
            user__in=users.values(), kind__in={m.kind for m in kinded}
        ).values_list("user_id", "kind", "delivery")
    }
    now, digest, counts = [], [], {"digested": 0, "muted": 0}
    for mail in mails:
        user = users.get(mail.to) if mail.kind else None
        if user is None:
            now.append(mail)
            continue
        delivery = settings_of.get((user.pk, mail.kind), Delivery.AT_ONCE)
        if delivery == Delivery.OFF:
            counts["muted"] += 1
        elif delivery == Delivery.DIGEST and mail.kind not in NO_DIGEST:
            digest.append(_digest_item(user, mail))
            counts["digested"] += 1
        else:
            now.append(with_unsubscribe(mail, user_id=user.pk, kinds=[mail.kind]))
    DigestItem.objects.bulk_create(digest, ignore_conflicts=True)
    return now, {name: n for name, n in counts.items() if n}


def with_unsubscribe(mail, *, user_id: int, kinds: list[str]):
    """The mail with its unsubscribe link at the foot of the body and in its headers."""
    link = unsubscribe_url(user_id, kinds)
    settings_link = settings.PORTAL_BASE_URL.rstrip("/") + reverse("accounts:notifications")
    with translation.override(mail.language):  # the language the mail itself speaks
        labels = "; ".join(str(NotificationKind(kind).label) for kind in kinds)
        foot = "\n\n-- \n" + _(
            "You get this email for: %(kinds)s.\n"
            "Stop these emails: %(link)s\n"
            "All your email settings: %(settings_link)s\n"
        ) % {"kinds": labels, "link": link, "settings_link": settings_link}
    headers = (
        *mail.headers,
        ("List-Unsubscribe", f"<{link}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    )
    return replace(mail, body=mail.body.rstrip("\n") + foot, headers=headers)


def _digest_item(user: User, mail) -> DigestItem:
    return DigestItem(
        user=user, kind=mail.kind, key=mail.key[:200], subject=mail.subject[:300], link=mail.link
    )


# --- Staff following accounts ----------------------------------------------------------------


def account_follow(*, user: User, organisation_id: int, follow: bool = True) -> bool:
    """A staff member follows an account they can see (hears of its new tickets), or stops.

    Invisible accounts answer 404 like missing ones; customers follow tickets instead.
    Returns whether they follow it now.
    """
    from django.http import Http404

    from accounts.models import AccountFollow, Organisation

    if not user.is_employee:
        raise Http404
    organisation = Organisation.objects.visible_to(user).filter(pk=organisation_id).first()
    if organisation is None:
        raise Http404
    if follow:
        AccountFollow.objects.get_or_create(user=user, organisation=organisation)
    else:
        AccountFollow.objects.filter(user=user, organisation=organisation).delete()
    return follow


def follows_account(*, user: User, organisation_id: int) -> bool:
    from accounts.models import AccountFollow

    return AccountFollow.objects.filter(user=user, organisation_id=organisation_id).exists()


def followed_accounts(*, user: User) -> list:
    from accounts.models import Organisation

    return list(
        Organisation.objects.visible_to(user)
        .filter(followers__user=user)
        .only("pk", "name")
        .order_by("name")
    )
