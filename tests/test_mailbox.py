"""Email in through a real IMAP server: the Dovecot that scripts/with-services.sh starts.

Messages are put in the support mailbox over IMAP (APPEND, as a mail server delivers
them), then the beat task's reader takes them from there.
"""

import os
from urllib.parse import unquote, urlsplit

import pytest
from imap_tools import AND, MailBoxUnencrypted

from tickets import services, tasks
from tickets.choices import InboundOutcome
from tickets.models import InboundEmail, Ticket
from tickets.tests.test_inbound import PDF, email, staff_reply_mail

# One IMAP mailbox for the whole suite: its tests run in one process (`make test`'s
# `--dist loadgroup`), one after another.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mailbox")]


@pytest.fixture
def mailbox():
    url = os.environ.get("TEST_MAILBOX_URL")
    if not url:
        pytest.fail("TEST_MAILBOX_URL is not set: run through `make test` (it starts Dovecot).")
    parts = urlsplit(url)
    with MailBoxUnencrypted(parts.hostname, parts.port).login(
        unquote(parts.username), unquote(parts.password)
    ) as box:
        box.delete([m.uid for m in box.fetch(mark_seen=False, headers_only=True)])
        yield box


def test_mail_delivered_to_the_mailbox_becomes_tickets_and_replies(
    world, mailbox, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.MAILBOX_URL = os.environ["TEST_MAILBOX_URL"]
    settings.SUPPORT_EMAIL = "support@portal.test"
    ticket = services.ticket_create(
        organisation=world.org_a, requester=world.member_a, subject="Parcel missing",
        category="delivery", priority="normal", body="Where is it?",
    )  # fmt: skip
    notification = staff_reply_mail(world, ticket, mailoutbox, django_capture_on_commit_callbacks)
    thread = {"In-Reply-To": notification["Message-ID"]}
    away = {"Auto-Submitted": "auto-replied"}
    for raw in [
        email("admin.a@alpha.test", subject="Invoice 42 is wrong",
              attachments=[("invoice.pdf", PDF, "application", "pdf")]),
        email("member.a@alpha.test", subject="Re: Parcel", body="It came, thanks!", headers=thread),
        email("member.b@bravo.test", subject="Re: Parcel", body="Mine too?", headers=thread),
        email("member.a@alpha.test", subject="Out of office", headers=away),
    ]:  # fmt: skip
        mailbox.append(raw, "INBOX")

    summary = tasks.mailbox_poll.apply().get()

    assert summary["read"] == 4
    outcomes = sorted(InboundEmail.objects.values_list("sender", "subject", "outcome"))
    assert outcomes == [
        ("admin.a@alpha.test", "Invoice 42 is wrong", InboundOutcome.OPENED),
        ("member.a@alpha.test", "Out of office", InboundOutcome.IGNORED),
        ("member.a@alpha.test", "Re: Parcel", InboundOutcome.REPLIED),
        # B's customer answering A's thread: a ticket of B's own, never appended to A's.
        ("member.b@bravo.test", "Re: Parcel", InboundOutcome.OPENED),
    ]
    new = InboundEmail.objects.get(sender="admin.a@alpha.test").ticket
    assert new.organisation == world.org_a
    assert [a.filename for a in new.messages.get().attachments.all()] == ["invoice.pdf"]
    assert ticket.messages.order_by("created_at").last().body == "It came, thanks!"
    assert "Mine too?" not in "".join(ticket.messages.values_list("body", flat=True))
    assert InboundEmail.objects.get(sender="member.b@bravo.test").ticket.organisation == world.org_b

    # Every message was flagged as seen: the next poll reads nothing again.
    mailbox.client.noop()  # see the flags the reader's own session set
    assert not list(mailbox.fetch(AND(seen=False), mark_seen=False))
    assert tasks.mailbox_poll.apply().get()["read"] == 0
    assert Ticket.objects.count() == 3


def test_poisoned_messages_never_stop_the_mailbox(world, mailbox, settings, monkeypatch):
    """mail-parser's mail_malformed_3 made as_bytes() raise: it stayed unread and failed
    on every poll, and a batch of such messages stopped all mail. Now the server's bytes
    are handled as they are, and each message is read once, whatever it holds."""
    from pathlib import Path

    from tickets import mailbox as reader

    settings.MAILBOX_URL = os.environ["TEST_MAILBOX_URL"]
    monkeypatch.setattr(reader, "BATCH", 2)  # a batch full of poisoned messages
    poisoned = (Path(__file__).parent.parent / "tickets/tests/corpus/mail-parser/"
                "mail_malformed_3.eml").read_bytes()  # fmt: skip
    for number in range(3):
        message_id = f"<poison-{number}@post.sk>".encode()
        mailbox.append(poisoned.replace(b"<QLHMAUTBMRLPSUHSWPVQEL@post.sk>", message_id), "INBOX")
    mailbox.append(email("admin.a@alpha.test", subject="Invoice 42 is wrong"), "INBOX")

    polls = [tasks.mailbox_poll.apply().get() for _ in range(3)]

    assert [poll["read"] for poll in polls] == [2, 2, 0]
    assert InboundEmail.objects.filter(subject="Invoice 42 is wrong").get().ticket is not None
    assert InboundEmail.objects.exclude(subject="Invoice 42 is wrong").count() == 3
    mailbox.client.noop()
    assert not list(mailbox.fetch(AND(seen=False), mark_seen=False))
