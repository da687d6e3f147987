"""Rules of email in that hold for any input (Hypothesis), not only the corpus's messages."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.mail import one_line
from tickets.inbound import email_receive
from tickets.mail_text import without_quote
from tickets.models import InboundEmail
from tickets.services import subject_normalise

CORPUS = Path(__file__).parent / "corpus"
MESSAGES = sorted(p for p in CORPUS.rglob("*.eml"))
WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=9)
LINES = st.lists(WORDS, min_size=2, max_size=8).map(" ".join)
TEXT = st.lists(LINES, min_size=1, max_size=6).map("\n".join)


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
