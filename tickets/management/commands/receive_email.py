"""One email from stdin, for an MTA that pipes mail to a program (docs/email.md).

Exit status 0 once the message is handled (a ticket, a reply, held, ignored: a message
that cannot be handled is held with its bytes and the error); 75 (EX_TEMPFAIL) only when
it could not be handled for a reason that may pass (the database unreachable), so the MTA
keeps it and tries again later; 65 (EX_DATAERR) when it is too large, with the reason on
stderr, which the MTA returns to the sender.
"""

import sys

from django.core.management.base import BaseCommand

from tickets.choices import InboundOutcome
from tickets.inbound import TRANSIENT_ERRORS, email_receive

EX_DATAERR = 65
EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Read one email (RFC 5322) from stdin and turn it into a ticket or a reply."

    def handle(self, *args, **options):
        raw = sys.stdin.buffer.read()
        if not raw.strip():
            self.stderr.write("No message on stdin.")
            sys.exit(EX_DATAERR)
        try:
            received = email_receive(raw=raw)
        except TRANSIENT_ERRORS as error:
            self.stderr.write(f"Not handled, try again later: {error}")
            sys.exit(EX_TEMPFAIL)
        if received.outcome == InboundOutcome.REFUSED:
            self.stderr.write(received.reason)
            sys.exit(EX_DATAERR)
        ticket = f" (ticket {received.ticket_id})" if received.ticket_id else ""
        self.stdout.write(f"{received.outcome}{ticket}: {received.reason}")
