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

import time

from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.contrib.sessions.backends import db
from django.db import connections, router
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from accounts.platform.authentication import DJANGO_MODEL_BACKEND, PERSON_BACKEND

REFRESHED_AT = "_refreshed_at"


class SessionStore(db.SessionStore):
    """Django's database sessions (SESSION_ENGINE), read by one SQL statement written once:
    every signed-in request reads its session, and building and compiling the queryset
    cost more CPU than PostgreSQL took to answer it."""

    LOAD_SQL = "SELECT session_data FROM django_session WHERE session_key = %s AND expire_date > %s"

    def load(self) -> dict:
        connection = connections[router.db_for_read(self.model)]
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(self.LOAD_SQL, [self.session_key, now])
            row = cursor.fetchone()
        if row is None:  # none, or expired: a new session, as Django's own store does
            self._session_key = None
            return {}
        data = self.decode(row[0])
        # Signed in before PersonBackend took over from Django's ModelBackend (the same
        # people, passwords and checks): still signed in.
        if data.get(BACKEND_SESSION_KEY) == DJANGO_MODEL_BACKEND:
            data[BACKEND_SESSION_KEY] = PERSON_BACKEND
        return data


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
