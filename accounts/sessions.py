"""Ending a person's sessions everywhere.

Each session carries a hash of the password and of `User.session_epoch`
(see `User.get_session_auth_hash`); Django drops a session whose hash no
longer matches on its next request. So a password change (Django keeps the
session that made it) and a logout (the epoch goes up) end the person's
other sessions without scanning the session table.
"""

from django.contrib.auth.signals import user_logged_out
from django.db.models import F

from accounts.models import User


def user_sessions_end(*, user: User) -> None:
    """End every session of `user`, on every device."""
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)


def _logged_out(sender, request, user, **kwargs):
    if user is not None and user.is_authenticated:
        user_sessions_end(user=user)


def connect() -> None:
    """Called once from AccountsConfig.ready()."""
    user_logged_out.connect(_logged_out, dispatch_uid="accounts:end-sessions-at-logout")
