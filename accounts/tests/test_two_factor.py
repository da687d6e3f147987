"""Two-factor sign-in: enrolment, the login's code step, recovery codes, who must, the lock."""

import re
import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.choices import AuditAction
from accounts.models import AuditEvent
from accounts.platform import two_factor
from accounts.services import api_token_create
from accounts.tests.factories import PASSWORD
from accounts.tests.two_factor import authenticator_of, next_code, totp_code

OFFICE = "203.0.113.10"
ELSEWHERE = "198.51.100.7"


def password_step(client, user, password=PASSWORD, ip=OFFICE, **data):
    return client.post(
        reverse("accounts:login"),
        {"username": user.email, "password": password, **data},
        REMOTE_ADDR=ip,
    )


def code_step(client, code, ip=OFFICE):
    return client.post(reverse("accounts:two_factor_login"), {"code": code}, REMOTE_ADDR=ip)


def wrong_code(device) -> str:
    """Six digits none of the device's acceptable time steps would show."""
    now = time.time()
    good = {totp_code(device.key, at=now + shift) for shift in (-60, -30, 0, 30, 60)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in good)


def recovery_codes_of(user) -> list[str]:
    return list(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))


def enrolled(user) -> TOTPDevice:
    """An authenticator and recovery codes, as enrolment leaves them."""
    device = authenticator_of(user)
    two_factor.recovery_codes_replace(user=user)
    return device


def signed_in(client) -> bool:
    return client.get(reverse("accounts:password_change")).status_code == 200


# --- Staff must enrol, and can do nothing else until then --------------------------------------


def test_staff_who_only_gave_a_password_reach_no_page(world):
    client = Client()
    client.force_login(world.am_a)  # Django's own client: the password step, nothing more
    for name in ("home", "portal:work_queue", "tickets:queue", "accounts:api_tokens"):
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("accounts:two_factor")), name
    assert client.get("/admin/").status_code == 302
    view_as = client.post(reverse("accounts:view_as_start", args=[world.org_a.pk]))
    assert view_as["Location"] == reverse("accounts:two_factor")
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW_AS_START).exists()
    # The API through the session: refused; htmx is told to load the enrolment page.
    assert client.get("/api/v1/orders/").status_code == 403
    htmx = client.get(reverse("portal:work_queue"), headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"] == reverse("accounts:two_factor")
    # What stays open: enrolment, health checks, logging out.
    assert client.get(reverse("accounts:two_factor")).status_code == 200
    assert client.get(reverse("ping")).status_code == 200
    assert client.post(reverse("accounts:logout")).status_code == 302


def test_the_test_clients_forced_login_is_verified_and_the_password_only_one_is_not(client, world):
    client.force_login_password_only(world.admin)
    assert client.get(reverse("home")).status_code == 302
    client.force_login(world.admin)
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("admin:index")).status_code == 200


def test_staff_enrol_after_their_password_then_see_recovery_codes_once(world):
    client = Client()
    response = password_step(client, world.agent, next="/tickets/queue/")
    assert response.status_code == 302  # signed in, to enrol: no authenticator yet
    page = client.get(response["Location"], follow=True)
    assert page.redirect_chain[-1][0].startswith(reverse("accounts:two_factor"))
    html = page.content.decode()
    assert "<svg" in html
    assert "Set up two-factor sign-in" in html
    assert "style=" not in html
    assert "<script>" not in html
    device = TOTPDevice.objects.get(user=world.agent)
    assert not device.confirmed  # an unconfirmed device does not count
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', html).group(1)
    assert two_factor.secret_text(device) == secret
    url = page.redirect_chain[-1][0]

    wrong = client.post(url, {"code": wrong_code(device)})
    assert wrong.status_code == 400
    assert "does not match" in wrong.content.decode()
    assert client.get(reverse("tickets:queue")).status_code == 302

    done = client.post(url, {"code": next_code(device)}, follow=True)
    html = done.content.decode()
    codes = re.findall(r'<li><code class="token">([a-z2-7]{8})</code></li>', html)
    assert len(codes) == 10
    assert sorted(codes) == sorted(recovery_codes_of(world.agent))
    assert 'href="/tickets/queue/"' in html  # then on to where they were going
    assert client.get(reverse("tickets:queue")).status_code == 200
    again = client.get(reverse("accounts:two_factor")).content.decode()
    assert codes[0] not in again  # shown once
    assert 'data-testid="recovery-codes-left">10<' in again
    assert AuditEvent.objects.filter(
        action=AuditAction.TWO_FACTOR_ENABLED, actor=world.agent
    ).exists()


def test_an_unconfirmed_device_gives_no_code_step(world):
    TOTPDevice.objects.create(user=world.am_a, name="half set up", confirmed=False)
    client = Client()
    response = password_step(client, world.am_a)
    assert response["Location"] == reverse("home")  # logged in, so to enrol
    assert client.get(reverse("home"))["Location"].startswith(reverse("accounts:two_factor"))


# --- The login's code step -------------------------------------------------------------------


def test_with_an_authenticator_the_password_alone_does_not_log_in(world):
    device = enrolled(world.am_a)
    client = Client()
    response = password_step(client, world.am_a, next="/workspace/queue/")
    assert response["Location"] == reverse("accounts:two_factor_login")
    assert not signed_in(client)
    assert client.get(reverse("accounts:two_factor_login")).status_code == 200

    response = code_step(client, next_code(device))
    assert response["Location"] == "/workspace/queue/"
    assert client.get(reverse("portal:work_queue")).status_code == 200
    assert client.get("/api/v1/orders/").status_code == 200


def test_a_code_works_once(world):
    device = enrolled(world.member_a)
    first = Client()
    password_step(first, world.member_a)
    code = next_code(device)
    assert code_step(first, code).status_code == 302
    second = Client()
    password_step(second, world.member_a)
    again = code_step(second, code)
    assert again.status_code == 200
    assert "not right" in again.content.decode()
    assert not signed_in(second)


def test_a_recovery_code_signs_in_once_and_is_used_up(world):
    enrolled(world.member_a)
    code = recovery_codes_of(world.member_a)[0]
    client = Client()
    password_step(client, world.member_a)
    response = code_step(client, f" {code[:4].upper()}-{code[4:]} ", ip=OFFICE)  # as typed
    assert response.status_code == 302
    assert "9 left" in client.get(reverse("home")).content.decode()
    assert code not in recovery_codes_of(world.member_a)
    assert AuditEvent.objects.filter(action=AuditAction.RECOVERY_CODE_USED).count() == 1

    other = Client()
    password_step(other, world.member_a)
    assert code_step(other, code).status_code == 200
    assert not signed_in(other)


def test_the_code_step_waits_only_so_long_after_the_password(world, settings):
    enrolled(world.member_a)
    client = Client()
    password_step(client, world.member_a)
    session = client.session
    session[two_factor.SESSION_PENDING]["at"] -= settings.TWO_FACTOR_LOGIN_SECONDS + 1
    session.save()
    response = code_step(client, next_code(two_factor.authenticator(world.member_a)))
    assert response["Location"] == reverse("accounts:login")
    assert not signed_in(client)


def test_a_password_change_meanwhile_voids_the_waiting_code_step(world):
    device = enrolled(world.member_a)
    client = Client()
    password_step(client, world.member_a)
    world.member_a.set_password("another-long-passphrase-3")
    world.member_a.save()
    assert code_step(client, next_code(device))["Location"] == reverse("accounts:login")


# --- The login lock covers the second factor ---------------------------------------------------


def test_five_wrong_codes_lock_that_email_from_that_address_as_wrong_passwords_do(world, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    device = enrolled(world.member_a)
    client = Client()
    password_step(client, world.member_a)
    bad = wrong_code(device)
    assert [code_step(client, bad).status_code for _ in range(4)] == [200] * 4
    assert code_step(client, next_code(device)).status_code == 302  # 4 typos: still fine
    client.post(reverse("accounts:logout"))

    password_step(client, world.member_a)
    answers = [code_step(client, bad) for _ in range(5)]
    assert [answer.status_code for answer in answers] == [200] * 4 + [429]
    assert "Too many failed attempts" in answers[-1].content.decode()
    # The waiting code step ends with the lock: the right code now leads back to the login.
    assert code_step(client, next_code(device))["Location"] == reverse("accounts:login")
    # Locked as after five wrong passwords: even the right password is refused now.
    response = password_step(Client(), world.member_a)
    assert response.status_code == 429
    assert "15 minutes" in response.content.decode()
    locked = AuditEvent.objects.filter(action=AuditAction.LOGIN_LOCKED_OUT)
    assert {(e.actor, e.ip_address) for e in locked} == {(world.member_a, OFFICE)}
    # The same person elsewhere is not locked; the tried codes are not kept by axes.
    elsewhere = Client()
    assert password_step(elsewhere, world.member_a, ip=ELSEWHERE).status_code == 302
    assert code_step(elsewhere, next_code(device), ip=ELSEWHERE).status_code == 302
    assert not any(bad in a.post_data for a in AccessAttempt.objects.all())


def test_the_right_password_does_not_reset_the_count_of_wrong_codes(world):
    device = enrolled(world.am_a)
    bad = wrong_code(device)
    client = Client()
    password_step(client, world.am_a)
    for _ in range(4):
        code_step(client, bad)
    password_step(client, world.am_a)  # start again with the right password: no fresh tries
    assert code_step(client, bad).status_code == 429


def test_wrong_passwords_and_wrong_codes_add_up(world):
    device = enrolled(world.am_a)
    client = Client()
    for _ in range(3):
        password_step(client, world.am_a, password="wrong")
    password_step(client, world.am_a)
    assert code_step(client, wrong_code(device)).status_code == 200
    assert code_step(client, wrong_code(device)).status_code == 429


def test_the_lock_lifts_after_the_cool_off_for_codes_too(world):
    device = enrolled(world.member_a)
    client = Client()
    password_step(client, world.member_a)
    for _ in range(5):
        code_step(client, wrong_code(device))
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert password_step(client, world.member_a).status_code == 302
    assert code_step(client, next_code(device)).status_code == 302


# --- Django admin signs in the same way -------------------------------------------------------


def test_the_admin_login_asks_for_the_code_too(world):
    device = enrolled(world.admin)
    client = Client()
    response = client.post(
        reverse("admin:login"),
        {"username": world.admin.email, "password": PASSWORD, "next": "/admin/"},
        REMOTE_ADDR=OFFICE,
    )
    assert response["Location"] == reverse("accounts:two_factor_login")
    assert client.get("/admin/").status_code == 302
    assert code_step(client, next_code(device))["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_an_admin_resets_a_persons_two_factor_in_django_admin(client, world):
    enrolled(world.am_a)
    theirs = Client()
    theirs.force_login(world.am_a)
    client.force_login(world.admin)
    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reset_two_factor", "_selected_action": [world.am_a.pk]},
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=world.am_a).exists()
    assert not StaticDevice.objects.filter(user=world.am_a).exists()
    assert theirs.get(reverse("home"))["Location"].startswith(reverse("accounts:login"))
    event = AuditEvent.objects.get(action=AuditAction.TWO_FACTOR_RESET)
    assert (event.actor, event.target) == (world.admin, world.am_a.email)
    # Back with the password: straight to setting up a new authenticator.
    again = Client()
    password_step(again, world.am_a)
    assert again.get(reverse("home"))["Location"].startswith(reverse("accounts:two_factor"))


# --- Recovery codes, turning it off -----------------------------------------------------------


def test_new_recovery_codes_void_the_old_ones(client, world):
    enrolled(world.member_a)
    old = recovery_codes_of(world.member_a)
    client.force_login(world.member_a)
    response = client.post(reverse("accounts:two_factor_recovery_codes"), follow=True)
    new = re.findall(r'<code class="token">([a-z2-7]{8})</code>', response.content.decode())
    assert len(new) == 10
    assert set(recovery_codes_of(world.member_a)) == set(new)
    assert not set(old) & set(new)
    assert signed_in(client)  # the session stays verified
    other = Client()
    password_step(other, world.member_a)
    assert code_step(other, old[0]).status_code == 200


def test_a_customer_turns_it_on_and_off_with_their_password(client, world):
    client.force_login(world.member_a)
    page = client.get(reverse("accounts:two_factor")).content.decode()
    assert "Set up two-factor sign-in" in page
    assert "needs two-factor" not in page
    device = TOTPDevice.objects.get(user=world.member_a)
    client.post(reverse("accounts:two_factor"), {"code": next_code(device)})
    assert two_factor.has_authenticator(world.member_a)

    wrong = client.post(reverse("accounts:two_factor_disable"), {"password": "nope"})
    assert wrong.status_code == 400
    assert two_factor.has_authenticator(world.member_a)
    assert AccessAttempt.objects.get().failures_since_start == 1  # counted like a login

    off = client.post(reverse("accounts:two_factor_disable"), {"password": PASSWORD})
    assert off["Location"] == reverse("accounts:two_factor")
    assert not TOTPDevice.objects.filter(user=world.member_a).exists()
    assert not StaticDevice.objects.filter(user=world.member_a).exists()
    assert signed_in(client)
    assert password_step(Client(), world.member_a)["Location"] == reverse("home")


def test_a_customer_turns_it_off_with_a_current_code(client, world):
    device = enrolled(world.member_a)
    client.force_login(world.member_a)
    response = client.post(reverse("accounts:two_factor_disable"), {"code": next_code(device)})
    assert response.status_code == 302
    assert not two_factor.has_authenticator(world.member_a)


def test_staff_cannot_turn_it_off(client, world):
    client.force_login(world.am_a)
    page = client.get(reverse("accounts:two_factor")).content.decode()
    assert "required for you" in page
    assert "Turn off two-factor" not in page
    response = client.post(reverse("accounts:two_factor_disable"), {"password": PASSWORD})
    assert response.status_code == 403
    assert two_factor.has_authenticator(world.am_a)


# --- A customer admin requires it of the organisation -----------------------------------------


def test_a_customer_admin_requires_it_and_every_member_enrols_at_next_sign_in(client, world):
    client.force_login(world.customer_admin_a)
    page = client.get(reverse("accounts:members")).content.decode()
    assert "Two-factor sign-in" in page
    assert "Required</span>" not in page
    response = client.post(reverse("accounts:member_two_factor"), {"requires_two_factor": "on"})
    world.org_a.refresh_from_db()
    assert world.org_a.requires_two_factor
    event = AuditEvent.objects.get(action=AuditAction.TWO_FACTOR_REQUIRED)
    assert (event.actor, event.organisation, event.detail) == (
        world.customer_admin_a,
        world.org_a,
        {"required": True},
    )
    # The admin starts with themselves.
    assert response["Location"] == reverse("accounts:two_factor")
    assert client.get(reverse("portal:orders")).status_code == 302

    colleague = Client()
    password_step(colleague, world.member_a)
    orders = colleague.get(reverse("portal:orders"))
    assert orders["Location"].startswith(reverse("accounts:two_factor"))
    setup = colleague.get(reverse("accounts:two_factor")).content.decode()
    assert "Alpha Clinic requires it" in setup
    device = TOTPDevice.objects.get(user=world.member_a)
    colleague.post(reverse("accounts:two_factor"), {"code": next_code(device)})
    assert colleague.get(reverse("portal:orders")).status_code == 200
    required = colleague.post(reverse("accounts:two_factor_disable"), {"password": PASSWORD})
    assert required.status_code == 403

    # Another organisation's people are not affected.
    elsewhere = Client()
    password_step(elsewhere, world.member_b)
    assert elsewhere.get(reverse("portal:orders")).status_code == 200


def test_an_admin_who_has_an_authenticator_stays_on_the_members_page(client, world):
    enrolled(world.customer_admin_a)
    client.force_login(world.customer_admin_a)
    response = client.post(reverse("accounts:member_two_factor"), {"requires_two_factor": "on"})
    assert response["Location"] == reverse("accounts:members")
    page = client.get(reverse("accounts:members")).content.decode()
    assert "Required</span>" in page
    assert page.count('<span class="pill pill-green">On</span>') == 1  # only the admin has it
    client.post(reverse("accounts:member_two_factor"), {})
    world.org_a.refresh_from_db()
    assert not world.org_a.requires_two_factor
    assert AuditEvent.objects.filter(action=AuditAction.TWO_FACTOR_REQUIRED).count() == 2


def test_a_member_who_is_not_a_customer_admin_cannot_require_it(client, world):
    client.force_login(world.member_a)
    response = client.post(reverse("accounts:member_two_factor"), {"requires_two_factor": "on"})
    assert response.status_code == 403
    world.org_a.refresh_from_db()
    assert not world.org_a.requires_two_factor


# --- API tokens -------------------------------------------------------------------------------


def test_a_personal_api_token_is_not_asked_for_a_second_factor(world):
    _, token = api_token_create(user=world.am_a, name="CRM export")
    caller = Client(headers={"Authorization": f"Bearer {token}"})
    assert caller.get("/api/v1/managed-accounts/").status_code == 200
    unverified = Client(headers={"Authorization": f"Bearer {token}"})
    unverified.force_login(world.am_b)  # a session that passed only a password, and a token
    assert unverified.get("/api/v1/managed-accounts/").status_code == 200
    # Any other Authorization scheme falls back to the session, so is stopped.
    other = Client(headers={"Authorization": "Basic eDp5"})
    other.force_login(world.am_b)
    assert other.get("/api/v1/managed-accounts/").status_code == 403


@pytest.mark.parametrize("who", ["member_a", "customer_admin_a"])
def test_customers_without_two_factor_sign_in_as_before(world, who):
    client = Client()
    assert password_step(client, getattr(world, who))["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200
