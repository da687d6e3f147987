"""How long one large email takes through tickets.inbound.email_receive (issue 25: an 8 MB
text mail took 68 s, quote stripping being super-linear).

For each size, a reply of a few new lines above a quoted history of that size, in plain
text and in HTML (blockquote), and a new message of that size without any quote, from a
known customer; then a message over INBOUND_EMAIL_MAX_BYTES (refused). Time per size
should grow in proportion to the size. Through scripts/with-services.sh (PostgreSQL):

    scripts/with-services.sh .venv/bin/python scripts/bench_email.py --sizes 1 2 4 8
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINE = "an old line of the quoted history, as long as most lines of text in an email\n"


def large(kind: str, megabytes: float, sender: str) -> bytes:
    count = int(megabytes * 1024 * 1024) // len(LINE)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "support@portal.test"
    message["Subject"] = "Re: A large one" if kind != "new" else "A large one"
    domain = sender.rpartition("@")[2]
    message["Authentication-Results"] = f"mx.portal.test; dmarc=pass header.from={domain}"
    if kind == "html":
        quote = "".join(f"<p>{LINE}</p>" for _ in range(count))
        message.set_content(f"<p>The new text.</p><blockquote>{quote}</blockquote>", "html")
    elif kind == "quoted":
        message.set_content("The new text.\n\nOn Monday, Alice wrote:\n" + ("> " + LINE) * count)
    else:
        message.set_content("The new text.\n\n" + LINE * count)
    return message.as_bytes()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="*", type=float, default=[1, 2, 4, 8])
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "scripts"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment
    from mail_corpus import customer_make

    setup_test_environment()
    settings.INBOUND_EMAIL_PER_HOUR = 10**6
    settings.INBOUND_EMAIL_MAX_BYTES = 20 * 1024 * 1024
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = "test_bench_email"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from tickets.inbound import email_receive

        sender = customer_make()
        print("size     kind     seconds  outcome")
        for megabytes in [*args.sizes, 25]:
            for kind in ("quoted", "html", "new") if megabytes != 25 else ("new",):
                raw = large(kind, megabytes, sender)
                started = time.perf_counter()
                received = email_receive(raw=raw)
                elapsed = time.perf_counter() - started
                print(f"{len(raw) / 2**20:5.1f} MB {kind:8} {elapsed:7.2f}  {received.outcome}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
