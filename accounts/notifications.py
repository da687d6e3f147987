"""The emails of accounts: who is told what about invitations and handoffs.

Each function renders one `Mail` per person and sends them with `accounts.platform.mail.mail_send`
(each person once per notification key); the Celery tasks in accounts/tasks.py call them.
"""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.choices import NotificationKind
from accounts.locale import organisation_locale, person_locale
from accounts.models import Invitation
from accounts.platform.mail import Mail, absolute_url, mail_send
from accounts.selectors import HandoffNews


def invitation_notify(*, invitation: Invitation, token: str) -> dict[str, int]:
    """Send the invitation link, unless the invitation was accepted or expired meanwhile."""
    if not invitation.is_usable:
        return mail_send([])
    context = {"invitation": invitation, "link": absolute_url("accounts:invitation_accept", token)}
    with organisation_locale(invitation.organisation):  # the invitee has no language yet
        mail = Mail(
            # Each link its own mail: a resent invitation has a new token.
            key=f"accounts.invitation:{invitation.pk}:{invitation.token_hash[:16]}",
            to=invitation.email,
            subject=_("You are invited to %(name)s on the Customer Portal")
            % {"name": invitation.organisation.name},
            body=render_to_string("accounts/email/invitation.txt", context),
        )
    return mail_send([mail])


def team_handoff_notify(*, news: HandoffNews) -> dict[str, int]:
    """After a handoff: the new holders get their accounts with the notes; the customers'
    people hear who looks after them now (never the internal notes)."""
    key = f"accounts.team_handoff:{news.handoff_id}"
    link = absolute_url("home")
    mails = [
        _handoff_holder_mail(key, holder, items, link)
        for holder, items in news.by_new_holder().items()
    ]
    mails += [
        _handoff_letter(key, person, organisation, terms, link)
        for person, organisation, terms in news.customer_letters()
    ]
    return mail_send(mails)


def _handoff_holder_mail(key: str, holder, items, link: str) -> Mail:
    with person_locale(holder):
        return Mail(
            key=f"{key}:holder",
            to=holder.email,
            subject=ngettext(
                "%(count)d account handed over to you",
                "%(count)d accounts handed over to you",
                len(items),
            )
            % {"count": len(items)},
            body=render_to_string(
                "accounts/email/handoff_staff.txt",
                {"holder": holder, "items": items, "link": link},
            ),
            kind=NotificationKind.ACCOUNT_TEAM,
            link=link,
        )


def _handoff_letter(key: str, person, organisation, terms, link: str) -> Mail:
    with person_locale(person, organisation):  # in the customer's language and time
        return Mail(
            # A person in two of the organisations gets both letters.
            key=f"{key}:organisation:{organisation.pk}",
            to=person.email,
            subject=_("Your account team at %(name)s has changed") % {"name": organisation.name},
            body=render_to_string(
                "accounts/email/handoff_customer.txt",
                {"person": person, "organisation": organisation, "terms": terms, "link": link},
            ),
            kind=NotificationKind.ACCOUNT_TEAM,
            link=link,
        )


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
    with person_locale(subscription.owner, subscription.organisation):
        mail = Mail(
            key=f"accounts.webhook_disabled:{subscription.pk}:{subscription.consecutive_failures}",
            to=subscription.owner.email,
            subject=_("Your webhook was turned off after repeated failures"),
            body=render_to_string("accounts/email/webhook_disabled.txt", context),
        )
    return mail_send([mail])


def cover_notify(*, assignment_id: int) -> dict[str, int]:
    """Cover was named: the cover gets the account and the note; the customer's people
    hear who to turn to until when. Nothing once the cover ended or was replaced."""
    from accounts.models import AccountAssignment, Membership

    cover = (
        AccountAssignment.objects.select_related("organisation", "user", "assigned_by")
        .filter(pk=assignment_id, ended_at__isnull=True)
        .first()
    )
    if cover is None:
        return mail_send([])
    key = f"accounts.cover:{cover.pk}"
    context = {"cover": cover, "link": absolute_url("home")}
    with person_locale(cover.user):
        mails = [
            Mail(
                key=f"{key}:holder",
                to=cover.user.email,
                subject=_("You cover %(organisation)s until %(until)s")
                % {"organisation": cover.organisation.name, "until": _day(cover.until)},
                body=render_to_string("accounts/email/cover_staff.txt", context),
                kind=NotificationKind.ACCOUNT_TEAM,
                link=context["link"],
            )
        ]
    members = Membership.objects.filter(
        organisation_id=cover.organisation_id, is_active=True, user__is_active=True
    ).select_related("user")
    for membership in members:
        with person_locale(membership.user, cover.organisation):
            mails.append(
                Mail(
                    key=f"{key}:customer",
                    to=membership.user.email,
                    subject=_("Your account team at %(organisation)s: cover until %(until)s")
                    % {"organisation": cover.organisation.name, "until": _day(cover.until)},
                    body=render_to_string(
                        "accounts/email/cover_customer.txt", {**context, "person": membership.user}
                    ),
                    kind=NotificationKind.ACCOUNT_TEAM,
                    link=context["link"],
                )
            )
    return mail_send(mails)


def _day(day) -> str:
    """A day as "7 December" in the active language."""
    return date_format(day, "j F")


def domain_claim_notify(*, claim, token: str) -> dict[str, int]:
    """The proof of a claimed domain: a link to the address at it (accounts/sso.py)."""
    if claim.verified_at is not None:
        return mail_send([])
    context = {"claim": claim, "link": absolute_url("accounts:sso_domain_verify", token)}
    with organisation_locale(claim.organisation):  # the address may belong to nobody yet
        mail = Mail(
            key=f"accounts.domain_claim:{claim.pk}:{claim.token_hash[:16]}",
            to=claim.proof_email,
            subject=_("Confirm that %(domain)s belongs to %(organisation)s")
            % {"domain": claim.domain, "organisation": claim.organisation.name},
            body=render_to_string("accounts/email/domain_claim.txt", context),
        )
    return mail_send([mail])
