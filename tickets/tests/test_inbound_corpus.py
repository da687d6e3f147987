"""Issue 25's defects, each on real messages from other projects' test suites.

The messages are in tickets/tests/corpus/ (LIST.tsv says what each one is, and each
project's licence is beside its files). `as_customer` rewrites one to come from a known
customer, with our receiving server's Authentication-Results, as scripts/mail_corpus.py
does for the whole corpus.
"""

import io
import re
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from tickets import services
from tickets.choices import InboundOutcome
from tickets.inbound import email_receive, inbound_raw_purge
from tickets.models import InboundEmail, Ticket
from tickets.tests.test_inbound import email, ticket_of_a

CORPUS = Path(__file__).parent / "corpus"
CUSTOMER = "member.a@alpha.test"


def real(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def as_customer(raw: bytes, *, vouched: bool = True, headers: dict | None = None) -> bytes:
    """The message as if member A of Alpha wrote it (scripts/mail_corpus.py's rewrite)."""
    sys.path.insert(0, str(CORPUS.parents[2] / "scripts"))
    from mail_corpus import rewritten

    raw = rewritten(raw, CUSTOMER, vouched=vouched)
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    return extra.encode() + raw


def text_message(name: str, subject: str = "Re: Riak") -> bytes:
    """A bare text body from a corpus (email_reply_parser's) as a message."""
    head = f"Subject: {subject}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    return head.encode() + real(name)


def receive_command(raw: bytes) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    stdin, sys.stdin = sys.stdin, io.TextIOWrapper(io.BytesIO(raw))
    try:
        call_command("receive_email", stdout=out, stderr=err)
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    finally:
        sys.stdin = stdin
    return status, out.getvalue() + err.getvalue()


def body_of(received) -> str:
    return Ticket.objects.get(pk=received.ticket_id).messages.order_by("pk").last().body


# --- 1. A poisoned message never stops the mailbox ------------------------------------------------


def test_mail_parser_malformed_3_is_handled_from_its_raw_bytes(world):
    raw = as_customer(real("mail-parser/mail_malformed_3.eml"))

    received = email_receive(raw=raw)

    assert received.outcome == InboundOutcome.OPENED
    record = InboundEmail.objects.get()
    assert record.raw.read() == raw  # kept exactly as received, never re-serialised


# --- 2. Permanent failures are held, transient ones retried ---------------------------------------


def test_a_nul_byte_in_a_real_message_is_not_a_failure_retried(world):
    raw = as_customer(real("django-helpdesk/quoted_printable.eml"))
    raw = raw.replace(b"Tohle je test", b"Tohle=00 je test")

    status, output = receive_command(raw)

    assert status == 0, output
    assert "\x00" not in Ticket.objects.get().messages.get().body


def test_an_over_long_sender_is_held_not_retried(world):
    raw = real("mail-parser/mail_test_18.eml")
    raw = re.sub(rb"^From:.*$", b"From: " + b"x" * 300 + b"@alpha.test", raw, count=1, flags=re.M)

    status, output = receive_command(raw)

    assert status == 0, output
    assert InboundEmail.objects.get().outcome == InboundOutcome.HELD


def test_a_database_refusal_holds_the_message_with_its_bytes_and_the_error(world):
    if connection.vendor != "postgresql":
        pytest.skip("adds a CHECK constraint with PostgreSQL's ALTER TABLE")
    raw = as_customer(real("django-helpdesk/quoted_printable.eml"))
    with connection.cursor() as cursor:  # a real permanent refusal, by the database itself
        cursor.execute(
            "ALTER TABLE tickets_message ADD CONSTRAINT no_czech CHECK (body NOT LIKE '%Tohle%')"
        )

    status, output = receive_command(raw)

    assert status == 0, output
    record = InboundEmail.objects.get()
    assert record.outcome == InboundOutcome.HELD
    assert "IntegrityError" in record.reason
    assert "no_czech" in record.error
    assert record.raw.read() == raw
    assert not Ticket.objects.exists()
    assert receive_command(raw)[0] == 0  # delivered again: still held once, no retry loop
    assert InboundEmail.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_database_that_cannot_answer_now_is_a_transient_failure(world):
    import psycopg
    from django.conf import settings

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's lock_timeout")
    raw = as_customer(real("talon/gmail.eml"))
    database = settings.DATABASES["default"]
    other = psycopg.connect(
        host=database["HOST"], port=database["PORT"], user=database["USER"],
        password=database["PASSWORD"], dbname=connection.settings_dict["NAME"],
    )  # fmt: skip
    with other, other.cursor() as cursor:
        cursor.execute("LOCK TABLE tickets_inboundemail IN ACCESS EXCLUSIVE MODE")
        with connection.cursor() as ours:
            ours.execute("SET lock_timeout = '200ms'")
        status, output = receive_command(raw)
        other.rollback()
    with connection.cursor() as ours:
        ours.execute("SET lock_timeout = 0")

    assert status == 75, output
    assert receive_command(raw)[0] == 0  # the MTA's retry, once the database answers
    assert InboundEmail.objects.get().outcome == InboundOutcome.OPENED


# --- The raw message, kept for staff for a while --------------------------------------------------


def test_the_raw_message_is_kept_with_the_ticket_message_for_staff_only(world, client):
    raw = as_customer(real("talon/gmail.eml"))
    received = email_receive(raw=raw)
    message = Ticket.objects.get(pk=received.ticket_id).messages.get()
    url = f"/tickets/emails/{message.email.pk}/original.eml"

    client.force_login(world.am_a)
    page = client.get(f"/tickets/{received.ticket_id}/").content.decode()
    assert f'href="{url}"' in page  # linked from the message on the ticket page
    download = client.get(url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == raw
    client.force_login(world.member_a)  # the customer who sent it: staff only
    assert client.get(url).status_code == 404
    assert url not in client.get(f"/tickets/{received.ticket_id}/").content.decode()
    client.force_login(world.am_b)  # staff who may not see the ticket
    assert client.get(url).status_code == 404


def test_raw_messages_older_than_the_retention_are_deleted(world, settings):
    settings.INBOUND_EMAIL_RAW_DAYS = 30
    old = email_receive(raw=as_customer(real("talon/gmail.eml")))
    new = email_receive(raw=as_customer(real("talon/yahoo.eml")))
    InboundEmail.objects.filter(ticket_id=old.ticket_id).update(
        received_at=timezone.now() - timedelta(days=31)
    )
    old_file = InboundEmail.objects.get(ticket_id=old.ticket_id).raw

    assert inbound_raw_purge() == {"deleted": 1}

    assert not InboundEmail.objects.get(ticket_id=old.ticket_id).raw
    assert not old_file.storage.exists(old_file.name)
    assert InboundEmail.objects.get(ticket_id=new.ticket_id).raw


def test_a_message_over_the_size_limit_is_refused_with_a_clear_answer(
    world, settings, mailoutbox, django_capture_on_commit_callbacks
):
    raw = as_customer(real("mail-parser/mail_malformed_1.eml"))  # 119 kB, an image in it
    settings.INBOUND_EMAIL_MAX_BYTES = 50_000

    status, output = receive_command(raw)
    assert status == 65
    assert "larger than the 48.8\xa0KB we accept" in output  # the MTA returns it to the sender

    with django_capture_on_commit_callbacks(execute=True):  # read over IMAP: answered by mail
        received = email_receive(raw=as_customer(real("mail-parser/mail_malformed_1.eml")))
    assert received.outcome == InboundOutcome.REFUSED
    (answer,) = [m for m in mailoutbox if m.to == [CUSTOMER]]
    assert "accepts emails up to 48.8" in answer.body
    assert not Ticket.objects.exists()


# --- 3. The text that matters ---------------------------------------------------------------------


def test_helpdesk_forwarded_message_keeps_the_forwarded_content(world):
    received = email_receive(raw=as_customer(real("django-helpdesk/forwarded-message.eml")))

    body = body_of(received)
    assert body.startswith("This is email body")
    assert "your application accessed the GitHub API with a token" in body


def test_helpdesk_utf_nondecodable_keeps_the_forwarded_czech_text(world):
    received = email_receive(raw=as_customer(real("django-helpdesk/utf-nondecodable.eml")))

    body = body_of(received)
    assert "podle domluvy bych Tě poprosila o změnu vyhodnocení" in body
    assert "Nikola <nikola@example.cz>" in body


def test_email_reply_parser_bottom_posted_1_2_keeps_the_answer(world):
    received = email_receive(raw=as_customer(text_message("email_reply_parser/email_1_2.txt")))

    body = body_of(received)
    assert "You can list the keys for the bucket and call delete for each" in body
    assert "would do it." in body
    assert "What is the best way to clear a Riak bucket" not in body  # the quote


@pytest.mark.parametrize(
    "name",
    ["gmail", "hotmail", "mail_ru", "ms_outlook_2003", "ms_outlook_2007", "ms_outlook_2010",
     "thunderbird", "windows_mail", "yandex_ru"],
)  # fmt: skip
def test_talon_html_only_replies_become_readable_text_without_their_history(world, name):
    html = real(f"talon/{name}.html")
    head = b"Subject: Re: Test message\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"

    received = email_receive(raw=as_customer(head + html))

    body = body_of(received)
    assert body.startswith("Hi. I am fine.")
    assert "How are you?" not in body
    assert "&nbsp;" not in body
    assert "<" not in body.replace("<abc@", "")


def test_a_narrower_charset_label_is_not_rows_of_replacement_characters(world):
    raw = real("django-helpdesk/all-special-chars.eml").replace(
        b"charset=utf-8", b"charset=us-ascii"
    )

    received = email_receive(raw=as_customer(raw))

    assert body_of(received) == "íářčšáíéřášč"


def test_a_wrong_charset_label_is_detected_before_any_replacement(world):
    raw = as_customer(real("mail-parser/mail_test_12.eml"))  # GB2312 Chinese, labelled so
    raw = re.sub(rb"charset=\"?[Gg][Bb]2312\"?", b"charset=utf-8", raw)

    received = email_receive(raw=raw)

    body = body_of(received)
    assert "\ufffd" not in body
    assert "发票" in body


def test_an_8_mb_text_mail_is_read_in_linear_time(world):
    """The reply parser is not used past PARSER_LIMIT (it is super-linear); the line rule
    keeps the new text and drops the ">" lines. (Timing: scripts/bench.py inbound_large.)"""
    line = "> an old line of the quoted history that goes on and on and on\n"
    body = "The new text.\n\nOn Mon, Alice wrote:\n" + line * (8 * 1024 * 1024 // len(line))
    raw = email(CUSTOMER, subject="Re: Big", body=body)

    received = email_receive(raw=raw)

    assert body_of(received) == "The new text."


# --- 4. Automatic mail, by structure and headers --------------------------------------------------


AUTOMATIC = [
    "sisimai/rfc3834-01.eml", "sisimai/rfc3834-03.eml", "sisimai/arf-01.eml",
    "sisimai/rfc3464-01.eml", "sisimai/lhost-exchange2003-01.eml",
    "sisimai/lhost-office365-01.eml", "sisimai/lhost-qmail-01.eml", "sisimai/lhost-exim-01.eml",
    "sisimai/lhost-ezweb-01.eml", "sisimai/lhost-kddi-01.eml", "sisimai/rhost-nttdocomo-01.eml",
    "mail-parser/mail_malformed_2.eml",
]  # fmt: skip


@pytest.mark.parametrize("name", AUTOMATIC)
def test_a_bounce_or_auto_reply_from_a_customers_address_opens_nothing(world, name):
    received = email_receive(raw=as_customer(real(name)))

    assert received.outcome == InboundOutcome.IGNORED
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    "header",
    [
        ("Return-Path", "<>"),
        ("X-Failed-Recipients", "someone@alpha.test"),
        ("Auto-Submitted", "auto-generated"),
        ("List-Id", "<customers.lists.alpha.test>"),
        ("List-Unsubscribe", "<mailto:leave@alpha.test>"),
        ("Precedence", "bulk"),
        ("X-MS-Exchange-Inbox-Rules-Loop", CUSTOMER),
        ("X-Auto-Response-Suppress", "All"),
        ("X-MS-Exchange-Generated-Message-Source", "Mailbox Rules Agent"),
        ("X-Autoreply", "yes"),
        ("X-Autorespond", "Out of office"),
    ],
)
def test_automatic_mail_is_known_by_its_headers(world, header):
    raw = as_customer(real("talon/gmail.eml"), headers=dict([header]))

    received = email_receive(raw=raw)

    assert received.outcome == InboundOutcome.IGNORED
    assert header[0] in received.reason or "Return-Path" in received.reason


def test_a_persons_mail_in_a_bounce_set_is_still_a_persons(world):
    for name in ("sisimai/is-not-bounce-01.eml", "sisimai/is-not-bounce-02.eml"):
        assert email_receive(raw=as_customer(real(name))).outcome == InboundOutcome.OPENED


@pytest.mark.parametrize(
    "name",
    [
        "sisimai/lhost-apachejames-01.eml",  # "Error: Invalid user address ... 550 - ..."
        "sisimai/lhost-verizon-02.eml",  # the same, inside a multipart the parser cannot split
    ],
)
def test_a_plain_text_bounce_from_a_customers_address_is_known_by_its_text(world, name):
    """No report part, and once From is the customer's no header tells: its text does."""
    received = email_receive(raw=as_customer(real(name)))

    assert received.outcome == InboundOutcome.IGNORED
    assert "delivery failure report" in received.reason
    assert not Ticket.objects.exists()


def test_a_bounce_a_person_forwards_with_a_note_opens_a_ticket(world):
    received = email_receive(raw=as_customer(real("sisimai/lhost-sendmail-14.eml")))

    assert received.outcome == InboundOutcome.OPENED
    assert "Forward the message." in body_of(received)


# --- 6. Smaller -----------------------------------------------------------------------------------


def test_only_our_exact_reference_threads_a_reply(world):
    ticket = ticket_of_a(world, "Parcel missing")
    short = f"T-{ticket.pk}"  # "T-1", not our "T-000001"
    loose = email_receive(raw=email(CUSTOMER, subject=f"Re: about {short}", body="New question"))
    exact = email_receive(raw=email(CUSTOMER, subject=f"Re: [{ticket.reference}]", body="More"))

    assert loose.outcome == InboundOutcome.OPENED
    assert loose.ticket_id != ticket.pk
    assert (exact.outcome, exact.ticket_id) == (InboundOutcome.REPLIED, ticket.pk)


def test_a_reused_message_id_with_other_content_is_held_not_dropped(world):
    first = as_customer(real("talon/gmail.eml"))
    message_id = re.search(rb"^Message-ID: (.*)$", first, re.M).group(1).strip()
    other = re.sub(rb"^Message-ID: .*$", b"Message-ID: " + message_id, as_customer(
        real("talon/yahoo.eml")), count=1, flags=re.M)  # fmt: skip

    assert email_receive(raw=first).outcome == InboundOutcome.OPENED
    assert email_receive(raw=first).duplicate  # the same message again: handled once
    second = email_receive(raw=other)

    assert second.outcome == InboundOutcome.HELD
    assert "Message-ID" in second.reason
    assert InboundEmail.objects.filter(outcome=InboundOutcome.HELD).get().raw.read() == other


def test_the_files_in_a_winmail_dat_are_taken_out(world):
    tnef = real("tnefparse/long-filename.tnef")  # Outlook's TNEF, one file inside
    raw = email(CUSTOMER, body="See the attached.",
                attachments=[("winmail.dat", tnef, "application", "ms-tnef")])  # fmt: skip

    received = email_receive(raw=raw)

    body = body_of(received)  # .dat is no type we accept: named, as any refused file
    assert "“allproductsmar2000.dat”: files of this type are not accepted" in body
    assert "winmail.dat" not in body


def test_files_inside_a_signed_message_are_kept(world):
    signed = real("django-helpdesk/pgp.eml")  # PGP/MIME: multipart/signed around the content
    pdf = (
        b"--ckOQ1U5bPjO3W1sVnjdBaEigXBiwem2Rn\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="label.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQgYSBsYWJlbA==\r\n"
    )
    raw = signed.replace(
        b"--ckOQ1U5bPjO3W1sVnjdBaEigXBiwem2Rn--", pdf + b"--ckOQ1U5bPjO3W1sVnjdBaEigXBiwem2Rn--"
    )

    received = email_receive(raw=as_customer(raw))

    names = (
        Ticket.objects.get(pk=received.ticket_id)
        .messages.get()
        .attachments.values_list("filename", flat=True)
    )
    assert list(names) == ["label.pdf"]  # the file, not the signature


def test_an_inline_image_without_a_name_gets_one(world):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    raw = email(CUSTOMER, body="Screenshot below.")
    raw = raw.replace(b"Content-Type: text/plain", b"Content-Type: text/plain", 1)
    from email import message_from_bytes, policy

    message = message_from_bytes(raw, policy=policy.default)
    message.add_related(png, maintype="image", subtype="png", cid="<shot@x>")
    received = email_receive(raw=as_customer(message.as_bytes()))

    names = (
        Ticket.objects.get(pk=received.ticket_id)
        .messages.get()
        .attachments.values_list("filename", flat=True)
    )
    assert list(names) == ["image-1.png"]


def test_a_long_file_name_keeps_its_extension(world):
    name = "Delivery note for the order of " + "x" * 220 + ".pdf"
    raw = email(CUSTOMER, attachments=[(name, b"%PDF-1.4 note", "application", "pdf")])

    received = email_receive(raw=as_customer(raw))

    (kept,) = Ticket.objects.get(pk=received.ticket_id).messages.get().attachments.all()
    assert kept.filename.endswith(".pdf")
    assert len(kept.filename) <= 200


def test_a_reply_to_a_ticket_by_email_keeps_its_raw_message_on_the_reply(world):
    ticket = ticket_of_a(world, "Parcel missing")
    raw = as_customer(text_message("email_reply_parser/email_1_2.txt", f"Re: [{ticket.reference}]"))

    received = email_receive(raw=raw)

    reply = ticket.messages.order_by("pk").last()
    assert received.outcome == InboundOutcome.REPLIED
    assert reply.email.raw.read() == raw
    services.ticket_reply(ticket=ticket, author=world.am_a, body="Thanks")  # still a thread
