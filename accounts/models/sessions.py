"""Signed-in sessions, each with the person it signs in (accounts.platform.sessions)."""

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django_otp.plugins.otp_totp.models import TOTPDevice


class Session(AbstractBaseSession):
    """Django's database session, plus the person it signs in (none before sign-in): every
    signed-in request reads its session and its person in one statement, one round trip
    to the database instead of two.

    The person's id is a copy of the one in the session's data, which alone decides who is
    signed in (Django's checks of it stay as they are); a row without one, or with one
    that no longer matches, costs the second read. No constraint and no index: a session
    saved for a person deleted meanwhile must not fail (Django's sessions name people by
    their id only, too), and nothing looks sessions up by person.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    # The authenticator the session was verified with (django-otp's device id in its data),
    # read in the same statement; a device of another kind (recovery codes, single sign-on)
    # is read apart. A copy too: the session's data decides.
    totp_device = models.ForeignKey(
        TOTPDevice,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )

    class Meta(AbstractBaseSession.Meta):
        db_table = "accounts_session"

    @classmethod
    def get_session_store_class(cls):
        from accounts.platform.sessions import SessionStore

        return SessionStore
