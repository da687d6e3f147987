"""A real SMTP server on loopback (aiosmtpd) that can fail part-way through a send.

The mail tests point Django's SMTP backend at it to see what a real server received,
one count per recipient, and to make a send fail after some messages went through.
"""

from __future__ import annotations

import socket
from collections import Counter
from contextlib import contextmanager

from aiosmtpd.controller import Controller
from django.test import override_settings

# How the server refuses once its budget is spent.
TEMPORARY_FAILURE = "451 4.3.0 Try again later"
DROP_CONNECTION = "drop"


class _Handler:
    def __init__(self):
        self.received: Counter[str] = Counter()
        self.budget: int | None = None  # messages still accepted; None: no limit
        self.failure = TEMPORARY_FAILURE
        self.refused: dict[str, str] = {}  # address -> the reply to RCPT TO

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refused:
            return self.refused[address.lower()]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.budget is not None:
            if self.budget <= 0:
                if self.failure == DROP_CONNECTION:
                    server.transport.close()
                    return "421 4.3.0 Closing connection"
                return self.failure
            self.budget -= 1
        self.received.update(address.lower() for address in envelope.rcpt_tos)
        return "250 OK"


class LocalSmtpServer:
    """An aiosmtpd server on 127.0.0.1; `received` counts accepted messages by recipient."""

    def __init__(self):
        self._handler = _Handler()
        self.port = _free_port()
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    @property
    def received(self) -> Counter[str]:
        return self._handler.received

    def accept_only(self, count: int, then: str = TEMPORARY_FAILURE) -> None:
        """Accept `count` more messages, then refuse every one (an SMTP reply, or a drop)."""
        self._handler.budget, self._handler.failure = count, then

    def accept_all(self) -> None:
        self._handler.budget = None

    def refuse(self, address: str, reply: str = "550 5.1.1 No such mailbox") -> None:
        """Answer RCPT TO `address` with `reply` (a 5xx: the mailbox does not exist)."""
        self._handler.refused[address.lower()] = reply

    @contextmanager
    def as_email_backend(self):
        """Django's SMTP backend pointed at this server, for the duration of the block."""
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=self.port,
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
            EMAIL_TIMEOUT=10,
        ):
            yield self


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
