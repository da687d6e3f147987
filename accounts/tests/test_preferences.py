"""Notification preferences: each person routes each kind at once, to the digest, or off;
every routed email carries a signed unsubscribe link (RFC 8058 one-click too)."""

from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import preferences
from accounts.choices import Delivery, NotificationKind
from accounts.models import DigestItem, NotificationPreference
from accounts.platform.mail import Mail, mail_send
from accounts.preferences import unsubscribe_read, unsubscribe_token

REPLY = NotificationKind.TICKET_REPLY
RESOLVED = NotificationKind.TICKET_RESOLVED


def reply_mail(user, key="tickets.staff_reply:1") -> Mail:
    return Mail(
        key=key,
        to=user.email,
        subject="[T-000001] Parcel missing",
        body="We found it.",
        kind=REPLY,
        link="https://portal.test/tickets/1/",
    )


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_a_mail_at_once_carries_its_unsubscribe_link_and_one_click_headers(world, mailoutbox):
    assert mail_send([reply_mail(world.member_a)])["sent"] == 1
    (message,) = mailoutbox
    link = message.extra_headers["List-Unsubscribe"]
    assert link.startswith("<")
    assert link.endswith(">")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link[1:-1] in message.body
    assert unsubscribe_read(link[1:-1].rstrip("/").rsplit("/", 1)[1]) == (world.member_a, [REPLY])


def test_a_mail_without_a_kind_is_sent_as_it_is(world, mailoutbox):
    mail_send([Mail(key="accounts.invitation:1", to=world.member_a.email, subject="S", body="B")])
    (message,) = mailoutbox
    assert "List-Unsubscribe" not in message.extra_headers
    assert message.body == "B"


def test_a_kind_routed_to_the_digest_is_kept_for_it_and_not_mailed(world, mailoutbox):
    preferences.preferences_set(user=world.member_a, choices={REPLY: Delivery.DIGEST})
    summary = mail_send([reply_mail(world.member_a), reply_mail(world.customer_admin_a)])
    assert summary == {"sent": 1, "already_sent": 0, "refused": 0, "digested": 1}
    assert [m.to for m in mailoutbox] == [[world.customer_admin_a.email]]
    item = DigestItem.objects.get()
    assert (item.user, item.kind, item.subject) == (
        world.member_a,
        REPLY,
        "[T-000001] Parcel missing",
    )
    # The same notification again (a retry) is not kept twice.
    mail_send([reply_mail(world.member_a)])
    assert DigestItem.objects.count() == 1


def test_a_kind_turned_off_sends_nothing_and_other_kinds_still_go(world, mailoutbox):
    preferences.preferences_set(user=world.member_a, choices={REPLY: Delivery.OFF})
    resolved = Mail(key="tickets.resolved:1:x", to=world.member_a.email, subject="R", body="B",
                    kind=RESOLVED)  # fmt: skip
    summary = mail_send([reply_mail(world.member_a), resolved])
    assert summary["muted"] == 1
    assert summary["sent"] == 1
    assert [m.subject for m in mailoutbox] == ["R"]
    assert not DigestItem.objects.exists()


def test_the_preferences_page_saves_each_kind(client, world):
    client.force_login(world.member_a)
    page = client.get(reverse("accounts:notifications"))
    assert page.status_code == 200
    # A customer sees the customer kinds only: nothing about other accounts' new tickets.
    assert str(NotificationKind.TICKET_NEW.label) not in page.content.decode()
    choices = dict.fromkeys(preferences.CUSTOMER_KINDS, Delivery.AT_ONCE)
    choices[REPLY] = Delivery.DIGEST
    choices[RESOLVED] = Delivery.OFF
    assert client.post(reverse("accounts:notifications"), choices).status_code == 302
    assert preferences.preference_map(user=world.member_a)[REPLY] == Delivery.DIGEST
    assert preferences.preference_map(user=world.member_a)[RESOLVED] == Delivery.OFF


def test_the_preferences_page_refuses_a_choice_that_does_not_exist(client, world):
    client.force_login(world.am_a)
    choices = dict.fromkeys(preferences.STAFF_KINDS, Delivery.AT_ONCE)
    choices[NotificationKind.AM_TASKS] = Delivery.DIGEST  # the morning mail is a digest
    assert client.post(reverse("accounts:notifications"), choices).status_code == 400
    assert not NotificationPreference.objects.exists()


def test_opening_an_unsubscribe_link_asks_and_changes_nothing(world):
    url = reverse("accounts:unsubscribe", args=[unsubscribe_token(world.member_a.pk, [REPLY])])
    page = Client().get(url)
    assert page.status_code == 200
    assert b"Stop these emails" in page.content
    assert not NotificationPreference.objects.exists()


def test_the_button_of_an_unsubscribe_link_turns_the_kind_off_without_signing_in(world):
    url = reverse("accounts:unsubscribe", args=[unsubscribe_token(world.member_a.pk, [REPLY])])
    # No session, and the CSRF check on: the signed token is the authority.
    assert Client(enforce_csrf_checks=True).post(url).status_code == 200
    assert preferences.preference_map(user=world.member_a)[REPLY] == Delivery.OFF
    assert preferences.preference_map(user=world.member_a)[RESOLVED] == Delivery.AT_ONCE


def test_a_mail_clients_one_click_post_turns_the_kind_off(world, mailoutbox):
    mail_send([reply_mail(world.member_a)])
    url = mailoutbox[0].extra_headers["List-Unsubscribe"][1:-1]
    response = Client(enforce_csrf_checks=True).post(
        path_of(url),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert preferences.preference_map(user=world.member_a)[REPLY] == Delivery.OFF


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),
        lambda token: token.replace(":", ";", 1),
        lambda token: "",
    ],
    ids=["signature", "separator", "empty"],
)
def test_a_tampered_unsubscribe_link_changes_nothing(world, tamper):
    token = tamper(unsubscribe_token(world.member_a.pk, [REPLY])) or "x"
    response = Client().post(reverse("accounts:unsubscribe", args=[token]))
    assert response.status_code == 404
    assert not NotificationPreference.objects.exists()


def test_a_link_signed_for_other_purposes_or_kinds_does_not_unsubscribe(world):
    # The same payload signed with another salt (say, a rating link's) is refused, and so
    # is a payload naming a kind that does not exist.
    forged = signing.dumps({"u": world.member_a.pk, "k": [REPLY]}, salt="tickets.rating-link")
    unknown = signing.dumps({"u": world.member_a.pk, "k": ["everything"]}, salt=preferences.SALT)
    assert unsubscribe_read(forged) is None
    assert unsubscribe_read(unknown) is None


def test_a_link_of_a_deactivated_person_does_nothing(world):
    token = unsubscribe_token(world.member_a.pk, [REPLY])
    world.member_a.is_active = False
    world.member_a.save()
    assert unsubscribe_read(token) is None


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0), replacement=st.characters(codec="ascii"))
def test_no_changed_character_of_a_link_makes_another_good_link(world, position, replacement):
    token = unsubscribe_token(world.member_a.pk, [REPLY])
    position %= len(token)
    changed = token[:position] + replacement + token[position + 1 :]
    if changed != token:
        assert unsubscribe_read(changed) is None
