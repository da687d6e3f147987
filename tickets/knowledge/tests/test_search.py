"""Full-text search in the reader's language, and suggestions while a subject is typed."""

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tickets.knowledge import selectors

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's text search"
)


@pytest.fixture
def library(write):
    return [
        write("Where is my delivery?", body="Track parcels that were shipped by the carrier."),
        write("Changing a delivery address", body="Until the order is packed you can change it."),
        write("Paying an invoice", body="Pay by bank transfer with the invoice number."),
        write("Rechnung bezahlen", language="de", body="Überweisen Sie mit der Rechnungsnummer."),
        write(
            "Lieferungen verfolgen", language="de", body="Pakete werden vom Spediteur zugestellt."
        ),
        write("Draft about deliveries", body="Not published yet.", publish=False),
    ]


def search(world, text, language="en"):
    found = selectors.article_search(
        user=world.member_a, organisation=world.org_a, text=text, language=language
    )
    return [a.title for a in found]


def suggest(world, subject, language="en"):
    found = selectors.article_suggest(
        user=world.member_a, organisation=world.org_a, subject=subject, language=language
    )
    return [a.title for a in found]


def test_search_finds_by_words_of_title_and_body(world, library):
    assert search(world, "invoice") == ["Paying an invoice"]
    assert search(world, "bank transfer") == ["Paying an invoice"]
    assert search(world, "nothing like this") == []


def test_search_never_shows_drafts_to_customers(world, library):
    assert "Draft about deliveries" not in search(world, "deliveries")


@postgres_only
def test_search_stems_in_the_articles_language(world, library):
    # "parcel" finds "parcels", "shipping" finds "shipped": English stemming
    assert search(world, "parcel") == ["Where is my delivery?"]
    assert search(world, "shipping") == ["Where is my delivery?"]
    # German: "Rechnungen" and "Rechnung" share a stem
    assert search(world, "Rechnungen", language="de") == ["Rechnung bezahlen"]


@postgres_only
def test_the_title_weighs_more_than_the_body(world, write, library):
    write("Invoices in another currency", body="Nothing about parcels.")
    write("Exchange rates", body="An invoice may be in another currency.")
    assert search(world, "invoice currency")[0] == "Invoices in another currency"


def test_readers_of_a_language_without_articles_get_english(world, library):
    assert search(world, "invoice", language="fr") == ["Paying an invoice"]
    assert search(world, "invoice", language="de") == []  # German articles exist: German only


def test_suggestions_take_any_word_and_a_half_typed_last_one(world, library):
    assert suggest(world, "Where is my deliv")[0] in {
        "Where is my delivery?",
        "Changing a delivery address",
    }
    assert set(suggest(world, "wrong address on my order")) >= {"Changing a delivery address"}
    assert suggest(world, "ab") == []
    assert suggest(world, "Lieferung", language="de") == ["Lieferungen verfolgen"]


def test_customers_of_b_are_not_suggested_articles_for_a(world, write, library):
    write("Alpha's loading bay", audience="organisations", organisations=[world.org_a])
    found = selectors.article_suggest(
        user=world.member_b, organisation=world.org_b, subject="loading bay", language="en"
    )
    assert found == []
    assert suggest(world, "loading bay") == ["Alpha's loading bay"]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=60))
def test_anything_typed_is_answered_without_an_error(world, library, text):
    """Whatever a person types (tsquery operators, quotes, colons, any script), search and
    suggestions answer: nothing typed is read as query syntax."""
    suggest(world, text)
    search(world, text)
    suggest(world, text, language="de")


def test_the_best_match_comes_first_and_short_words_do_not_match_everything(world, library):
    found = suggest(world, "Where is my deliv")
    assert set(found[:2]) == {"Where is my delivery?", "Changing a delivery address"}
    assert "Paying an invoice" not in found
    assert suggest(world, "track parcels shipped")[0] == "Where is my delivery?"
    assert search(world, "!!!") == []
