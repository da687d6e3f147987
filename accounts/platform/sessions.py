"""Ending a person's sessions everywhere, and keeping them alive while in use.

Each session carries a hash of the password and of `User.session_epoch`
(see `User.get_session_auth_hash`); Django drops a session whose hash no
longer matches on its next request. So a password change (Django keeps the
session that made it) and a logout (the epoch goes up) end the person's
other sessions without scanning the session table.

A session expires SESSION_COOKIE_AGE after its last request, give or take
SESSION_REFRESH_SECONDS: `SessionRefreshMiddleware` writes the new expiry when the
last one (`REFRESHED_AT`, set at login too) is older than that.
"""

import functools
import time

from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.contrib.sessions.backends import db
from django.core.exceptions import ValidationError
from django.db import connections, router
from django.db.models import F
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.platform.authentication import DJANGO_MODEL_BACKEND, PERSON_BACKEND
from config import prepared

REFRESHED_AT = "_refreshed_at"


class SessionStore(db.SessionStore):
    """Django's database sessions (SESSION_ENGINE), each row with the person it signs in
    (accounts.models.Session), read by one SQL statement written once: the session, its
    person (`person`, handed to PersonBackend by
    accounts.platform.middleware.AuthenticationMiddleware) and the authenticator it was
    verified with (`device`: SecondFactorMiddleware), in one round trip. Building and
    compiling querysets for them cost more CPU than PostgreSQL took to answer, and each
    round trip more than the frame's own work.

    A customer's organisations are not joined in: planning the two more tables cost
    PostgreSQL 0.2 ms on every request, staff's too, against 0.14 for reading them apart."""

    def __init__(self, session_key=None):
        super().__init__(session_key)
        self.person: User | None = None  # the person of the row read, None when none
        self.device: TOTPDevice | None = None  # the authenticator of the row read

    @classmethod
    def get_model_class(cls):
        from accounts.models import Session

        return Session

    def load(self) -> dict:
        connection = connections[router.db_for_read(self.model)]
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(_load_sql(), [self.session_key, now])
            row = cursor.fetchone()
        if row is None:  # none, or expired: a new session, as Django's own store does
            self._session_key = None
            return {}
        data = self.decode(row[0])
        self.person = _person(row)
        self.device = _device(row)
        # Signed in before PersonBackend took over from Django's ModelBackend (the same
        # people, passwords and checks): still signed in.
        if data.get(BACKEND_SESSION_KEY) == DJANGO_MODEL_BACKEND:
            data[BACKEND_SESSION_KEY] = PERSON_BACKEND
        return data

    def create_model_instance(self, data):
        session = super().create_model_instance(data)
        session.user_id = _signed_in_id(data)
        session.totp_device_id = _verified_with_id(data)
        return session


def device_of(session, persistent_id: str) -> TOTPDevice | None:
    """The device django-otp's `persistent_id` names (normalised) as read with the session,
    if the session read that very device; None otherwise."""
    device = getattr(session, "device", None)
    return device if device is not None and device.persistent_id == persistent_id else None


def _signed_in_id(data: dict) -> int | None:
    """The id of the person the session's data signs in, as Django reads it."""
    try:
        return User._meta.pk.to_python(data[SESSION_KEY])
    except (KeyError, ValidationError):
        return None


def _verified_with_id(data: dict) -> int | None:
    """The id of the authenticator (TOTP) the session's data says it was verified with."""
    label, _, device_id = str(data.get(DEVICE_ID_SESSION_KEY, "")).rpartition("/")
    if label != TOTPDevice._meta.label_lower or not device_id.isdigit():
        return None
    return int(device_id)


_PERSON = prepared.columns(User)
_DEVICE = prepared.columns(TOTPDevice)
_DEVICE_AT = 1 + len(_PERSON)


def _person(row) -> User | None:
    if row[1] is None:
        return None
    return prepared.from_row(User, row[1:_DEVICE_AT])


def _device(row) -> TOTPDevice | None:
    if row[_DEVICE_AT] is None:
        return None
    return prepared.from_row(TOTPDevice, row[_DEVICE_AT:])


@functools.cache
def _load_sql() -> str:
    """The session's data, its person's columns and its authenticator's (or nulls). Built
    from the models (no value of a request in it)."""
    from accounts.models import Session

    person = ", ".join(f'u."{column}"' for column in _PERSON)
    device = ", ".join(f'd."{column}"' for column in _DEVICE)
    return (
        f"SELECT s.session_data, {person}, {device}"  # noqa: S608 - from the models
        f" FROM {Session._meta.db_table} s"
        f" LEFT JOIN {User._meta.db_table} u ON u.id = s.user_id"
        f" LEFT JOIN {TOTPDevice._meta.db_table} d ON d.id = s.totp_device_id"
        " WHERE s.session_key = %s AND s.expire_date > %s"
    )


def refreshed(session) -> None:
    """The session's expiry counts from now (saved with the session)."""
    session[REFRESHED_AT] = int(time.time())


def user_sessions_end(*, user: User) -> None:
    """End every session of `user`, on every device."""
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)


def _logged_out(sender, request, user, **kwargs):
    if user is not None and user.is_authenticated:
        user_sessions_end(user=user)


def _logged_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        refreshed(request.session)  # login saves the session: its expiry is new


def connect() -> None:
    """Called once from AccountsConfig.ready()."""
    user_logged_in.connect(_logged_in, dispatch_uid="accounts:session-refreshed-at-login")
    user_logged_out.connect(_logged_out, dispatch_uid="accounts:end-sessions-at-logout")
