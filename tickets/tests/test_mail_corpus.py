"""The vendored sample of real mail (tickets/tests/corpus/LIST.tsv) through receive_email
and through the IMAP reader, as scripts/mail_corpus.py reports it: all zeros.

Each message goes in as sent, as a known customer's vouched-for mail, and as that
customer's forged mail; then the customer's versions of a sample go through Dovecot.
"""

import importlib.util
import os
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "mail_corpus.py"
ZEROS = {
    "permanent failures retried": 0,
    "crashes": 0,
    "automatic messages opening or joining tickets": 0,
    "human messages dropped": 0,
    "forged messages acting as the customer": 0,
    "texts lost": 0,
    "messages stuck in the mailbox": 0,
}
# One IMAP mailbox for the whole suite: its tests run in one process (`make test`'s
# `--dist loadgroup`), one after another.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mailbox")]


@pytest.fixture
def corpus(settings):
    settings.INBOUND_EMAIL_PER_HOUR = 10**6  # one sender, many messages
    spec = importlib.util.spec_from_file_location("mail_corpus", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("mail_corpus", module)  # its dataclasses look themselves up
    spec.loader.exec_module(module)
    return module


def test_the_vendored_corpus_through_receive_email_reports_all_zeros(world, corpus):
    found = corpus.samples([corpus.CORPUS])
    assert len(found) >= 70

    report = corpus.run(found, world.member_a.email)

    assert report.failures() == ZEROS, report.text()
    kept = " ".join(report.texts_kept)
    for case in (
        "django-helpdesk/forwarded-message.eml",  # forwarded content
        "django-helpdesk/utf-nondecodable.eml",
        "email_reply_parser/email_1_2.txt",  # bottom-posted
        "talon/windows_mail.html",  # HTML-only, history in another language
    ):
        assert f"{case} (customer)" in kept, report.text()


def test_a_sample_through_the_imap_reader_leaves_nothing_stuck(world, corpus, settings):
    url = os.environ.get("TEST_MAILBOX_URL")
    if not url:
        pytest.fail("TEST_MAILBOX_URL is not set: run through `make test` (it starts Dovecot).")
    wanted = {
        "mail-parser/mail_malformed_3.eml",  # as_bytes() raised on it: stopped the mailbox
        "mail-parser/mail_malformed_1.eml",
        "mail-parser/mail_outlook_1.eml",
        "sisimai/rhost-nttdocomo-01.eml",
        "sisimai/lhost-kddi-01.eml",
        "django-helpdesk/utf-nondecodable.eml",
        "talon/gmail.html",
    }
    found = [sample for sample in corpus.samples([corpus.CORPUS]) if sample.name in wanted]
    assert len(found) == len(wanted)

    assert corpus.mailbox_run(found, url, world.member_a.email) == 0
