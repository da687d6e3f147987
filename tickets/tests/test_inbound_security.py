"""Who an email may act as, and headers that anyone can write (issue 25's security part).

The From header is not proof: only the receiving server's Authentication-Results, from
an authserv-id in INBOUND_EMAIL_AUTHSERV_IDS, lets a message act as its sender.
"""

import threading
from email.header import Header

import pytest
from django.db import connection

from accounts.platform.mail import Mail, mail_send
from tickets import notifications, services
from tickets.choices import InboundOutcome
from tickets.inbound import email_receive
from tickets.models import InboundEmail, Rating, Ticket
from tickets.tests.test_inbound import email, staff_reply_mail, ticket_of_a

ALICE = "member.a@alpha.test"


def results(value: str) -> dict:
    return {"Authentication-Results": value}


def test_a_forged_reply_from_a_customer_is_held_never_appended_to_her_ticket(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    ticket = ticket_of_a(world, "Parcel missing")
    notification = staff_reply_mail(world, ticket, mailoutbox, django_capture_on_commit_callbacks)
    forged = email(
        ALICE,
        subject="Re: Parcel missing",
        body="Please send the refund to IBAN XX00 0000.",
        headers={"In-Reply-To": notification["Message-ID"]},
        authenticated=False,
    )

    received = email_receive(raw=forged)

    assert received.outcome == InboundOutcome.HELD
    assert "forged" in received.reason
    assert "IBAN" not in "".join(ticket.messages.values_list("body", flat=True))
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize(
    "header",
    [
        # Written by the sender, not by our server: another authserv-id.
        "mx.attacker.test; dmarc=pass header.from=alpha.test",
        # Ours, but DKIM signed by another domain, SPF for another envelope.
        "mx.portal.test; dkim=pass header.d=attacker.test; spf=pass smtp.mailfrom=x@attacker.test",
        # Ours: DKIM aligned, but DMARC says fail (the policy's verdict wins).
        "mx.portal.test; dkim=pass header.d=alpha.test; dmarc=fail header.from=alpha.test",
        "mx.portal.test; dkim=fail header.d=alpha.test; spf=softfail smtp.mailfrom=alpha.test",
        "mx.portal.test; none",
        "this is not an authentication-results header at all",
    ],
)
def test_mail_is_not_proven_unless_our_server_vouches_for_the_from(world, header):
    raw = email(ALICE, headers=results(header), authenticated=False)

    received = email_receive(raw=raw)

    assert received.outcome == InboundOutcome.HELD
    assert not InboundEmail.objects.get().authenticated


@pytest.mark.parametrize(
    "header",
    [
        "mx.portal.test; dmarc=pass (p=reject) header.from=alpha.test",
        "MX.Portal.Test; dkim=pass header.i=@mail.alpha.test header.s=s1",  # a subdomain signs
        "mx.portal.test; spf=pass smtp.mailfrom=bounces@alpha.test",
    ],
)
def test_dmarc_or_aligned_dkim_or_spf_lets_the_from_act_as_that_person(world, header):
    received = email_receive(raw=email(ALICE, headers=results(header), authenticated=False))

    assert received.outcome == InboundOutcome.OPENED
    assert Ticket.objects.get().requester == world.member_a


def test_forged_mail_never_spends_the_real_senders_hourly_limit(world, settings):
    settings.INBOUND_EMAIL_PER_HOUR = 3
    outcomes = [
        email_receive(raw=email(ALICE, subject=f"Spam {n}", authenticated=False)).outcome
        for n in range(6)
    ]
    assert outcomes == [InboundOutcome.HELD] * 3 + [InboundOutcome.LIMITED] * 3

    real = email_receive(raw=email(ALICE, subject="My real question"))

    assert real.outcome == InboundOutcome.OPENED
    assert Ticket.objects.get().subject == "My real question"


def test_ignored_automatic_mail_does_not_count_toward_the_limit(world, settings):
    settings.INBOUND_EMAIL_PER_HOUR = 2
    for n in range(5):
        auto = {"Auto-Submitted": "auto-replied"}
        away = email(ALICE, subject=f"Out of office {n}", headers=auto)
        assert email_receive(raw=away).outcome == InboundOutcome.IGNORED

    assert email_receive(raw=email(ALICE)).outcome == InboundOutcome.OPENED


@pytest.mark.parametrize(
    "subject", ["Parcel\r\nmissing", "Parcel\nBcc: x@evil.test", "A\u2028B\tC"]
)
def test_a_subject_is_on_one_line_from_the_form_the_api_and_email(world, client, subject):
    client.force_login(world.member_a)
    client.post(
        "/tickets/new/",
        {"subject": subject, "category": "delivery", "priority": "normal", "body": "Hi"},
    )
    client.post(
        "/api/v1/tickets/",
        {"organisation": world.org_a.pk, "subject": subject, "category": "delivery",
         "priority": "normal", "body": "Hi"},
        content_type="application/json",
    )  # fmt: skip
    encoded = Header(subject, "utf-8").encode().encode()  # =?utf-8?b?...?=: the break survives
    message = email(ALICE, subject="x")
    email_receive(raw=message.replace(b"Subject: x", b"Subject: " + encoded))

    subjects = list(Ticket.objects.values_list("subject", flat=True))
    assert len(subjects) == 3
    for stored in subjects:
        assert stored == " ".join(stored.split())
        assert stored.startswith(("Parcel", "A"))


def test_a_ticket_whose_subject_has_a_line_break_still_gets_its_emails(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    ticket = ticket_of_a(world, "Parcel missing")
    Ticket.objects.filter(pk=ticket.pk).update(subject="Parcel\r\nmissing")  # written before
    ticket.refresh_from_db()

    sent = staff_reply_mail(world, ticket, mailoutbox, django_capture_on_commit_callbacks)

    assert sent["Subject"] == f"[{ticket.reference}] Parcel missing"


def test_one_bad_ticket_never_stops_the_batch_of_sla_warnings(world, mailoutbox):
    bad = ticket_of_a(world, "Broken")
    good = ticket_of_a(world, "Fine")
    Ticket.objects.filter(pk=bad.pk).update(subject="Broken\nsubject", assignee=world.am_a)
    Ticket.objects.filter(pk=good.pk).update(assignee=world.am_a)
    mailoutbox.clear()

    notifications.sla_warnings_notify(tickets=Ticket.objects.order_by("pk"))

    subjects = sorted(m.subject for m in mailoutbox)
    assert any("Fine" in s for s in subjects)
    assert any("Broken subject" in s for s in subjects)


def test_composing_mail_never_raises_on_a_header(db, mailoutbox):
    summary = mail_send(
        [
            Mail(key="t:1", to="a@x.test", subject="one\r\ntwo", body="b",
                 headers=(("References", "<a@b>\r\nBcc: evil@x.test"),)),
            Mail(key="t:2", to="b@x.test", subject="fine", body="b"),
        ]
    )  # fmt: skip

    assert summary["sent"] == 2
    first = mailoutbox[0].message()
    assert first["Subject"] == "one two"
    assert first["Bcc"] is None


@pytest.mark.django_db(transaction=True)
def test_a_rating_link_used_twice_at_the_same_moment_rates_once(world):
    ticket = ticket_of_a(world, "Parcel missing")
    services.ticket_set_status(ticket=ticket, by=world.member_a, status="resolved")
    barrier = threading.Barrier(2)
    answers = []

    def rate(score):
        barrier.wait()
        try:
            services.ticket_rate(
                ticket=ticket, by=world.member_a, csat=score, effort=score, only_first=True
            )
            answers.append(score)
        except Exception as error:  # the loser's error is what we check
            answers.append(type(error).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=rate, args=(score,)) for score in (1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    rating = Rating.objects.get(ticket=ticket)
    assert sorted(map(str, answers)) == sorted([str(rating.csat), "ValidationError"])


def test_staff_who_see_the_ticket_add_a_held_unproven_reply_once_and_it_is_audited(
    world, client, mailoutbox, django_capture_on_commit_callbacks
):
    from django.contrib.auth.models import Permission
    from django.urls import reverse

    from accounts.choices import AuditAction
    from accounts.models import AuditEvent

    ticket = ticket_of_a(world, "Parcel missing")
    notification = staff_reply_mail(world, ticket, mailoutbox, django_capture_on_commit_callbacks)
    unproven = email(
        ALICE,
        subject="Re: Parcel missing",
        body="It came today, thank you.",
        headers={"In-Reply-To": notification["Message-ID"]},
        attachments=[("receipt.pdf", b"%PDF-1.4 receipt", "application", "pdf")],
        authenticated=False,
    )
    held = email_receive(raw=unproven)
    record = InboundEmail.objects.get()
    assert (held.outcome, record.ticket) == (InboundOutcome.HELD, ticket)
    assert ticket.reference in record.reason
    changelist = reverse("admin:tickets_inboundemail_changelist")
    chosen = {"action": "add_to_ticket", "_selected_action": [record.pk]}
    before = ticket.messages.count()

    # Bravo's account manager may use the admin, but may not see Alpha's ticket.
    world.am_b.is_staff = True
    world.am_b.save()
    world.am_b.user_permissions.add(Permission.objects.get(codename="view_inboundemail"))
    client.force_login(world.am_b)
    page = client.post(changelist, chosen, follow=True)
    assert "Not added: You may not see the ticket" in page.content.decode()
    record.refresh_from_db()
    assert record.outcome == InboundOutcome.HELD
    assert ticket.messages.count() == before

    client.force_login(world.admin)
    client.post(changelist, chosen)
    client.post(changelist, chosen)  # handled already: not twice

    record.refresh_from_db()
    reply = ticket.messages.order_by("pk").last()
    assert ticket.messages.count() == before + 1
    assert (reply.author, reply.body) == (world.member_a, "It came today, thank you.")
    assert [file.filename for file in reply.attachments.all()] == ["receipt.pdf"]
    assert (record.outcome, record.ticket_message) == (InboundOutcome.REPLIED, reply)
    event = AuditEvent.objects.get(
        action=AuditAction.RECORD_CHANGED, detail__model="tickets.inboundemail"
    )
    assert event.actor == world.admin
    assert (event.organisation, event.detail["pk"]) == (world.org_a, record.pk)
