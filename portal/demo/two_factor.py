"""The demo staff's authenticator: one published key, so the demo can be tried without a phone.

Staff must sign in with a second factor (accounts/platform/two_factor.py). In the demo every staff
member's authenticator holds this key: add it to an authenticator app, or print the code of
the moment with `python manage.py demo_code`. Like the demo password it is public: never
load the demo into a portal that holds real data.

Only the standard library and django-otp's TOTP function here, so scripts/screenshots.py
can make a code without setting Django up.
"""

import time
from base64 import b32encode

from django_otp.oath import totp

DEMO_KEY = b"portal-demo-2026-otp"  # 20 bytes, the size RFC 4226 recommends
DEVICE_NAME = "Demo authenticator (published key)"


def demo_secret() -> str:
    """The key as an authenticator app takes it typed in: base32, in groups of four."""
    secret = b32encode(DEMO_KEY).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def demo_code() -> str:
    """The six digits an app holding the demo key shows now."""
    return f"{totp(DEMO_KEY):06d}"


def seconds_left() -> int:
    """How long the code of the moment still shows in the app (they change every 30 s)."""
    return 30 - int(time.time()) % 30
