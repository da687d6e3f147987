"""Compacted translations (config/translations.py) translate every string as Django's own do,
in en-gb and de, with a look-up that reads one dictionary."""

import pytest
from django.utils import translation
from django.utils.translation import trans_real
from hypothesis import given
from hypothesis import strategies as st

from config import translations

LANGUAGES = ["en-gb", "de"]


def chain(t):
    while t is not None:
        yield t
        t = t._fallback


def msgids(t):
    """Every singular and plural message id Django's uncompacted translation knows."""
    singular, plural = set(), set()
    for link in chain(t):
        for key, _translated in (getattr(link, "_catalog", None) or {}).items():
            (plural.add(key[0]) if isinstance(key, tuple) else singular.add(key))
    return sorted(singular - {""}), sorted(plural)


@pytest.fixture(scope="module", params=LANGUAGES)
def both(request):
    """Django's translation as Django builds it, and the compacted one the process serves."""
    built = trans_real.DjangoTranslation(request.param)
    return built, trans_real.translation(request.param)


def test_every_message_translates_as_django_builds_it(both):
    built, served = both
    singular, plural = msgids(built)
    assert len(singular) > 500
    assert [served.gettext(m) for m in singular] == [built.gettext(m) for m in singular]
    for n in [0, 1, 2, 5, 21, 101]:
        forms = [(m, m + "s", n) for m in plural]
        assert [served.ngettext(*f) for f in forms] == [built.ngettext(*f) for f in forms]


@given(message=st.text(max_size=30))
def test_unknown_strings_read_as_written(message):
    for language in LANGUAGES:
        t = trans_real.translation(language)
        assert t.gettext(message) == trans_real.DjangoTranslation(language).gettext(message)


def test_english_look_up_reads_one_catalogue():
    """Before compaction en-gb chained 8 dictionaries and 6 empty `en` fallbacks."""
    served = trans_real.translation("en-gb")  # as compacted by AccountsConfig.ready
    assert list(chain(served)) == [served]
    assert len(served._catalog._catalogs) == 1


def test_compacting_twice_changes_nothing():
    served = trans_real.translation("de")
    before = [dict(c) for c in served._catalog._catalogs]
    translations.compact(served)
    assert served._catalog._catalogs == before
    assert [t.language() for t in chain(served)] == ["de", "en-gb"]


def test_pages_words_in_each_language():
    digest = ("Your daily digest: %(count)d update", "Your daily digest: %(count)d updates")
    with translation.override("de"):
        assert translation.gettext("My accounts") == "Meine Kunden"
        assert translation.gettext("Page not found") == "Seite nicht gefunden"
        assert translation.ngettext(*digest, 2) % {"count": 2} == (
            "Ihre tägliche Zusammenfassung: 2 Neuigkeiten"
        )
    with translation.override("en-gb"):
        assert translation.gettext("My accounts") == "My accounts"
        assert translation.ngettext(*digest, 1) % {"count": 1} == "Your daily digest: 1 update"
        assert translation.pgettext("abbrev. month", "Aug.") == "Aug."
