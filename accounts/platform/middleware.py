"""Which organisation's screens a request shows, the audit of what it does, caching, and
the second factor that must come first.

`request.organisation` is the organisation whose customer screens this
request renders (None for staff outside "view as"), and
`request.viewing_as` is True when staff are looking through the customer's
eyes. Both are re-checked against the access policy on every request.
"""

import functools
import time
from contextlib import suppress
from types import SimpleNamespace
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from axes.helpers import get_client_ip_address
from django.apps import apps
from django.conf import settings
from django.contrib.auth import middleware as auth_middleware
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.functional import LazyObject, SimpleLazyObject, empty
from django_htmx.http import HttpResponseClientRedirect
from django_otp.middleware import OTPMiddleware
from django_otp.models import Device

from accounts import locale, policy
from accounts.choices import AuditAction
from accounts.models import Organisation
from accounts.platform import audit, authentication, sessions
from accounts.selectors import customer_organisation_list
from config import prepared

SESSION_ORGANISATION = "organisation_id"
SESSION_VIEW_AS = "view_as_organisation_id"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
# Where the request shows no organisation, the locale defaults look no further (no query).
_NO_ORGANISATION = SimpleNamespace(time_zone="")


def client_ip(request) -> str | None:
    """The client's address, as the login throttle sees it (trusted proxies honoured)."""
    return get_client_ip_address(request)


def _resolve(request) -> tuple[Organisation | None, bool]:
    user = request.user
    if not user.is_authenticated:
        return None, False
    session = request.session
    view_as_id = session.get(SESSION_VIEW_AS)
    if view_as_id is not None:
        organisation = Organisation.objects.visible_to(user).filter(pk=view_as_id).first()
        if organisation is not None and policy.can_view_as(user, organisation):
            return organisation, True
        session.pop(SESSION_VIEW_AS, None)  # access was removed: view-as ends here
    if user.is_employee:
        return None, False
    # All of them in one query: the switcher lists them (portal_context).
    mine = request.customer_organisations = customer_organisation_list(user=user)
    chosen_id = session.get(SESSION_ORGANISATION)
    chosen = [organisation for organisation in mine if organisation.pk == chosen_id]
    organisation = (chosen or mine or [None])[0]
    if organisation is None:
        session.pop(SESSION_ORGANISATION, None)
    return organisation, False


class SessionRefreshMiddleware:
    """A signed-in session's expiry moves with use, written at most once a minute
    (accounts.platform.sessions): saving it on every request (SESSION_SAVE_EVERY_REQUEST) cost each
    page an UPDATE in a transaction of its own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = request.session
        # An empty session is an anonymous visitor's (or one just logged out): none to keep.
        if session.accessed and not session.is_empty():
            age = time.time() - session.get(sessions.REFRESHED_AT, 0)
            if age >= settings.SESSION_REFRESH_SECONDS:
                sessions.refreshed(session)
        return response


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """Django's, with PersonBackend taking the person read in the session's statement
    (accounts.platform.sessions): one round trip for both on every signed-in request.
    Django's auth.get_user still decides who it is (the session's backend, the hash of the
    password and session epoch, an active person)."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(functools.partial(_signed_in, request))


def _signed_in(request):
    with authentication.session_read(request.session):
        return auth_middleware.get_user(request)  # kept on the request, as Django's


def _device_by_id(model, *, device_id: int):
    return model.objects.filter(pk=device_id)


class SecondFactorMiddleware(OTPMiddleware):
    """django-otp's OTPMiddleware (request.user.is_verified()), taking the session's
    authenticator read in the session's statement (accounts.platform.sessions), else
    reading the device by SQL built once per process (config/prepared.py): every request
    of a verified person reads it, and the ORM took longer to build the query than
    PostgreSQL took to answer it."""

    def _verify_user_sync(self, request, user):
        with authentication.session_read(request.session):
            return super()._verify_user_sync(request, user)

    def _device_from_persistent_id(self, persistent_id: str):
        # Most often read with the session (accounts.platform.sessions); django-otp checks
        # whose it is and that it is confirmed, whichever way it was read.
        persistent_id = self._normalize_persistent_id(persistent_id)
        found = sessions.device_of(authentication.session_being_read(), persistent_id)
        if found is not None:
            return found
        # As Device.from_persistent_id: "app_label.model_name/id", nothing when malformed.
        with suppress(ValueError, LookupError):
            label, device_id = persistent_id.rsplit("/", 1)
            model = apps.get_model(label)
            if issubclass(model, Device):
                found = prepared.objects(_device_by_id, model, device_id=int(device_id))
                return found[0] if found else None
        return None


def _unwrapped(user):
    """The person behind Django's and django-otp's lazy proxies of request.user: a page reads
    them hundreds of times (templates, the policy), each read through both proxies."""
    while isinstance(user, LazyObject):
        if user._wrapped is empty:
            user._setup()
        user = user._wrapped
    return user


class CurrentOrganisationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Every request reads its person here: later middleware and the view get them as is.
        request.user = _unwrapped(request.user)
        request.organisation, request.viewing_as = _resolve(request)
        return self.get_response(request)


class PersonLocaleMiddleware:
    """Pages in the signed-in person's language and time zone (accounts/locale.py).

    Staff viewing as a customer keep their own: the customer's screens, in their words.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if not user.is_authenticated:
            return self.get_response(request)
        organisation = request.organisation if not request.viewing_as else None
        # A staff member without a zone of their own: the default, not a customer's.
        organisation = organisation or _NO_ORGANISATION
        language = locale.person_language(
            user, organisation, browser=locale.browser_language(request)
        )
        zone = ZoneInfo(locale.person_time_zone(user, organisation))
        # Overrides, not activate(): the thread goes back to the defaults after the request.
        with translation.override(language), timezone.override(zone):
            request.LANGUAGE_CODE = translation.get_language()
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response


class ViewAsAuditMiddleware:
    """Every change made while viewing as a customer is attributed and recorded."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            getattr(request, "viewing_as", False)
            # Leaving view-as is recorded as its own event, not as an action in it.
            and request.session.get(SESSION_VIEW_AS) is not None
            and request.method not in SAFE_METHODS
            and response.status_code < 400
        ):
            from accounts.services import audit_record

            audit_record(
                actor=request.user,
                action=AuditAction.VIEW_AS_ACTION,
                organisation=request.organisation,
                target=request.path,
                detail={"method": request.method, "status": response.status_code},
                via_view_as=True,
                ip_address=client_ip(request),
            )
        return response


class AuditContextMiddleware:
    """Record changes made while serving a request are attributed to its user
    (accounts.platform.audit)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        with audit.acting(
            actor_id=user.pk if user.is_authenticated else None,
            ip_address=functools.cache(functools.partial(client_ip, request)),
            via_view_as=getattr(request, "viewing_as", False),
        ):
            return self.get_response(request)


class NoStoreMiddleware:
    """Pages shown to a logged-in person are never kept by browsers or proxies.

    A shared computer's Back button or a proxy's cache must not show one
    customer's orders or invoices after they logged out.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Before and after: the page that logs someone in or out is theirs too.
        was_authenticated = request.user.is_authenticated
        response = self.get_response(request)
        if was_authenticated or request.user.is_authenticated:
            add_never_cache_headers(response)
        return response


class TwoFactorMiddleware:
    """Who must sign in with a second factor can do nothing else until they have.

    A signed-in session that is not verified (django-otp) and must be (staff, or flagged at
    login: a required organisation, or an authenticator the person has) reaches only the
    code step, enrolment, logout and the public health checks. Pages send it to the code
    step when the person has an authenticator, to enrolment when they have none; htmx is
    told to load that page; the API answers 403.

    API requests that carry a personal token (`Authorization: Bearer ...`) are left to the
    API: the token authenticates them, not this session, and a token is made only from a
    verified session where two-factor sign-in applies (docs/production.md).
    """

    OPEN = {
        "accounts:two_factor_login",
        "accounts:two_factor",
        "accounts:logout",
        "health",
        "ping",
    }

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        from accounts.platform import two_factor

        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        if not (user.is_employee or request.session.get(two_factor.SESSION_NEEDED)):
            return None
        if request.resolver_match.view_name in self.OPEN:
            return None
        if request.path.startswith(settings.STATIC_URL):
            return None
        if request.path.startswith("/api/"):
            if request.headers.get("Authorization", "").lower().startswith("bearer "):
                return None
            return JsonResponse(
                {"detail": "Finish signing in with your second factor on the website first."},
                status=403,
            )
        if two_factor.has_authenticator(user):
            url = reverse("accounts:two_factor_login")
        else:
            url = reverse("accounts:two_factor")
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(url)
        if request.method in SAFE_METHODS:
            url = f"{url}?{urlencode({'next': request.get_full_path()})}"
        return redirect(url)
