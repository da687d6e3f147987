"""One email from stdin, for an MTA that pipes mail to a program (docs/email.md).

Exit status 0 once the message is handled (a ticket, a reply, held, ignored); 75
(EX_TEMPFAIL) when it could not be, so the MTA keeps it and tries again later.
"""

import sys

from django.core.management.base import BaseCommand
from django.db import DatabaseError

from tickets.inbound import email_receive

EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Read one email (RFC 5322) from stdin and turn it into a ticket or a reply."

    def handle(self, *args, **options):
        raw = sys.stdin.buffer.read()
        if not raw.strip():
            self.stderr.write("No message on stdin.")
            sys.exit(EX_TEMPFAIL)
        try:
            received = email_receive(raw=raw)
        except DatabaseError as error:
            self.stderr.write(f"Not handled, try again later: {error}")
            sys.exit(EX_TEMPFAIL)
        ticket = f" (ticket {received.ticket_id})" if received.ticket_id else ""
        self.stdout.write(f"{received.outcome}{ticket}: {received.reason}")
