"""Who a request is: the signed-in person of a session (PersonBackend), or the owner of a
personal API token (`Authorization: Bearer <token>`).

Only a SHA-256 hash of each token is stored, so the database cannot give a
working token away. A revoked token, or the token of a deactivated person,
stops working on the next request.
"""

import contextlib
import contextvars
from datetime import timedelta

from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from accounts.models import ApiToken, User
from accounts.platform import audit
from accounts.platform.tokens import token_hash
from config import prepared

# The backend a session signed in by password, link or identity provider names
# (AUTHENTICATION_BACKENDS); sessions made before it was ours name Django's (sessions.py).
PERSON_BACKEND = "accounts.platform.authentication.PersonBackend"
DJANGO_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

# Writing last_used_at on every request would add a write to every read.
LAST_USED_PRECISION = timedelta(minutes=1)

# The person behind a live token, in one statement. It runs on every API request, and
# the ORM took longer to build this join than PostgreSQL took to answer it
# (docs/benchmarks.md, "The API's orders list").
USER_FOR_HASH_SQL = """
    SELECT u.*, t.id AS api_token_id, t.last_used_at AS api_token_last_used_at
    FROM accounts_apitoken t JOIN accounts_user u ON u.id = t.user_id
    WHERE t.token_hash = %s AND t.revoked_at IS NULL AND u.is_active
"""


# The session whose request is being authenticated (AuthenticationMiddleware) or verified
# (SecondFactorMiddleware): its person and device came with it.
_SESSION_READ = contextvars.ContextVar("accounts_session_read", default=None)


@contextlib.contextmanager
def session_read(session):
    """PersonBackend (and SecondFactorMiddleware) take the person (device) read with
    `session` (accounts.platform.sessions) instead of reading them again, while
    authenticating (verifying) its request."""
    token = _SESSION_READ.set(session)
    try:
        yield
    finally:
        _SESSION_READ.reset(token)


def session_being_read():
    """The session of session_read, None outside it."""
    return _SESSION_READ.get()


def _user_by_id(user_id: int):
    return User.objects.filter(pk=user_id)


class PersonBackend(ModelBackend):
    """Django's ModelBackend, taking the signed-in person read with the session
    (session_read), else reading them by SQL built once per process (config/prepared.py):
    every signed-in request reads them, and the ORM took longer to build
    `User.objects.get(pk=...)` than PostgreSQL took to answer it."""

    def get_user(self, user_id):
        person = getattr(session_being_read(), "person", None)
        if person is not None and person.pk == user_id:
            found = [person]  # read with the session: the same row, in the same statement
        else:
            found = prepared.objects(_user_by_id, user_id=user_id)
        if found and self.user_can_authenticate(found[0]):
            return found[0]
        return None


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None  # not ours: the session may authenticate the request
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the header as: Bearer <token>.")
        try:
            token = parts[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("The token is not valid.") from None
        return self._user_and_token(token)

    def _user_and_token(self, token: str):
        with connection.cursor() as cursor:
            cursor.execute(USER_FOR_HASH_SQL, [token_hash(token)])
            row = cursor.fetchone()
            columns = [column[0] for column in cursor.description]  # DB-API: name first
        if row is None:
            raise exceptions.AuthenticationFailed("The token is not valid or has been revoked.")
        found = dict(zip(columns, row, strict=True))
        token_id = found.pop("api_token_id")
        last_used_at = prepared.from_db_value(
            ApiToken._meta.get_field("last_used_at"), found.pop("api_token_last_used_at")
        )
        user = prepared.from_row(User, [found[column] for column in prepared.columns(User)])
        now = timezone.now()
        if last_used_at is None or now - last_used_at > LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
        audit.attribute_to(user.pk)
        return user, token_id  # request.auth: the token's id

    def authenticate_header(self, request):
        return self.keyword  # a 401, not a 403, when credentials are missing or wrong


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token, created on the 'API tokens' page.",
        }
