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

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models import F

from accounts.models import User

REFRESHED_AT = "_refreshed_at"


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
