"""The mail helper: one connection, each notification once per person, passing errors retried."""

import smtplib
from unittest import mock

import pytest
from celery import current_app

from accounts.models import SentNotification
from accounts.platform import mail
from accounts.platform.mail import MAIL_RETRY, Mail, PermanentMailError, mail_send
from accounts.services import invitation_create
from accounts.tasks import invitation_send

MAIL_TASKS = [
    "accounts.tasks.invitation_send",
    "accounts.tasks.team_handoff_notify",
    "tickets.tasks.notify_new_ticket",
    "tickets.tasks.notify_staff_reply",
    "tickets.tasks.notify_resolved",
    "tickets.tasks.notify_sla_warnings",
    "tickets.tasks.notify_improvement_done",
    "portal.tasks.notify_sponsor_lapses",
    "accounts.tasks.daily_digest",
    "accounts.tasks.cover_notify",
    "portal.tasks.am_tasks_morning",
]


def letter(key="tickets.staff_reply:1", to="ann@alpha.test", subject="Hello") -> Mail:
    return Mail(key=key, to=to, subject=subject, body="Body.")


def test_each_sent_mail_is_recorded_with_its_key_and_address(db, mailoutbox):
    summary = mail_send([letter(to="Ann@Alpha.test"), letter(to="bob@alpha.test")])
    assert summary == {"sent": 2, "already_sent": 0, "refused": 0}
    assert sorted(m.to for m in mailoutbox) == [["ann@alpha.test"], ["bob@alpha.test"]]
    assert sorted(SentNotification.objects.values_list("key", "recipient")) == [
        ("tickets.staff_reply:1", "ann@alpha.test"),
        ("tickets.staff_reply:1", "bob@alpha.test"),
    ]


def test_a_notification_already_sent_to_a_person_is_not_sent_again(db, mailoutbox):
    mail_send([letter()])
    again = mail_send([letter(to="ANN@alpha.test"), letter(to="bob@alpha.test")])
    assert again == {"sent": 1, "already_sent": 1, "refused": 0}
    assert [m.to for m in mailoutbox] == [["ann@alpha.test"], ["bob@alpha.test"]]


def test_a_different_notification_to_the_same_person_is_still_sent(db, mailoutbox):
    mail_send([letter(key="tickets.staff_reply:1")])
    assert mail_send([letter(key="tickets.staff_reply:2")])["sent"] == 1
    assert len(mailoutbox) == 2


def test_the_same_mail_twice_in_one_batch_goes_once_and_blank_addresses_never(db, mailoutbox):
    assert mail_send([letter(), letter(), letter(to="")])["sent"] == 1
    assert len(mailoutbox) == 1


def test_nothing_to_send_opens_no_connection(db, mailoutbox):
    mail_send([letter()])
    with mock.patch.object(mail, "get_connection") as connect:
        assert mail_send([letter()]) == {"sent": 0, "already_sent": 1, "refused": 0}
        assert mail_send([]) == {"sent": 0, "already_sent": 0, "refused": 0}
    connect.assert_not_called()


def test_all_mails_go_over_one_connection(db, smtp_server):
    with mock.patch.object(mail, "get_connection", wraps=mail.get_connection) as connect:
        mail_send([letter(to=f"person{n}@alpha.test") for n in range(3)])
    assert connect.call_count == 1
    assert sum(smtp_server.received.values()) == 3


def test_a_mailbox_refused_for_good_is_skipped_and_the_others_still_get_theirs(
    db, smtp_server, caplog
):
    smtp_server.refuse("gone@alpha.test")
    to = ["ann@alpha.test", "gone@alpha.test", "bob@alpha.test"]
    summary = mail_send([letter(to=address) for address in to])
    assert summary == {"sent": 2, "already_sent": 0, "refused": 1}
    assert dict(smtp_server.received) == {"ann@alpha.test": 1, "bob@alpha.test": 1}
    assert "gone@alpha.test refused for good" in caplog.text
    assert not SentNotification.objects.filter(recipient="gone@alpha.test").exists()


def test_a_temporary_refusal_stops_the_send_for_a_retry(db, smtp_server):
    smtp_server.refuse("busy@alpha.test", "450 4.2.1 Mailbox busy")
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        mail_send([letter(to="ann@alpha.test"), letter(to="busy@alpha.test")])
    assert list(SentNotification.objects.values_list("recipient", flat=True)) == ["ann@alpha.test"]


def test_a_server_that_cannot_take_the_login_fails_at_once_without_retries(
    world, smtp_server, settings, celery_retries_inline
):
    # The test server offers no AUTH without TLS: a configuration error, not a passing one.
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "portal", "secret"
    invitation = invitation_create(
        organisation=world.org_a,
        email="new@alpha.test",
        role="member",
        invited_by=world.customer_admin_a,
    )
    with mock.patch.object(mail, "get_connection", wraps=mail.get_connection) as connect:
        attempt = invitation_send.apply((invitation.pk, "token"))
    assert attempt.failed()
    assert isinstance(attempt.result, PermanentMailError)
    assert connect.call_count == 1  # not retried
    assert not smtp_server.received


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), True),
        (smtplib.SMTPDataError(451, b"Try again later"), True),
        (smtplib.SMTPConnectError(421, b"Too busy"), True),
        (smtplib.SMTPRecipientsRefused({"a@x.test": (450, b"Busy")}), True),
        (smtplib.SMTPDataError(554, b"Message rejected"), False),
        (smtplib.SMTPRecipientsRefused({"a@x.test": (550, b"No such user")}), False),
        (smtplib.SMTPSenderRefused(553, b"Not allowed", "portal@localhost"), False),
        (smtplib.SMTPAuthenticationError(535, b"Bad credentials"), False),
        (smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported"), False),
    ],
)
def test_only_errors_that_may_pass_count_as_transient(error, transient):
    assert mail._is_transient(error) is transient


@pytest.mark.parametrize("name", MAIL_TASKS)
def test_every_mail_task_retries_with_the_one_policy(name):
    task = current_app.tasks[name]
    assert task.autoretry_for == MAIL_RETRY["autoretry_for"]
    assert task.max_retries == MAIL_RETRY["max_retries"]
    assert not isinstance(PermanentMailError(), task.autoretry_for)
