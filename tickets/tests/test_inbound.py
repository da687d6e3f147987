"""Email in (tickets/inbound.py): new tickets, threaded replies, and what is never appended."""

import io
import re
import sys
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import urlsplit

import pytest
from django.core import mail as django_mail
from django.core.management import call_command

from accounts.choices import MembershipRole
from accounts.tests.factories import MembershipFactory
from tickets import services
from tickets.choices import InboundOutcome, Source, Status
from tickets.inbound import email_receive
from tickets.models import Attachment, InboundEmail, Message, Ticket

PDF = b"%PDF-1.4 a delivery note"


def email(
    sender: str,
    subject: str = "Parcel missing",
    body: str = "Our parcel did not arrive.",
    *,
    to: str = "support@portal.test",
    headers: dict | None = None,
    attachments: tuple = (),
    authenticated: bool = True,
) -> bytes:
    """A message as our receiving server hands it on: with its Authentication-Results
    (DMARC pass for the From's domain) unless `authenticated` is False."""
    message = EmailMessage()
    if authenticated:
        domain = sender.rpartition("@")[2].strip(">").lower()
        message["Authentication-Results"] = (
            f"mx.portal.test; dkim=pass header.d={domain}; dmarc=pass header.from={domain}"
        )
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="customer.test")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for name, data, maintype, subtype in attachments:
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


@pytest.fixture(autouse=True)
def support_address(settings):
    settings.SUPPORT_EMAIL = "support@portal.test"
    settings.DEFAULT_FROM_EMAIL = "Customer Portal <portal@portal.test>"


def ticket_of_a(world, subject: str) -> Ticket:
    return services.ticket_create(
        organisation=world.org_a, requester=world.member_a, subject=subject,
        category="delivery", priority="normal", body="Where is it?",
    )  # fmt: skip


def staff_reply_mail(world, ticket, mailoutbox, capture) -> EmailMessage:
    """The notification the customer gets when staff answer: what their client replies to."""
    mailoutbox.clear()
    with capture(execute=True):
        services.ticket_reply(ticket=ticket, author=world.am_a, body="It left our depot today.")
    (sent,) = [m for m in mailoutbox if m.to == [ticket.requester.email]]
    return sent.message()


def test_a_customer_with_one_organisation_opens_a_ticket_by_email(world):
    raw = email(
        "Member A <member.a@alpha.test>",
        body="Our parcel did not arrive.\n\nOn Mon, someone wrote:\n> an older message",
        attachments=[("note.pdf", PDF, "application", "pdf")],
    )
    received = email_receive(raw=raw)

    assert received.outcome == InboundOutcome.OPENED
    ticket = Ticket.objects.get(pk=received.ticket_id)
    assert (ticket.organisation, ticket.requester) == (world.org_a, world.member_a)
    assert ticket.source == Source.EMAIL
    assert ticket.subject == "Parcel missing"
    first = ticket.messages.get()
    assert first.body == "Our parcel did not arrive."  # the quoted history is left out
    assert Attachment.objects.get(message=first).filename == "note.pdf"
    assert InboundEmail.objects.get().ticket == ticket


def test_a_reply_to_our_notification_lands_on_its_ticket(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    ticket = ticket_of_a(world, "Parcel missing")
    notification = staff_reply_mail(world, ticket, mailoutbox, django_capture_on_commit_callbacks)
    assert notification["Reply-To"] == f"support+{ticket.reference}@portal.test"
    assert notification["References"] == f"<ticket-{ticket.pk}@portal.test>"

    # The mail client answers with a new subject line and the thread headers only.
    reply = email(
        "member.a@alpha.test",
        subject="Re: your parcel",
        body="Thanks, it arrived.\n\nOn Tue, Portal wrote:\n> It left our depot today.",
        headers={"In-Reply-To": notification["Message-ID"]},
    )
    received = email_receive(raw=reply)

    assert (received.outcome, received.ticket_id) == (InboundOutcome.REPLIED, ticket.pk)
    assert ticket.messages.order_by("-created_at").first().body == "Thanks, it arrived."
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize(
    "how",
    ["subject", "plus address", "an earlier message of the thread"],
)
def test_a_reply_also_finds_its_ticket_by_reference_or_address(world, how):
    ticket = ticket_of_a(world, "Invoice wrong")
    if how == "subject":
        raw = email("member.a@alpha.test", subject=f"Re: [{ticket.reference}] Invoice wrong")
    elif how == "plus address":
        raw = email("member.a@alpha.test", to=f"support+{ticket.reference}@portal.test")
    else:  # a colleague answers the customer's first email, which opened the ticket
        first = email("admin.a@alpha.test", subject="Invoice 42")
        opened = email_receive(raw=first)
        ticket = Ticket.objects.get(pk=opened.ticket_id)
        first_id = parsed(first)["Message-ID"]
        raw = email(
            "member.a@alpha.test", subject="Re: Invoice 42", headers={"References": first_id}
        )
    received = email_receive(raw=raw)
    assert (received.outcome, received.ticket_id) == (InboundOutcome.REPLIED, ticket.pk)


def parsed(raw: bytes):
    return message_from_bytes(raw, policy=policy.default)


def test_a_reply_from_someone_who_may_not_see_the_ticket_is_never_appended(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    ticket = ticket_of_a(world, "Parcel missing")
    notification = staff_reply_mail(world, ticket, mailoutbox, django_capture_on_commit_callbacks)
    before = list(ticket.messages.values_list("pk", flat=True))
    # B's customer got hold of the thread (a forward) and answers it, reference and all.
    forged = email(
        "member.b@bravo.test",
        subject=f"Re: [{ticket.reference}] Parcel missing",
        to=f"support+{ticket.reference}@portal.test",
        headers={"In-Reply-To": notification["Message-ID"]},
    )
    received = email_receive(raw=forged)

    assert list(ticket.messages.values_list("pk", flat=True)) == before
    assert received.outcome == InboundOutcome.OPENED
    assert Ticket.objects.get(pk=received.ticket_id).organisation == world.org_b
    assert "may not see" in received.reason

    # A stranger's answer to the same thread is held, not appended and not a ticket.
    stranger = email("someone@elsewhere.test", headers={"In-Reply-To": notification["Message-ID"]})
    assert email_receive(raw=stranger).outcome == InboundOutcome.HELD
    assert list(ticket.messages.values_list("pk", flat=True)) == before


@pytest.mark.parametrize(
    ("sender", "headers"),
    [
        ("member.a@alpha.test", {"Auto-Submitted": "auto-replied"}),
        ("member.a@alpha.test", {"Precedence": "bulk"}),
        ("member.a@alpha.test", {"X-Autoreply": "yes"}),
        ("MAILER-DAEMON@alpha.test", {}),
        ("support@portal.test", {}),
    ],
    ids=["auto-submitted", "precedence", "x-autoreply", "bounce", "our own"],
)
def test_automatic_messages_open_nothing(world, sender, headers):
    received = email_receive(raw=email(sender, headers=headers))
    assert received.outcome == InboundOutcome.IGNORED
    assert not Ticket.objects.exists()


def test_our_own_notification_coming_back_opens_nothing(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    ticket = ticket_of_a(world, "Loop")
    notification = staff_reply_mail(world, ticket, mailoutbox, django_capture_on_commit_callbacks)
    received = email_receive(raw=notification.as_bytes())
    assert received.outcome == InboundOutcome.IGNORED
    assert ticket.messages.count() == 2


def test_the_same_message_twice_is_handled_once(world):
    raw = email("member.a@alpha.test")
    first, again = email_receive(raw=raw), email_receive(raw=raw)
    assert again.duplicate
    assert again.ticket_id == first.ticket_id
    assert Ticket.objects.count() == InboundEmail.objects.count() == 1


def test_a_sender_writing_too_often_is_rate_limited(world, settings):
    settings.INBOUND_EMAIL_PER_HOUR = 2
    outcomes = [email_receive(raw=email("member.a@alpha.test")).outcome for _ in range(3)]
    assert outcomes == [InboundOutcome.OPENED, InboundOutcome.OPENED, InboundOutcome.LIMITED]
    assert Ticket.objects.count() == 2


def test_who_cannot_be_placed_is_held_for_staff_never_guessed(world):
    MembershipFactory(user=world.member_a, organisation=world.org_b, role=MembershipRole.MEMBER)
    several = email_receive(raw=email("member.a@alpha.test"))
    staff = email_receive(raw=email("am.a@portal.test"))
    unknown = email_receive(raw=email("nobody@unknown.test"))
    assert [several.outcome, staff.outcome, unknown.outcome] == [InboundOutcome.HELD] * 3
    assert "several organisations" in several.reason
    assert not Ticket.objects.exists()
    assert InboundEmail.objects.filter(outcome=InboundOutcome.HELD).count() == 3


def test_a_refused_attachment_is_named_and_the_rest_lands(world):
    raw = email(
        "member.a@alpha.test",
        attachments=[
            ("note.pdf", PDF, "application", "pdf"),
            ("setup.exe", b"MZ\x90\x00", "application", "octet-stream"),
        ],
    )
    ticket = Ticket.objects.get(pk=email_receive(raw=raw).ticket_id)
    message = ticket.messages.get()
    assert [a.filename for a in message.attachments.all()] == ["note.pdf"]
    assert "“setup.exe”: files of this type are not accepted" in message.body


def test_a_reply_to_a_closed_ticket_opens_a_follow_up(world):
    ticket = ticket_of_a(world, "Old")
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.CLOSED)
    received = email_receive(raw=email("member.a@alpha.test", subject=f"Re: [{ticket.reference}]"))
    assert received.outcome == InboundOutcome.OPENED
    follow_up = Ticket.objects.get(pk=received.ticket_id)
    assert follow_up.pk != ticket.pk
    assert f"A follow-up to {ticket.reference}" in follow_up.messages.get().body


def test_receive_email_reads_one_message_from_stdin(world, monkeypatch, capsys):
    stdin = io.TextIOWrapper(io.BytesIO(email("member.a@alpha.test")))
    monkeypatch.setattr(sys, "stdin", stdin)
    call_command("receive_email")
    assert capsys.readouterr().out.startswith("opened (ticket ")
    assert Message.objects.get().ticket.source == Source.EMAIL


def test_staff_notifications_ask_for_no_reply_by_email(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_create(
            organisation=world.org_a, requester=world.member_a, subject="Hello",
            category="other", priority="normal", body="Hello",
        )  # fmt: skip
    to_am = [m for m in django_mail.outbox if m.to == [world.am_a.email]]
    assert to_am, "the AM is told of the new ticket"
    assert to_am[0].reply_to == []
    assert to_am[0].extra_headers["References"].startswith("<ticket-")


# --- Rating links in the resolved email ---------------------------------------------------------


def resolved_ticket(world, capture):
    ticket = ticket_of_a(world, "Wrong address")
    services.ticket_reply(ticket=ticket, author=world.am_a, body="Fixed.")
    with capture(execute=True):
        services.ticket_set_status(ticket=ticket, by=world.am_a, status=Status.RESOLVED)
    return ticket


def links_in(message) -> dict[int, str]:
    """The five rating links of the resolved email, by score, as paths."""
    found = re.findall(r"^\s+(\d)[^:]*: (http\S+)$", message.body, re.M)
    return {int(score): urlsplit(url).path for score, url in found}


def test_a_rating_link_rates_the_ticket_once_without_signing_in(
    world, client, mailoutbox, django_capture_on_commit_callbacks
):
    ticket = resolved_ticket(world, django_capture_on_commit_callbacks)
    (resolved_mail,) = [m for m in mailoutbox if "Resolved" in m.subject]
    links = links_in(resolved_mail)
    assert sorted(links) == [1, 2, 3, 4, 5]

    page = client.get(links[4])  # nobody signed in
    assert page.status_code == 200
    assert re.search(r'name="csat" value="4"[^>]*checked', page.content.decode())
    assert client.post(links[4], {"csat": 4}).status_code == 400  # the effort answer is needed
    assert client.post(links[4], {"csat": 4, "effort": 5}).status_code == 200
    ticket.refresh_from_db()
    assert (ticket.rating.csat, ticket.rating.effort) == (4, 5)
    assert ticket.rating.rated_by == world.member_a

    again = client.post(links[1], {"csat": 1, "effort": 1})  # single use: the rating stands
    assert "Already rated" in again.content.decode()
    ticket.rating.refresh_from_db()
    assert ticket.rating.csat == 4


def test_a_rating_link_stops_working_when_reopened_tampered_or_expired(
    world, client, mailoutbox, settings, django_capture_on_commit_callbacks
):
    ticket = resolved_ticket(world, django_capture_on_commit_callbacks)
    (resolved_mail,) = [m for m in mailoutbox if "Resolved" in m.subject]
    link = links_in(resolved_mail)[5]
    assert client.get(link[:-3] + "abc/").status_code == 404  # tampered
    settings.RATING_LINK_DAYS = -1
    assert client.get(link).status_code == 404  # expired
    settings.RATING_LINK_DAYS = 14
    services.ticket_reply(ticket=ticket, author=world.member_a, body="Not fixed after all.")
    assert client.get(link).status_code == 404  # reopened: that resolution is gone
    assert not hasattr(Ticket.objects.get(pk=ticket.pk), "rating")


def test_staff_open_a_held_email_for_the_organisation_they_choose(client, world):
    from django.urls import reverse

    MembershipFactory(user=world.member_a, organisation=world.org_b, role=MembershipRole.MEMBER)
    held = email_receive(raw=email("member.a@alpha.test", subject="Which of us?", body="Hi."))
    record = InboundEmail.objects.get()
    assert held.outcome == InboundOutcome.HELD
    client.force_login(world.admin)
    changelist = reverse("admin:tickets_inboundemail_changelist")
    chosen = {"action": "open_ticket", "_selected_action": [record.pk]}

    page = client.post(changelist, chosen)
    assert [o.name for o in page.context["organisations"]] == ["Alpha Clinic", "Bravo Hospital"]
    client.post(changelist, {**chosen, "organisation": world.org_b.pk})

    record.refresh_from_db()
    assert record.outcome == InboundOutcome.OPENED
    ticket = record.ticket
    assert (ticket.organisation, ticket.requester, ticket.source) == (
        world.org_b,
        world.member_a,
        Source.EMAIL,
    )
    assert ticket.messages.get().body == "Hi."
    client.post(changelist, {**chosen, "organisation": world.org_a.pk})  # handled already
    assert Ticket.objects.count() == 1


def test_the_sender_is_known_whatever_the_case_of_their_address(world):
    received = email_receive(raw=email("Member.A@Alpha.TEST"))
    assert received.outcome == InboundOutcome.OPENED
    assert Ticket.objects.get(pk=received.ticket_id).requester == world.member_a
