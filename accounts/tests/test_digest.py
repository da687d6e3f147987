"""The daily digest: one email per person with what they routed to it, once per day."""

from datetime import timedelta

from django.utils import timezone

from accounts import preferences
from accounts.choices import Delivery, NotificationKind
from accounts.digest import daily_digest_send
from accounts.models import DigestItem
from accounts.platform.mail import Mail, mail_send

REPLY = NotificationKind.TICKET_REPLY


def kept_for_digest(user, n: int, *, days_ago: int = 1) -> None:
    preferences.preferences_set(user=user, choices={REPLY: Delivery.DIGEST})
    mail_send(
        Mail(
            key=f"tickets.staff_reply:{i}",
            to=user.email,
            subject=f"Answer {i}",
            body="B",
            kind=REPLY,
            link=f"https://portal.test/tickets/{i}/",
        )
        for i in range(n)
    )
    DigestItem.objects.filter(user=user).update(
        created_at=timezone.now() - timedelta(days=days_ago)
    )


def test_each_person_gets_one_digest_with_all_their_items(world, mailoutbox):
    kept_for_digest(world.member_a, 3)
    kept_for_digest(world.member_b, 1)
    summary = daily_digest_send()
    assert summary["sent"] == 2
    by_person = {m.to[0]: m for m in mailoutbox}
    mail = by_person[world.member_a.email]
    assert mail.subject == "Your daily digest: 3 updates"
    for i in range(3):
        assert f"Answer {i}" in mail.body
        assert f"https://portal.test/tickets/{i}/" in mail.body
    assert "Answer" in by_person[world.member_b.email].body
    assert "List-Unsubscribe" in mail.extra_headers
    # Nobody else's items reach them.
    assert "Answer 1" not in by_person[world.member_b.email].body


def test_nothing_is_sent_when_nobody_has_anything(world, mailoutbox):
    assert daily_digest_send()["sent"] == 0
    assert mailoutbox == []


def test_running_it_again_the_same_day_mails_nobody_twice(world, mailoutbox):
    kept_for_digest(world.member_a, 2)
    daily_digest_send()
    # Something new arrives after the digest went out, and the digest runs again that day.
    kept_for_digest(world.member_a, 4, days_ago=0)
    again = daily_digest_send()
    assert again["sent"] == 0
    assert len(mailoutbox) == 1
    # It waits for tomorrow's digest.
    tomorrow = daily_digest_send(today=timezone.localdate() + timedelta(days=1))
    assert tomorrow["sent"] == 1
    assert len(mailoutbox) == 2
    assert "Answer 3" in mailoutbox[1].body


def test_a_retried_digest_sends_the_same_items_once(world, mailoutbox):
    kept_for_digest(world.member_a, 2)
    daily_digest_send()
    # The items were claimed for today; a retry of the task finds and skips the sent mail.
    assert daily_digest_send()["already_sent"] == 1
    assert len(mailoutbox) == 1


def test_the_one_click_link_of_a_digest_turns_off_what_it_carried(world, mailoutbox, client):
    kept_for_digest(world.member_a, 1)
    daily_digest_send()
    link = mailoutbox[0].extra_headers["List-Unsubscribe"][1:-1]
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert preferences.unsubscribe_read(token) == (world.member_a, [REPLY])


def test_a_deactivated_person_gets_no_digest(world, mailoutbox):
    kept_for_digest(world.member_a, 1)
    world.member_a.is_active = False
    world.member_a.save()
    assert daily_digest_send()["sent"] == 0
