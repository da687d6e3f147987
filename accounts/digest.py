"""The daily digest: one email per person with the notifications they routed to it.

The digest of day D carries what arrived before D began (in the portal's time zone) and
is sent under the key "accounts.digest:<person>:<D>": the items are claimed for D first
(a compare-and-set update, so two runs never take the same item), then mailed. Running
it again on D finds nothing new and mails nobody twice; a retry after a failed send
mails the same items under the same key. Nobody gets a digest with nothing in it.
"""

from __future__ import annotations

from datetime import date, datetime, time

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import ngettext

from accounts.locale import person_locale
from accounts.models import DigestItem
from accounts.platform.mail import Mail, absolute_url, mail_send
from accounts.preferences import with_unsubscribe


def daily_digest_send(*, today: date | None = None) -> dict[str, int]:
    today = today or timezone.localdate()
    day_began = timezone.make_aware(datetime.combine(today, time.min))
    DigestItem.objects.filter(digest_on__isnull=True, created_at__lt=day_began).update(
        digest_on=today
    )
    items = DigestItem.objects.filter(digest_on=today, user__is_active=True).select_related("user")
    by_user: dict = {}
    for item in items.order_by("user_id", "created_at"):
        by_user.setdefault(item.user, []).append(item)
    settings_link = absolute_url("accounts:notifications")
    mails = []
    for user, found in by_user.items():
        with person_locale(user):
            mail = Mail(
                key=f"accounts.digest:{user.pk}:{today.isoformat()}",
                to=user.email,
                subject=ngettext(
                    "Your daily digest: %(count)d update",
                    "Your daily digest: %(count)d updates",
                    len(found),
                )
                % {"count": len(found)},
                body=render_to_string(
                    "accounts/email/digest.txt",
                    {"user": user, "items": found, "today": today, "link": settings_link},
                ),
            )
            mails.append(
                with_unsubscribe(mail, user_id=user.pk, kinds=sorted({i.kind for i in found}))
            )
    return mail_send(mails)
