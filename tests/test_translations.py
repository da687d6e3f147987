"""Translations: every visible template string is marked, the German catalogue is complete
and compiled, and a person reads pages, emails and exports in their language and zone."""

import gettext
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import settings as settings_hypothesis
from hypothesis import strategies as st

from accounts.locale import person_language, person_locale, person_time_zone
from config.template_text import untranslated

ROOT = Path(settings.BASE_DIR)
CATALOGUE = ROOT / "config" / "locale" / "de" / "LC_MESSAGES"
IGNORE = ["tests", "*/tests/*", "scripts", "docs", "var", "staticfiles", "customer_portal.egg-info"]
needs_gettext = pytest.mark.skipif(not shutil.which("msgattrib"), reason="gettext not installed")


def template_files():
    folders = [ROOT / "templates", *ROOT.glob("*/templates"), *ROOT.glob("portal/*/templates")]
    return sorted(
        p for folder in folders for p in folder.rglob("*") if p.suffix in {".html", ".txt"}
    )


# --- The rule that finds untranslated text --------------------------------------------------


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("<p>Hello</p>", ["Hello"]),
        ("<p>{{ name }} opened {{ ref }}</p>", ["{{ name }} opened {{ ref }}"]),
        ('<button title="Delete it">x</button>', ["title=Delete it"]),
        ('<input type="submit" value="Send">', ["value=Send"]),
        ('{{ value|default:"nobody" }}', ['|default:"nobody"']),
        ("{% load i18n %}<p>{% translate 'Hello' %}</p>", []),
        ("{% load i18n %}<p>{% blocktranslate %}Hi {{ name }}{% endblocktranslate %}</p>", []),
        ("<p>{{ name }} · {{ date }} — 42</p>", []),  # no words of ours
        ("{% comment %}Notes{% endcomment %}<script>let a = 'b';</script>", []),
        ("{% block body_class %}auth{% endblock %}", []),
    ],
)
def test_untranslated_finds_visible_words_outside_translation_tags(source, found):
    assert untranslated(source) == found


def test_in_an_email_each_line_is_its_own_phrase():
    assert untranslated("Hello {{ name }},\n\nOpen it: {{ link }}\n", plain_text=True) == [
        "Hello {{ name }},",
        "Open it: {{ link }}",
    ]


@pytest.mark.parametrize("path", template_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_template_marks_its_visible_text_for_translation(path):
    assert untranslated(path.read_text(), plain_text=path.suffix == ".txt") == []


# --- The German catalogue -------------------------------------------------------------------


@needs_gettext
def test_german_catalogue_has_every_marked_string_translated(tmp_path, monkeypatch):
    """makemessages into a copy of the catalogue: any msgid without a German msgstr, or
    only a fuzzy guess, fails (run `make messages` and translate it)."""
    copy = tmp_path / "locale"
    shutil.copytree(ROOT / "config" / "locale", copy)
    monkeypatch.chdir(ROOT)
    with translation.override(None):
        settings_locale = settings.LOCALE_PATHS
        settings.LOCALE_PATHS = [copy]
        try:
            call_command(
                "makemessages",
                locale=["de"],
                extensions=["html", "txt", "py"],
                ignore_patterns=[".venv", *IGNORE],
                no_obsolete=True,
                verbosity=0,
            )
        finally:
            settings.LOCALE_PATHS = settings_locale
    po = copy / "de" / "LC_MESSAGES" / "django.po"
    missing = _msgids("--untranslated", po) + _msgids("--only-fuzzy", po)
    assert missing == [], f"untranslated in German (make messages, then translate): {missing}"


def _msgids(option: str, po: Path) -> list[str]:
    out = subprocess.run(  # noqa: S603 (gettext's own tool on our file)
        ["msgattrib", option, "--no-wrap", str(po)],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [
        line[7:-1] for line in out.splitlines() if line.startswith('msgid "') and line != 'msgid ""'
    ]


@needs_gettext
def test_the_committed_mo_is_compiled_from_the_po(tmp_path):
    fresh = tmp_path / "django.mo"
    subprocess.run(  # noqa: S603
        ["msgfmt", "--check-format", "-o", str(fresh), str(CATALOGUE / "django.po")],  # noqa: S607
        check=True,
    )
    with fresh.open("rb") as new, (CATALOGUE / "django.mo").open("rb") as committed:
        assert (
            gettext.GNUTranslations(committed)._catalog == gettext.GNUTranslations(new)._catalog
        ), "config/locale/de/LC_MESSAGES/django.mo is stale: run `make messages`"


# --- A person's language and time zone ------------------------------------------------------

SUMMER_NOON = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # 13:00 in London, 14:00 in Berlin


def _ticket(world):
    from tickets.services import ticket_create

    return ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject="Parcel missing",
        category="delivery",
        priority="normal",
        body="Where is it?",
        now=SUMMER_NOON,
    )


def test_a_customer_who_chose_german_reads_the_portal_in_german(client, world):
    world.member_a.language = "de"
    world.member_a.save()
    client.force_login(world.member_a)
    page = client.get(reverse("home")).content.decode()
    assert '<html lang="de">' in page
    assert "Offene Tickets" in page
    assert "Open tickets" not in page


def test_staff_read_their_own_pages_in_german_too(client, world):
    world.am_a.language = "de"
    world.am_a.save()
    client.force_login(world.am_a)
    page = client.get(reverse("home")).content.decode()
    assert "Meine Kunden" in page
    assert "My accounts" not in page


def test_without_a_choice_the_browser_language_applies(client, world):
    client.force_login(world.member_a)
    german = client.get(reverse("home"), headers={"accept-language": "de-DE,de;q=0.9"})
    assert "Offene Tickets" in german.content.decode()
    assert "Open tickets" in client.get(reverse("home")).content.decode()


def test_the_login_page_follows_the_browser_language(client):
    page = client.get(reverse("accounts:login"), headers={"accept-language": "de"})
    assert "Passwort vergessen?" in page.content.decode()


def test_the_preferences_page_saves_language_and_time_zone(client, world):
    client.force_login(world.member_a)
    url = reverse("accounts:preferences")
    response = client.post(url, {"language": "de", "time_zone": "Europe/Berlin"}, follow=True)
    assert "Sprache und Zeitzone gespeichert." in response.content.decode()
    world.member_a.refresh_from_db()
    assert (world.member_a.language, world.member_a.time_zone) == ("de", "Europe/Berlin")


@pytest.mark.parametrize(
    "data", [{"language": "xx", "time_zone": ""}, {"language": "", "time_zone": "Europe/Atlantis"}]
)
def test_an_unknown_language_or_zone_is_refused_and_nothing_changes(client, world, data):
    client.force_login(world.member_a)
    response = client.post(reverse("accounts:preferences"), data)
    assert response.status_code == 400
    world.member_a.refresh_from_db()
    assert (world.member_a.language, world.member_a.time_zone) == ("", "")


@pytest.mark.parametrize(
    ("zone", "shown"), [("Europe/Berlin", "1 Jul 2026 14:00"), ("", "1 Jul 2026 13:00")]
)
def test_ticket_times_are_shown_in_the_persons_zone(client, world, zone, shown):
    """A chosen zone, else the organisation's (Alpha is in London: BST in July)."""
    ticket = _ticket(world)
    world.member_a.time_zone = zone
    world.member_a.save()
    client.force_login(world.member_a)
    page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert shown in page


def test_the_csv_export_names_its_zone_and_gives_times_in_it(client, world):
    import csv
    import io

    _ticket(world)
    world.member_a.time_zone = "Europe/Berlin"
    world.member_a.save()
    client.force_login(world.member_a)
    response = client.get(reverse("tickets:list_csv"), {"status": "all"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    column = rows[0].index("Opened at (Europe/Berlin)")
    assert rows[1][column] == "2026-07-01T14:00:00+02:00"


def test_an_email_is_written_in_the_recipients_language_and_zone(world, mailoutbox):
    """Rendered by the task (as a worker would, with no request), for the requester."""
    from tickets.notifications import ticket_resolved_notify

    ticket = _ticket(world)
    world.member_a.language, world.member_a.time_zone = "de", "Europe/Berlin"
    world.member_a.save()
    ticket.refresh_from_db()
    with translation.override("en-gb"):  # whoever sends it reads English
        ticket_resolved_notify(ticket=ticket)
    (mail,) = mailoutbox
    assert mail.subject.startswith(f"[{ticket.reference}] Gelöst:")
    assert "Wir haben Ihr Ticket" in mail.body
    assert translation.get_language() == settings.LANGUAGE_CODE  # nothing leaks after


def test_the_defaults_come_from_the_organisation_then_the_portal(world):
    world.org_a.time_zone = "Europe/Berlin"
    world.org_a.save()
    assert person_time_zone(world.member_a) == "Europe/Berlin"
    assert person_language(world.member_a) == "de"  # the organisation's country
    assert person_language(world.member_a, browser="en-gb") == "en-gb"  # the browser wins
    assert person_time_zone(world.am_a) == settings.PORTAL_DEFAULT_TIME_ZONE == "Europe/London"
    assert person_language(world.am_a) == settings.LANGUAGE_CODE


def test_person_locale_renders_in_the_persons_words_and_time(world):
    world.member_b.language, world.member_b.time_zone = "de", "Asia/Tokyo"
    with person_locale(world.member_b):
        text = render_to_string("portal/no_organisation.html", {})
        assert timezone.get_current_timezone_name() == "Asia/Tokyo"
    assert "Kein Zugang" in text
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE


# --- The marking rule holds for templates nobody wrote yet -----------------------------------

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüßABCDEF .,:;!?()'-", min_size=1, max_size=30)
VARIABLES = st.sampled_from(["{{ name }}", "{{ ticket.reference }}", "{{ total|floatformat:2 }}"])
INLINE = st.sampled_from(["", "<strong>", "</strong>", "<a href='/x'>", "</a>", "<br>"])


@st.composite
def templates(draw):
    """A page of paragraphs, buttons and cells mixing words, variables and inline markup."""
    blocks = []
    for _ in range(draw(st.integers(1, 4))):
        tag = draw(st.sampled_from(["p", "td", "button", "h2", "label"]))
        parts = draw(st.lists(st.one_of(WORDS, VARIABLES, INLINE), min_size=1, max_size=6))
        title = draw(st.one_of(st.just(""), WORDS.map(lambda w: f' title="{w}"')))
        blocks.append(f"<{tag}{title}>{''.join(parts)}</{tag}>")
    return "\n".join(blocks)


def _wrapper():
    import importlib.util

    spec = importlib.util.spec_from_file_location("i18n_wrap", ROOT / "scripts" / "i18n_wrap.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.wrap


@settings_hypothesis(max_examples=150, deadline=None)
@given(source=templates())
def test_marked_templates_pass_the_check_and_read_the_same_in_english(source):
    """What scripts/i18n_wrap.py marks, untranslated() accepts, and the page reads as before."""
    from django.template import engines

    marked = _wrapper()(source)
    assert untranslated(marked) == []
    context = {"name": "Ada & Co", "ticket": {"reference": "T-7"}, "total": 1234.5}
    django = engines["django"]
    with translation.override("en-gb"):
        before = django.from_string(source).render(context)
        after = django.from_string(marked).render(context)
    assert " ".join(after.split()) == " ".join(before.split())


def test_the_django_admin_works_in_german(client, world):
    world.admin.language = "de"
    world.admin.save()
    client.force_login(world.admin)
    for url in (reverse("admin:index"), reverse("admin:accounts_user_changelist")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert '<html lang="de"' in response.content.decode()
    page = client.get(reverse("admin:accounts_user_change", args=[world.member_a.pk]))
    assert page.status_code == 200
    assert "Sprache" in page.content.decode()  # the person's language, in the admin too


def test_the_preferences_page_makes_the_same_queries_for_every_person(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for person in (world.member_a, world.am_a):
        client.force_login(person)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("accounts:preferences")).status_code == 200
        counts.append(len(queries))
    assert max(counts) <= 8, counts


def test_a_german_export_is_german_in_every_row_too(client, world):
    """Rows are written while the response streams, after the request's language ended."""
    import csv
    import io

    _ticket(world)
    world.member_a.language = "de"
    world.member_a.save()
    client.force_login(world.member_a)
    response = client.get(reverse("tickets:list_csv"), {"status": "all"})
    assert translation.get_language() == settings.LANGUAGE_CODE  # the request's ended
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:4] == ["Ticket", "Betreff", "Geöffnet von", "Geöffnet am (Europe/London)"]
    assert rows[1][rows[0].index("Status")] == "Neu"
