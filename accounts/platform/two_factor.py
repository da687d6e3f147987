"""Two-factor sign-in: who must use it, enrolment, recovery codes and the login's code step.

django-otp keeps the devices: a confirmed `TOTPDevice` is the person's authenticator app, a
`StaticDevice` holds their single-use recovery codes. A session is *verified* once
django-otp's login has put one of them in it (`request.user.is_verified()`, set by its
OTPMiddleware on every request; deleting the device ends the verification).

Who must: staff (`User.is_employee`, admins included), always; the members of an
organisation that requires it (`Organisation.requires_two_factor`, set by its customer
admins), from their next sign-in. Other customers may turn it on. Whoever has an
authenticator gives a code after the password at every sign-in (the login logs them in only
then); whoever must but has none is signed in to enrol and can do nothing else
(`accounts.platform.middleware.TwoFactorMiddleware`).

Wrong codes are failed logins: each is announced as Django's `user_login_failed` with the
credentials the password step gives axes (the email), so they count towards the same lock of
that email from that address, and while the lock holds no code is even tried.
"""

from __future__ import annotations

import time
from base64 import b32encode

import segno
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import login, user_logged_in, user_login_failed
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.choices import AuditAction
from accounts.models import Membership, Organisation, User
from accounts.platform.authentication import PERSON_BACKEND

# Set at every login: this session must be verified before it may do anything.
SESSION_NEEDED = "two_factor_needed"
# The password was right, the code is still to come: {"user", "backend", "hash", "at", "next"}.
SESSION_PENDING = "two_factor_pending"

AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


# --- Who must ----------------------------------------------------------------------------------


def required_for(user: User) -> bool:
    """Staff always; a customer when one of their organisations requires it."""
    if user.is_employee:
        return True
    return (
        Membership.objects.active()
        .filter(user=user, organisation__requires_two_factor=True)
        .exists()
    )


def required_reason(user: User) -> str:
    if user.is_employee:
        return _("Everyone on the portal's staff signs in with a second factor.")
    names = Organisation.objects.filter(
        memberships__user=user, memberships__is_active=True, requires_two_factor=True
    ).values_list("name", flat=True)
    return _("%(names)s requires it of everyone who signs in for them.") % {
        "names": ", ".join(names)
    }


def authenticator(user: User) -> TOTPDevice | None:
    """The person's confirmed authenticator app, if any (an unconfirmed one does not count)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_authenticator(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


# --- Enrolment ---------------------------------------------------------------------------------


def enrolment_device(*, user: User) -> TOTPDevice:
    """The unconfirmed authenticator being set up: the same one until it is confirmed, so a
    reload shows the same QR code."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)


def secret_text(device: TOTPDevice) -> str:
    """The secret as an authenticator app takes it typed in: base32, in groups of four."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// link as an inline SVG QR code, made here (no external service); its
    attributes carry no style, so the Content-Security-Policy has nothing to block."""
    return segno.make(device.config_url, error="m").svg_inline(
        scale=4, light="#fff", svgclass="qr-code", lineclass=None
    )


@transaction.atomic
def enrolment_confirm(
    *, user: User, code: str, ip_address: str | None = None
) -> tuple[TOTPDevice, list[str]]:
    """Confirm the authenticator being set up with a first code from it; it replaces any
    earlier one. Returns it and a fresh set of recovery codes (shown once)."""
    from accounts.services import audit_record

    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, confirmed=False)
        .order_by("-pk")
        .first()
    )
    if device is None or not device.verify_token(_normalised(code)):
        raise ValidationError(
            {"code": _("That code does not match. Check the app shows this account and try again.")}
        )
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    codes = _recovery_codes_fill(user)
    audit_record(
        actor=user, action=AuditAction.TWO_FACTOR_ENABLED, target=user.email, ip_address=ip_address
    )
    return device, codes


@transaction.atomic
def recovery_codes_replace(*, user: User, ip_address: str | None = None) -> list[str]:
    """New recovery codes; the old ones stop working."""
    from accounts.services import audit_record

    if not has_authenticator(user):
        raise ValidationError(_("Turn on two-factor sign-in first."))
    codes = _recovery_codes_fill(user)
    audit_record(
        actor=user, action=AuditAction.RECOVERY_CODES_MADE, target=user.email, ip_address=ip_address
    )
    return codes


def _recovery_codes_fill(user: User) -> list[str]:
    # The same device keeps its id, so a session verified by a recovery code stays verified.
    device, _ = StaticDevice.objects.get_or_create(
        user=user, defaults={"name": RECOVERY_NAME, "confirmed": True}
    )
    StaticDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(settings.TWO_FACTOR_RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@transaction.atomic
def two_factor_disable(*, user: User, ip_address: str | None = None) -> None:
    """A customer who chose two-factor sign-in turns it off (not allowed where it is required)."""
    from accounts.services import audit_record

    if required_for(user):
        raise ValidationError(required_reason(user))
    _devices_delete(user)
    audit_record(
        actor=user, action=AuditAction.TWO_FACTOR_DISABLED, target=user.email, ip_address=ip_address
    )


@transaction.atomic
def two_factor_reset(*, user: User, by: User | None, ip_address: str | None = None) -> None:
    """An admin removes a person's authenticator and recovery codes (a lost phone) and ends
    their sessions: they sign in with their password again and, where it is required, set
    up a new authenticator before anything else."""
    from accounts.platform.sessions import user_sessions_end
    from accounts.services import audit_record

    _devices_delete(user)
    user_sessions_end(user=user)
    audit_record(
        actor=by, action=AuditAction.TWO_FACTOR_RESET, target=user.email, ip_address=ip_address
    )


def _devices_delete(user: User) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


# --- The organisation's rule -------------------------------------------------------------------


@transaction.atomic
def organisation_two_factor_set(
    *,
    organisation: Organisation,
    required: bool,
    by: User,
    via_view_as: bool = False,
    ip_address: str | None = None,
) -> Organisation:
    """A customer admin requires (or stops requiring) two-factor sign-in of every member;
    each member must enrol at their next sign-in."""
    from accounts.services import audit_record

    if organisation.requires_two_factor == required:
        return organisation
    organisation.requires_two_factor = required
    organisation.save(update_fields=["requires_two_factor"])
    audit_record(
        actor=by,
        action=AuditAction.TWO_FACTOR_REQUIRED,
        organisation=organisation,
        target=organisation.name,
        detail={"required": required},
        via_view_as=via_view_as,
        ip_address=ip_address,
    )
    return organisation


# --- The login's code step ---------------------------------------------------------------------


def pending_start(request, user: User, *, next_url: str) -> None:
    """The password was right: remember who, for the code step, without logging them in."""
    request.session.cycle_key()  # a planted session id cannot be used to give the code
    request.session[SESSION_PENDING] = {
        "user": user.pk,
        "backend": getattr(user, "backend", PERSON_BACKEND),
        "hash": user.get_session_auth_hash(),
        "at": time.time(),
        "next": next_url,
    }


def pending_user(request) -> tuple[User | None, dict]:
    """Who gave the right password in this session and is to give a code; None once it is
    too late, the person was deactivated or their password changed meanwhile."""
    pending = request.session.get(SESSION_PENDING)
    if not pending:
        return None, {}
    if time.time() - pending.get("at", 0) > settings.TWO_FACTOR_LOGIN_SECONDS:
        request.session.pop(SESSION_PENDING, None)
        return None, {}
    user = User.objects.filter(pk=pending.get("user"), is_active=True).first()
    if user is None or user.get_session_auth_hash() != pending.get("hash"):
        request.session.pop(SESSION_PENDING, None)
        return None, {}
    return user, pending


def _credentials(user: User) -> dict:
    return {"username": user.email}  # what the login form gives authenticate(), and so axes


def is_locked_out(request, user: User) -> bool:
    """The lock of this email from this address (the one the password step is refused by)."""
    return AxesProxyHandler.is_locked(request, _credentials(user))


def failure_count(request, user: User) -> None:
    """A wrong code: a failed login for axes. If it reaches the limit, axes flags the request
    and its middleware answers with the lockout page."""
    user_login_failed.send(sender=__name__, credentials=_credentials(user), request=request)


def _normalised(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def code_verify(*, user: User, code: str) -> Device | None:
    """The device that accepts `code`: six digits are tried on the authenticator, anything
    else as a recovery code (used up when it works). None when nothing accepts it."""
    code = _normalised(code)
    if not code:
        return None
    kind = TOTPDevice if (len(code) == 6 and code.isdigit()) else StaticDevice
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            if isinstance(device, kind) and device.verify_token(code):
                return device
    return None


def second_factor_passed(request, *, user: User, device: Device, backend: str | None) -> str:
    """Sign the person in (when so far only their password was given: `backend` is the one
    that checked it) and mark the session verified by `device`, as django-otp does.
    Returns what to tell them."""
    from accounts.platform.middleware import client_ip
    from accounts.services import audit_record

    if backend is not None:
        request.session.pop(SESSION_PENDING, None)
        login(request, user, backend=backend)
    otp_login(request, device)
    if not isinstance(device, StaticDevice):
        return ""
    left = recovery_codes_left(user)
    audit_record(
        actor=user,
        action=AuditAction.RECOVERY_CODE_USED,
        target=user.email,
        detail={"left": left},
        ip_address=client_ip(request),
    )
    note = f"You signed in with a recovery code, which is now used up: {left} left."
    if left <= 3:
        note += " Make new ones on the two-factor sign-in page."
    return note


# --- At every login ----------------------------------------------------------------------------


def _logged_in(sender, request, user, **kwargs):
    # Decided once per sign-in (an organisation's new rule applies from the next one), so
    # ordinary requests ask the database nothing more than django-otp's device lookup.
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_NEEDED] = required_for(user) or has_authenticator(user)


def connect() -> None:
    """Called once from AccountsConfig.ready()."""
    user_logged_in.connect(_logged_in, dispatch_uid="accounts:two-factor-at-login")
