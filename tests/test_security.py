"""Security settings and behaviour: deploy checks, CSP, throttling, sessions, caching, health.

The throttling tests log in through the real login forms (web and admin) from
given client addresses; the session tests use two clients as two devices.
"""

import json
import os
import re
import secrets
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import authenticate
from django.contrib.auth.tokens import default_token_generator
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.choices import AuditAction
from accounts.models import AuditEvent, Session
from accounts.platform import sessions
from conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
OFFICE = "203.0.113.10"  # one customer office behind one address
ELSEWHERE = "198.51.100.7"


def production_env(**extra: str) -> dict[str, str]:
    # The browser tests' fixture sets DJANGO_ALLOW_ASYNC_UNSAFE in this process (Playwright's
    # sync API runs an event loop); production never has it, and check --deploy rejects it.
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "portal.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://portal.example.com",
        **extra,
    }


# --- Production settings -------------------------------------------------------------------


# One process started with production's settings runs `manage.py check --deploy` and then
# says what its settings are: the two tests below read its answer (a process costs seconds).
PRODUCTION = """
import json, sys
from django.core.management import execute_from_command_line
try:
    execute_from_command_line(["manage.py", "check", "--deploy", "--fail-level", "WARNING"])
    status = 0
except SystemExit as exit:
    status = exit.code
from django.conf import settings as s
print(json.dumps({"hasher": s.PASSWORD_HASHERS[0], "session_secure": s.SESSION_COOKIE_SECURE,
    "session_httponly": s.SESSION_COOKIE_HTTPONLY, "csrf_secure": s.CSRF_COOKIE_SECURE,
    "csrf_httponly": s.CSRF_COOKIE_HTTPONLY, "redirect": s.SECURE_SSL_REDIRECT,
    "hsts": s.SECURE_HSTS_SECONDS, "proxy": list(s.SECURE_PROXY_SSL_HEADER),
    "trusted": s.CSRF_TRUSTED_ORIGINS}))
sys.exit(status)
"""


@pytest.fixture(scope="module")
def production() -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our interpreter, our script
        [sys.executable, "-c", PRODUCTION],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_settings_pass_check_deploy_with_no_warnings(production):
    print(production.stdout, production.stderr)  # the figure docs/production.md quotes
    assert production.returncode == 0, production.stdout + production.stderr
    assert "System check identified no issues (0 silenced)." in production.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = production_env()
    del env["SECRET_KEY"]
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "SECRET_KEY must be set" in done.stderr


def test_production_hashes_with_argon2_and_sends_cookies_over_https_only(production):
    seen = json.loads(production.stdout.splitlines()[-1])
    assert seen == {
        "hasher": "django.contrib.auth.hashers.Argon2PasswordHasher",
        "session_secure": True,
        "session_httponly": True,
        "csrf_secure": True,
        "csrf_httponly": True,
        "redirect": True,
        "hsts": 31536000,
        "proxy": ["HTTP_X_FORWARDED_PROTO", "https"],
        "trusted": ["https://portal.example.com"],
    }


# --- Content-Security-Policy -----------------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\s(on[a-z]+|style)\s*=", re.IGNORECASE)


def test_no_template_has_inline_scripts_handlers_or_styles():
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER):
            offenders += [
                f"{path.relative_to(ROOT)}: {m.group(0)[:60]}" for m in pattern.finditer(text)
            ]
    assert offenders == []


def test_pages_carry_a_csp_without_inline_scripts(client, world):
    client.force_login(world.member_a)
    response = client.get(reverse("home"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    # htmx is told not to inject its indicator <style> nor to eval.
    assert '"includeIndicatorStyles": false' in response.content.decode()


# --- Caching ---------------------------------------------------------------------------------


def test_signed_in_pages_are_sent_no_store(client, world):
    client.force_login(world.member_a)
    for name in ("home", "portal:orders", "portal:invoices", "tickets:list"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"], name
        assert "private" in response["Cache-Control"], name


def test_the_logout_response_is_no_store_too(client, world):
    client.force_login(world.member_a)
    response = client.post(reverse("accounts:logout"))
    assert "no-store" in response["Cache-Control"]


# --- Sessions --------------------------------------------------------------------------------


def login(client: Client, email: str, password: str = PASSWORD, ip: str = OFFICE):
    return client.post(
        reverse("accounts:login"), {"username": email, "password": password}, REMOTE_ADDR=ip
    )


def test_the_session_id_changes_at_login(client, world):
    client.get(reverse("accounts:login"))
    session = client.session
    session["before_login"] = True
    session.save()
    before = session.session_key
    assert login(client, world.member_a.email).status_code == 302
    after = client.cookies["sessionid"].value
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert client.get(reverse("home")).status_code == 200


def test_logout_ends_the_persons_other_sessions(world):
    laptop, phone = Client(), Client()
    laptop.force_login(world.member_a)
    phone.force_login(world.member_a)
    other_person = Client()
    other_person.force_login(world.customer_admin_a)
    assert phone.get(reverse("home")).status_code == 200

    laptop.post(reverse("accounts:logout"))

    response = phone.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert other_person.get(reverse("home")).status_code == 200  # only that person's


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(world):
    laptop, phone = Client(), Client()
    laptop.force_login(world.member_a)
    phone.force_login(world.member_a)
    response = laptop.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-passphrase-9",
            "new_password2": "a-new-long-passphrase-9",
        },
    )
    assert response.status_code == 302
    assert laptop.get(reverse("home")).status_code == 200
    assert phone.get(reverse("home")).status_code == 302


def test_a_session_idle_past_its_age_is_logged_out(client, world, settings):
    assert settings.SESSION_REFRESH_SECONDS == 60  # requests push the expiry forward
    assert settings.SESSION_COOKIE_AGE == 8 * 60 * 60
    client.force_login(world.member_a)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert client.get(reverse("home")).status_code == 302


def refreshed_seconds_ago(client, seconds: int, *, expires) -> None:
    session = client.session
    session[sessions.REFRESHED_AT] = int(time.time()) - seconds
    session.save()
    Session.objects.filter(session_key=session.session_key).update(expire_date=expires)


def test_each_request_extends_the_session(client, world):
    client.force_login(world.member_a)
    key = client.session.session_key
    refreshed_seconds_ago(client, 61, expires=timezone.now() + timedelta(minutes=5))
    client.get(reverse("home"))
    expires = Session.objects.get(session_key=key).expire_date
    assert expires > timezone.now() + timedelta(hours=7)


def test_the_expiry_is_written_at_most_once_a_minute(client, world):
    """A page costs no session write of its own; the expiry moves within the minute."""
    client.force_login(world.member_a)
    key = client.session.session_key
    written = Session.objects.get(session_key=key).expire_date
    client.get(reverse("home"))  # just signed in: the expiry is new
    assert Session.objects.get(session_key=key).expire_date == written
    refreshed_seconds_ago(client, 30, expires=written)
    client.get(reverse("home"))
    assert Session.objects.get(session_key=key).expire_date == written
    refreshed_seconds_ago(client, 61, expires=written)
    client.get(reverse("home"))
    assert Session.objects.get(session_key=key).expire_date > written


def test_a_password_reset_link_works_once_and_expires(client, world, settings):
    user = world.member_a
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    url = reverse("accounts:password_reset_confirm", args=[uid, token])
    form_url = client.get(url)["Location"]  # Django swaps the token for a session marker
    data = {"new_password1": "reset-long-passphrase-7", "new_password2": "reset-long-passphrase-7"}
    assert client.post(form_url, data).status_code == 302

    again = Client().get(url, follow=True)
    assert again.context["validlink"] is False

    other = world.customer_admin_a
    stale = default_token_generator.make_token(other)
    settings.PASSWORD_RESET_TIMEOUT = -1  # the link's lifetime has passed
    other_url = reverse(
        "accounts:password_reset_confirm",
        args=[urlsafe_base64_encode(force_bytes(other.pk)), stale],
    )
    assert Client().get(other_url, follow=True).context["validlink"] is False


# --- Login throttling ------------------------------------------------------------------------


def fail(client: Client, email: str, times: int, ip: str = OFFICE) -> list[int]:
    return [login(client, email, "wrong-password", ip).status_code for _ in range(times)]


def test_five_failures_lock_that_email_from_that_address_with_a_clear_message(
    client, world, settings
):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert fail(client, world.member_a.email, 4) == [200] * 4  # the form says "do not match"
    assert login(Client(), world.member_a.email).status_code == 302  # 4 typos: still fine
    assert fail(client, world.member_a.email, 5) == [200] * 4 + [429]  # the 5th locks

    response = login(client, world.member_a.email)  # even the right password now
    assert response.status_code == 429
    assert "Too many failed attempts" in response.content.decode()
    assert "15 minutes" in response.content.decode()
    locked = AuditEvent.objects.filter(action=AuditAction.LOGIN_LOCKED_OUT)
    assert locked.exists()  # the lock, and each attempt refused while it holds
    assert {(e.actor, e.ip_address) for e in locked} == {(world.member_a, OFFICE)}


def test_the_email_is_counted_case_insensitively(client, world):
    for variant in ("MEMBER.A@alpha.test", "member.a@ALPHA.test", " member.a@alpha.test"):
        login(client, variant, "wrong")
    fail(client, world.member_a.email, 2)
    assert login(client, world.member_a.email).status_code == 429


def test_a_lockout_does_not_lock_out_colleagues_behind_the_same_address(client, world):
    fail(client, world.member_a.email, 5)
    assert login(client, world.member_a.email).status_code == 429
    # The colleague at the next desk, same office address: unaffected.
    assert login(Client(), world.customer_admin_a.email).status_code == 302
    # The same person from home: unaffected too (the attacker is not them).
    assert login(Client(), world.member_a.email, ip=ELSEWHERE).status_code == 302


def test_the_lock_lifts_after_the_cool_off(client, world):
    fail(client, world.member_a.email, 5)
    assert login(client, world.member_a.email).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert login(client, world.member_a.email).status_code == 302


def test_the_admin_login_shares_the_lock(client, world):
    fail(client, world.admin.email, 5)
    response = client.post(
        reverse("admin:login"),
        {"username": world.admin.email, "password": PASSWORD, "next": "/admin/"},
        REMOTE_ADDR=OFFICE,
    )
    assert response.status_code == 429


def test_admin_login_failures_count_towards_the_web_login_lock(client, world):
    for _ in range(5):
        client.post(
            reverse("admin:login"),
            {"username": world.admin.email, "password": "nope", "next": "/admin/"},
            REMOTE_ADDR=OFFICE,
        )
    assert login(client, world.admin.email).status_code == 429


def test_a_password_check_through_authenticate_is_refused_while_locked(client, world):
    """What API token creation does: authenticate(request=...) with the user's password."""
    fail(client, world.member_a.email, 5)
    request = RequestFactory().post("/accounts/api-tokens/", REMOTE_ADDR=OFFICE)
    assert authenticate(request=request, username=world.member_a.email, password=PASSWORD) is None
    elsewhere = RequestFactory().post("/accounts/api-tokens/", REMOTE_ADDR=ELSEWHERE)
    assert authenticate(request=elsewhere, username=world.member_a.email, password=PASSWORD)


# --- Health ----------------------------------------------------------------------------------


def test_health_answers_ok_when_database_and_redis_answer(client, db):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}
    assert "no-cache" in response["Cache-Control"]


def test_health_names_redis_when_it_does_not_answer_and_leaks_nothing(client, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "redis": "unavailable"},
    }
    assert b"127.0.0.1" not in response.content


@pytest.mark.parametrize("path", ["/health/", "/ping/"])
def test_health_needs_no_login_and_sets_no_cookie(client, db, path):
    response = client.get(path)
    assert response.status_code == 200
    assert not response.cookies
