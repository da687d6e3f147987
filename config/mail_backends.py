"""The development mail backend: each message whole in a file, its subject on the console.

`make run` sends a dozen notifications while it loads the demo; printed whole they bury
the login banner. This backend keeps every message as Django's file backend does (one
file per connection under EMAIL_FILE_PATH, var/mail/ by default) and prints one line
per message: who it went to and its subject.
"""

import os
import sys

from django.core.mail.backends.filebased import EmailBackend as FileBackend


class SubjectsToConsoleBackend(FileBackend):
    def write_message(self, message) -> None:
        super().write_message(message)
        to = ", ".join(message.recipients())
        where = os.path.relpath(self._fname)
        sys.stdout.write(f"Mail to {to}: {message.subject}  (whole in {where})\n")
        sys.stdout.flush()
