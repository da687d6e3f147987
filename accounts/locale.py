"""A person's language and time zone: which ones apply, and rendering in them.

Pages activate them per request (accounts.platform.middleware.PersonLocaleMiddleware); mails,
exports and PDFs made for someone, by a web process or a Celery worker, render inside
`person_locale(person)`. A person who chose nothing gets sensible defaults: the language
of their organisation's country (else their browser's, remembered at sign-in, else
LANGUAGE_CODE) and their organisation's time zone (else PORTAL_DEFAULT_TIME_ZONE).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

# The organisation's country, as its time zone tells it, where that country speaks one of
# our languages: Organisation keeps a zone, not a country.
ZONE_LANGUAGE = {
    "Europe/Berlin": "de",
    "Europe/Busingen": "de",
    "Europe/Vienna": "de",
    "Europe/Zurich": "de",
    "Europe/Vaduz": "de",
    "Europe/London": "en-gb",
    "Europe/Dublin": "en-gb",
}


def validate_time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError(
            _("Unknown time zone %(zone)s: use a name such as Europe/London."),
            params={"zone": value},
        ) from error


def validate_language(value: str) -> None:
    if value not in dict(settings.LANGUAGES):
        raise ValidationError(_("Unknown language %(language)s."), params={"language": value})


def time_zone_choices() -> list[tuple[str, str]]:
    """Every IANA zone by name (Europe/Berlin, ...), for a select."""
    zones = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))
    return [(zone, zone.replace("_", " ")) for zone in zones]


def _organisation_zone(organisation) -> str:
    zone = getattr(organisation, "time_zone", "") or ""
    return "" if zone in ("", "UTC") else zone  # UTC is the field's default, not a choice


def _first_organisation(person):
    from accounts.selectors import customer_organisations

    if person.is_employee:
        return None
    return customer_organisations(user=person).first()


def person_time_zone(person, organisation=None) -> str:
    """The zone `person` reads times in: their own choice, else their organisation's."""
    if person.time_zone:
        return person.time_zone
    if organisation is None and person.pk:
        organisation = _first_organisation(person)
    return _organisation_zone(organisation) or settings.PORTAL_DEFAULT_TIME_ZONE


def person_language(person, organisation=None, browser: str = "") -> str:
    """The language `person` reads: their own choice, else their browser's (on a page),
    else their organisation's country's, else LANGUAGE_CODE."""
    if person.language:
        return person.language
    if browser:
        return browser
    if organisation is None and person.pk:
        organisation = _first_organisation(person)
    return ZONE_LANGUAGE.get(_organisation_zone(organisation)) or settings.LANGUAGE_CODE


def browser_language(request) -> str:
    """The supported language the browser asks for first (Accept-Language), or ""."""
    if not request.headers.get("Accept-Language"):
        return ""
    return translation.get_language_from_request(request)


@contextlib.contextmanager
def person_locale(person, organisation=None) -> Iterator[None]:
    """Render inside for `person`: their language and time zone, whoever runs the code."""
    with (
        translation.override(person_language(person, organisation)),
        timezone.override(ZoneInfo(person_time_zone(person, organisation))),
    ):
        yield


@contextlib.contextmanager
def organisation_locale(organisation) -> Iterator[None]:
    """For someone of `organisation` who has no account yet (an invitation): its country's
    language and its zone."""
    zone = _organisation_zone(organisation) or settings.PORTAL_DEFAULT_TIME_ZONE
    language = ZONE_LANGUAGE.get(_organisation_zone(organisation)) or settings.LANGUAGE_CODE
    with translation.override(language), timezone.override(ZoneInfo(zone)):
        yield


def zone_label(text: str) -> str:
    """A column heading that says its zone: "Created (Europe/Berlin)"."""
    return f"{text} ({timezone.get_current_timezone_name()})"
