"""Rules of email in that hold for any input (Hypothesis), not only the corpus's messages."""

from email import policy
from email.message import Message
from email.parser import BytesParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.platform.mail import one_line
from tickets.inbound import email_receive
from tickets.mail_automatic import automatic_reason
from tickets.mail_text import without_quote
from tickets.models import InboundEmail
from tickets.services import subject_normalise

CORPUS = Path(__file__).parent / "corpus"
MESSAGES = sorted(p for p in CORPUS.rglob("*.eml"))
WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=9)
LINES = st.lists(WORDS, min_size=2, max_size=8).map(" ".join)
TEXT = st.lists(LINES, min_size=1, max_size=6).map("\n".join)
CUSTOMER = "member.a@alpha.test"


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(MESSAGES),
    cut=st.floats(min_value=0, max_value=1),
    noise=st.binary(max_size=64),
)
def test_any_damaged_real_message_is_kept_and_never_stops_the_reader(world, name, cut, noise):
    """A real message cut short, with random bytes put in, is handled or held: never an
    error for the mailbox reader, never lost."""
    raw = name.read_bytes()
    at = int(len(raw) * cut)
    damaged = raw[:at] + noise + raw[at : at + len(raw) // 2]
    before = InboundEmail.objects.count()

    received = email_receive(raw=damaged)

    assert received.outcome
    assert InboundEmail.objects.count() == before + (0 if received.duplicate else 1)


@pytest.mark.django_db
@given(st.text())
def test_a_subject_is_one_line_whatever_it_was(text):
    subject = subject_normalise(text)

    assert subject == subject_normalise(subject)
    assert all(character.isprintable() for character in subject)
    assert len(subject) <= 200
    assert one_line(text) == " ".join(one_line(text).split())


@given(new=TEXT, old=TEXT)
def test_a_top_posted_reply_keeps_what_was_written_and_drops_the_quote(new, old):
    quoted = "\n".join(f"> {line}" for line in old.split("\n"))
    text = f"{new}\n\nOn Mon, 3 Mar 2025 at 10:00, Alice <alice@example.com> wrote:\n{quoted}"

    kept = without_quote(text)

    assert " ".join(new.split()) in " ".join(kept.split())
    assert "> " not in kept


@given(new=TEXT, old=TEXT)
def test_a_bottom_posted_reply_keeps_the_answer_below_the_quote(new, old):
    quoted = "\n".join(f"> {line}" for line in old.split("\n"))
    text = f"Hi,\nOn Mon, Alice <alice@example.com> wrote:\n{quoted}\n\n{new}"

    kept = without_quote(text)

    assert " ".join(new.split()) in " ".join(kept.split())


# --- A delivery failure written as plain text (tickets/mail_automatic.py, rule 8) ---------------

INTROS = st.sampled_from(
    [
        "Error: Invalid user address",
        "This is the mail system at host mx.example.net.",
        "I'm sorry to have to inform you that your message could not be delivered.",
        "Your message could not be delivered to one or more recipients.",
        "Delivery to the following recipients failed.",
        "Hi. This is the qmail-send program at mail.example.net.",
        "The following addresses had permanent fatal errors",
        "Message was not delivered: user unknown",
    ]
)
ADDRESSES = st.builds("{}@{}.example".format, WORDS, WORDS)
RECIPIENT_LINES = st.tuples(
    st.sampled_from(["{}", "<{}>", "<{}>:", "RCPT TO: {}", "  Recipient: <{}>", "{}:"]), ADDRESSES
).map(lambda pair: pair[0].format(pair[1]))
STATUSES = st.sampled_from(
    [
        "550 - Requested action not taken: no such user here",
        "550 5.1.1 User unknown",
        "    (reason: 550 5.1.1 unknown user)",
        "Remote host said: 554 delivery error",
        "Diagnostic-Code: smtp; 552 mailbox full",
        "#5.1.1 SMTP; 550 Requested action not taken",
        "452 4.2.2 Over quota, will retry",
    ]
)


def plain_mail(body: str, subject: str = "Re: your message") -> Message:
    head = f"From: {CUSTOMER}\r\nSubject: {subject}\r\nContent-Type: text/plain\r\n\r\n"
    return BytesParser(policy=policy.default).parsebytes((head + body).encode())


@given(
    intro=INTROS,
    filler=st.lists(LINES, max_size=3),
    recipient=RECIPIENT_LINES,
    status=STATUSES,
    after=TEXT,
    order=st.booleans(),
)
def test_a_plain_text_delivery_failure_is_automatic(intro, filler, recipient, status, after, order):
    """Any arrangement of an MTA's intro, the recipient's line and an SMTP status, with other
    lines around them, is a delivery failure, whoever the From claims to be."""
    middle = [recipient, status] if order else [status, recipient]
    body = "\n".join([intro, "", *filler, *middle, "", after])

    assert automatic_reason(plain_mail(body), CUSTOMER, "Re: your message")


@given(
    intro=INTROS,
    recipient=RECIPIENT_LINES,
    status=STATUSES,
    note=TEXT,
    how=st.sampled_from(["quoted", "forwarded", "fwd subject", "prose"]),
)
def test_a_person_passing_on_or_describing_a_bounce_is_heard(intro, recipient, status, note, how):
    """The same parts quoted, below a forward marker, in a "Fwd:" message, or told in a
    sentence, are a person's message."""
    bounce = "\n".join([intro, recipient, status])
    subject = "Re: your message"
    if how == "quoted":
        body = note + "\n\n" + "\n".join("> " + line for line in bounce.split("\n"))
    elif how == "forwarded":
        body = note + "\n\n---------- Forwarded message ---------\n" + bounce
    elif how == "fwd subject":
        body, subject = bounce + "\n\n" + note, "Fwd: Returned mail"
    else:
        body = f"{note}\nMy mail to {recipient.strip(' <>:')} bounced with {status.strip()}."
    assert not automatic_reason(plain_mail(body, subject), CUSTOMER, subject)
