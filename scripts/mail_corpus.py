"""Real email from other projects' test suites through `manage.py receive_email`.

Each message goes in three times: as sent; rewritten to come from a known customer whose
mail the receiving server vouched for (an Authentication-Results header of a trusted
authserv-id); and rewritten to come from that customer without it (a forgery, as far as
anyone can tell). The report counts what must never happen:

- permanent failures retried: `receive_email` answered 75 (try again) while the
  database was up, so the MTA would retry a message that can never pass;
- crashes: any other error out of the command (a mailbox reader would be stuck on it);
- automatic messages in tickets: a bounce, report or auto-reply that opened or joined one;
- human messages dropped: a person's vouched-for message that opened no ticket (ignored,
  limited, refused or held);
- forged messages acting: an unvouched message that opened or joined a ticket;
- texts lost: a message whose ticket lacks the text its list entry says must be kept
  (forwarded content, bottom-posted answers, HTML replies, charsets).

Which message is automatic or human, and what text must be kept, comes from the corpus
list (tickets/tests/corpus/LIST.tsv); messages outside it take their kind from their
folder (sisimai's bounce sets are automatic, its `not/` folder and every other project's
messages human), but for the few files whose own headers say otherwise (a person's
forwarded bounce; newsletters, spam and a bounce outside the bounce sets), listed below.
tickets/tests/test_mail_corpus.py runs the vendored sample and asserts all zeros; run it
by hand on a whole checkout of the projects through scripts/with-services.sh:

    scripts/with-services.sh .venv/bin/python scripts/mail_corpus.py [DIR ...]

(DIR: folders of .eml, .txt or .html files; default: the vendored corpus.)
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import make_msgid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tickets" / "tests" / "corpus"
AUTHSERV_ID = "mx.portal.test"
EXTENSIONS = {".eml", ".txt", ".html", ""}
# Rewritten to come from the customer: who wrote it, its id, and what vouches for it. The
# envelope (Return-Path) and the answer address (Reply-To) stay as they were.
REWRITTEN = re.compile(
    rb"^(from|sender|message-id|authentication-results|arc-[a-z-]+|dkim-signature)\s*:", re.I
)
HEADER_END = re.compile(rb"\r?\n\r?\n")


@dataclass
class Sample:
    name: str
    raw: bytes
    kind: str  # "automatic" or "human"
    expect: str = ""  # text the ticket must keep (list entries only)
    drop: str = ""  # quoted text the ticket must not keep


@dataclass
class Report:
    messages: int = 0
    received: int = 0
    permanent_failures_retried: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    automatic_in_tickets: list[str] = field(default_factory=list)
    human_dropped: list[str] = field(default_factory=list)
    forged_acting: list[str] = field(default_factory=list)
    texts_lost: list[str] = field(default_factory=list)
    texts_kept: list[str] = field(default_factory=list)
    stuck_in_mailbox: int = 0
    outcomes: Counter = field(default_factory=Counter)
    slowest: tuple[float, str] = (0.0, "")

    def failures(self) -> dict[str, int]:
        return {
            "permanent failures retried": len(self.permanent_failures_retried),
            "crashes": len(self.crashes),
            "automatic messages opening or joining tickets": len(self.automatic_in_tickets),
            "human messages dropped": len(self.human_dropped),
            "forged messages acting as the customer": len(self.forged_acting),
            "texts lost": len(self.texts_lost),
            "messages stuck in the mailbox": self.stuck_in_mailbox,
        }

    def text(self) -> str:
        lines = [f"{self.messages} messages, {self.received} times through receive_email"]
        lines += [f"  {name}: {count}" for name, count in self.failures().items()]
        lines.append(f"  texts kept as listed: {len(self.texts_kept)}")
        lines.append(f"  outcomes: {dict(sorted(self.outcomes.items()))}")
        lines.append(f"  slowest: {self.slowest[0]:.2f} s ({self.slowest[1]})")
        for name in ("permanent_failures_retried", "crashes", "automatic_in_tickets",
                     "human_dropped", "forged_acting", "texts_lost"):  # fmt: skip
            for entry in getattr(self, name)[:30]:
                lines.append(f"  {name}: {entry}")
        return "\n".join(lines)


# --- The messages ------------------------------------------------------------------------------


def listed() -> dict[str, tuple[str, str, str]]:
    """LIST.tsv: path (under the corpus) -> (kind, text to keep, text to leave out)."""
    entries = {}
    if not (CORPUS / "LIST.tsv").exists():
        return entries
    with open(CORPUS / "LIST.tsv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            entries[row["file"]] = (row["kind"], row["keep"], row["drop"])
    return entries


def samples(folders: list[Path]) -> list[Sample]:
    entries = listed()
    found = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.suffix.lower() not in EXTENSIONS:
                continue
            if path.name.upper().startswith(("LICENSE", "README", "LIST", "COPYING")):
                continue
            relative = path.relative_to(CORPUS).as_posix() if CORPUS in path.parents else ""
            kind, keep, drop = entries.get(relative, (_kind_by_folder(path), "", ""))
            found.append(Sample(relative or path.as_posix(), _as_message(path), kind, keep, drop))
    return found


# In sisimai's bounce sets, messages a person wrote: a bounce forwarded with "Fwd:" and a
# note ("Forward the message."), which must reach a ticket like any person's mail.
PEOPLE_IN_BOUNCE_SETS = {"lhost-sendmail-14.eml", "make-test-36.eml"}


# Outside the bounce sets, messages no person wrote (each file's own headers say so).
MACHINES_ELSEWHERE = {
    "maildir/not/rb-issue-368-bug.eml": "postmaster's bounce notification, Return-Path <>",
    "tests/mails/mail_malformed_2": "a multipart/report (vendored: automatic in LIST.tsv)",
    "tests/mails/mail_test_13": "a MailChimp newsletter (List-ID)",
    "tests/mails/mail_test_15": "spam from a do-not-reply envelope",
    "tests/mails/mail_test_16": "GTUBE test spam, Precedence: junk",
    "tests/mails/mail_test_5": "marketing mail, Precedence: bulk",
    "tests/mails/mail_test_6": "noreply list mail (List-Id)",
}


def _kind_by_folder(path: Path) -> str:
    parts = path.as_posix()
    if path.name in PEOPLE_IN_BOUNCE_SETS:
        return "human"
    if any(parts.endswith(f"/{name}") for name in MACHINES_ELSEWHERE):
        return "automatic"
    if "sisimai" in parts and "/maildir/" in parts and "/not/" not in parts:
        return "automatic"
    return "human"


def _as_message(path: Path) -> bytes:
    """A file as a message: an .eml as it is, a bare text or HTML body wrapped in headers."""
    data = path.read_bytes()
    if path.suffix.lower() == ".eml" or (
        not path.suffix and re.match(rb"^(From |[A-Za-z-]+:)", data) and HEADER_END.search(data)
    ):
        return data
    subtype = "html" if path.suffix.lower() == ".html" else "plain"
    head = (
        f"From: someone@example.org\r\nTo: support@portal.test\r\nSubject: Re: {path.stem}\r\n"
        f"Message-ID: <{path.stem}@corpus.test>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/{subtype}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return head.encode() + data


def rewritten(raw: bytes, sender: str, *, vouched: bool) -> bytes:
    """The message as if `sender` wrote it: its From (and Sender, Message-ID, authentication
    headers) replaced at the byte level, the rest left exactly as it was, and with our
    server's Authentication-Results when `vouched`."""
    raw = re.sub(rb"^From [^\n]*\n", b"", raw, count=1)  # an mbox separator line
    end = HEADER_END.search(raw)
    head, body = (raw[: end.start()], raw[end.start() :]) if end else (raw, b"\r\n\r\n")
    kept, skipping = [], False
    for line in re.split(rb"\r\n|\r|\n", head):  # also old Mac files' lone CRs
        if line[:1] in (b" ", b"\t") and skipping:
            continue
        skipping = bool(REWRITTEN.match(line))
        if not skipping:
            kept.append(line)
    domain = sender.rpartition("@")[2]
    new = [f"From: Customer <{sender}>".encode(), f"Message-ID: {make_msgid()}".encode()]
    if vouched:
        results = f"{AUTHSERV_ID}; dkim=pass header.d={domain}; dmarc=pass header.from={domain}"
        new.insert(0, f"Authentication-Results: {results}".encode())
    return b"\r\n".join(new + kept) + body


# --- Running them ------------------------------------------------------------------------------


def receive(raw: bytes) -> tuple[int, str]:
    """`manage.py receive_email` with `raw` on stdin: (exit status, output)."""
    from django.core.management import call_command

    out, err = io.StringIO(), io.StringIO()
    stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(raw))
    try:
        call_command("receive_email", stdout=out, stderr=err)
        status = 0
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    finally:
        sys.stdin = stdin
    return status, (out.getvalue() + err.getvalue()).strip()


def run(found: list[Sample], customer_email: str) -> Report:
    """Every sample as sent, as the vouched-for customer, and as the unvouched customer."""
    from tickets.models import InboundEmail

    report = Report(messages=len(found))
    for sample in found:
        variants = [
            ("as sent", sample.raw),
            ("customer", rewritten(sample.raw, customer_email, vouched=True)),
            ("forged", rewritten(sample.raw, customer_email, vouched=False)),
        ]
        for variant, raw in variants:
            label = f"{sample.name} ({variant})"
            before = InboundEmail.objects.order_by("-pk").values_list("pk", flat=True).first()
            started = time.perf_counter()
            try:
                status, output = receive(raw)
            except Exception as error:  # a crash is what we count
                report.crashes.append(f"{label}: {type(error).__name__}: {error}"[:300])
                continue
            elapsed = time.perf_counter() - started
            report.slowest = max(report.slowest, (elapsed, label))
            report.received += 1
            if status == 75:
                report.permanent_failures_retried.append(f"{label}: {output[:200]}")
                continue
            if status not in (0, 65):
                report.crashes.append(f"{label}: exit {status}: {output[:200]}")
                continue
            record = InboundEmail.objects.filter(pk__gt=before or 0).order_by("-pk").first()
            _judge(report, sample, variant, label, record)
    return report


def _judge(report: Report, sample: Sample, variant: str, label: str, record) -> None:
    from tickets.choices import InboundOutcome

    if record is None:
        report.human_dropped.append(f"{label}: no record") if sample.kind == "human" else None
        return
    report.outcomes[f"{sample.kind}/{variant}/{record.outcome}"] += 1
    in_ticket = record.outcome in (InboundOutcome.OPENED, InboundOutcome.REPLIED)
    if sample.kind == "automatic" and in_ticket:
        report.automatic_in_tickets.append(f"{label}: {record.reason}")
    if variant == "forged" and in_ticket:
        report.forged_acting.append(f"{label}: {record.reason}")
    if sample.kind != "human" or variant != "customer":
        return
    if not in_ticket:
        report.human_dropped.append(f"{label}: {record.outcome}: {record.reason}")
        return
    if sample.expect or sample.drop:
        text = " ".join(record.ticket_message.body.split()) if record.ticket_message else ""
        kept = " ".join(sample.expect.split()) in text
        dropped = not sample.drop or " ".join(sample.drop.split()) not in text
        if kept and dropped:
            report.texts_kept.append(label)
        else:
            report.texts_lost.append(f"{label}: kept {text[:160]!r}")


def mailbox_run(found: list[Sample], url: str, customer_email: str) -> int:
    """The samples delivered to an IMAP mailbox (as the vouched customer), then read by
    the beat task's reader until nothing is left: how many stay unread (stuck)."""
    from urllib.parse import unquote, urlsplit

    from imap_tools import AND, MailBoxUnencrypted

    from tickets.mailbox import mailbox_read

    parts = urlsplit(url)
    with MailBoxUnencrypted(parts.hostname, parts.port).login(
        unquote(parts.username), unquote(parts.password)
    ) as box:
        box.delete([m.uid for m in box.fetch(mark_seen=False, headers_only=True)])
        for sample in found:
            box.append(rewritten(sample.raw, customer_email, vouched=True), "INBOX")
        for _ in range(len(found) // 50 + 3):
            mailbox_read(url)
        box.client.noop()
        return len(box.uids(AND(seen=False)))


# --- By hand -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="*", type=Path, default=[CORPUS])
    parser.add_argument("--imap", type=int, default=100, help="messages also read over IMAP")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    settings.INBOUND_EMAIL_PER_HOUR = 10**9  # the corpus is one sender's many messages
    # A database of its own: the test suite's may be in use on the same server.
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = "test_mail_corpus"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        customer = customer_make()
        found = samples(args.folders)
        report = run(found, customer)
        url = os.environ.get("TEST_MAILBOX_URL")
        if url and args.imap:
            report.stuck_in_mailbox = mailbox_run(found[: args.imap], url, customer)
        print(report.text())
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    return 1 if any(report.failures().values()) else 0


def customer_make(email: str = "customer@customer.test") -> str:
    """A customer of one organisation (on a service tier), as a ticket needs."""
    from django.utils import timezone

    from accounts.tests.factories import MembershipFactory, OrganisationFactory, UserFactory
    from conftest import business_hours_tier
    from tiers.models import TierAssignment

    organisation = OrganisationFactory(name="Corpus Clinic", customer_number="C-CORPUS")
    TierAssignment.objects.create(
        organisation=organisation, tier=business_hours_tier(), started_at=timezone.now()
    )
    MembershipFactory(user=UserFactory(email=email), organisation=organisation)
    return email


if __name__ == "__main__":
    sys.exit(main())
