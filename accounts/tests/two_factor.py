"""What a person's authenticator app does, for tests: a confirmed device and its codes.

`Client` is Django's test client whose `force_login` ends where a real sign-in ends: for a
person who must use two-factor sign-in, or has an authenticator, the session is verified
by their authenticator (made if they have none, as if they had enrolled), the same way
django-otp's own login marks it. The enforcement itself stays on: a session that only
passed the password (`force_login_password_only`, or the login form) is still stopped.
"""

import time

from django.test import Client as DjangoClient
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.platform import two_factor


def authenticator_of(user) -> TOTPDevice:
    """The person's confirmed authenticator; one is added, as if they had enrolled."""
    device = two_factor.authenticator(user)
    if device is None:
        device = TOTPDevice.objects.create(
            user=user, name=two_factor.AUTHENTICATOR_NAME, confirmed=True
        )
    return device


def authenticator_if_needed(user) -> TOTPDevice | None:
    """For a test signing in through the pages: the authenticator of someone who must use
    two-factor sign-in or has it (made if they must and have none); None for the others."""
    if two_factor.required_for(user) or two_factor.has_authenticator(user):
        return authenticator_of(user)
    return None


def totp_code(key_hex: str, *, at: float | None = None) -> str:
    """The code an authenticator app shows for this key (hex, as django-otp stores it)."""
    totp = TOTP(bytes.fromhex(key_hex), step=30, t0=0, digits=6)
    totp.time = time.time() if at is None else at
    return f"{totp.token():06d}"


def next_code(device: TOTPDevice) -> str:
    """A code the device accepts now. A code is good once, and the device takes the time
    steps next to its own (it learns the app's clock drift): the earliest step not used
    yet, waiting for the clock when every acceptable one has been used."""
    device.refresh_from_db()
    now = time.time()
    current = int(now // 30) + device.drift
    # An earlier step's code stops working when this step ends: taken only with seconds to
    # spare for the form to reach the server (a slow machine otherwise sees it refused).
    earliest = current - device.tolerance if now % 30 < 20 else current
    counter = max(device.last_t + 1, earliest)
    if counter > current + device.tolerance:
        time.sleep(30 - now % 30 + 0.1)
        return next_code(device)
    return totp_code(device.key, at=counter * 30 + 15)


class Client(DjangoClient):
    def force_login(self, user, backend=None):
        super().force_login(user, backend)
        device = authenticator_if_needed(user)
        if device is not None:
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()

    def force_login_password_only(self, user, backend=None):
        """Signed in as after the password step alone (no second factor given)."""
        super().force_login(user, backend)
