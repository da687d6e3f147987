"""A file reaching a ticket is checked once (tickets/attachments.py), whichever way it came:
the web form and the API through the services, an email as it is read."""

from collections import Counter

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tickets.inbound import email_receive
from tickets.models import Attachment, Ticket
from tickets.services import ticket_create, ticket_reply
from tickets.tests.test_inbound import (
    PDF,
    email,
    support_address,  # noqa: F401 (its settings, autouse)
)

HEAD = 4096  # what a check reads of a file (the content's signature)


@pytest.fixture
def checks(monkeypatch) -> Counter:
    """{file name: how many times a check read its head}: saving reads it whole, unsized."""
    counted = Counter()

    def counting_read(self, *args):
        if args == (HEAD,):
            counted[self.name] += 1
        return self.file.read(*args)

    monkeypatch.setattr(SimpleUploadedFile, "read", counting_read)
    return counted


def pdf(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, "application/pdf")


def test_a_file_opened_with_a_ticket_or_a_reply_is_checked_once(world, checks):
    ticket = ticket_create(
        organisation=world.org_a, requester=world.member_a, subject="Label", category="delivery",
        priority="normal", body="Attached.", attachments=[pdf("label.pdf")],
    )  # fmt: skip
    ticket_reply(ticket=ticket, author=world.member_a, body="And this.", attachments=[pdf("b.pdf")])
    assert checks == {"label.pdf": 1, "b.pdf": 1}
    assert Attachment.objects.count() == 2


def test_an_emailed_file_is_checked_once_and_a_refused_one_is_named(world, checks):
    raw = email(
        "member.a@alpha.test",
        attachments=[
            ("note.pdf", PDF, "application", "pdf"),
            ("setup.exe", b"MZ\x90\x00", "application", "octet-stream"),
        ],
    )
    ticket = Ticket.objects.get(pk=email_receive(raw=raw).ticket_id)
    assert checks == {"note.pdf": 1}  # the .exe is refused by its name, before its content
    message = ticket.messages.get()
    assert [(a.filename, a.content_type) for a in message.attachments.all()] == [
        ("note.pdf", "application/pdf")
    ]
    assert "“setup.exe”: files of this type are not accepted" in message.body
