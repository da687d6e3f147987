"""The identity engine: normalisation, thresholds, hard keys, and its accuracy on a generated
estate with ground truth (portal/demo/identity_estate.py)."""

import pytest

from portal.demo.identity_estate import estate_load, estate_score, generate
from portal.sync import identity
from portal.sync.matching import Evidence, OrganisationIndex, keys_in, name_key

ORGANISATIONS = [
    {"pk": 1, "name": "Müller & Söhne GmbH", "city": "Leeds", "postcode": "LS1 4AB"},
    {"pk": 2, "name": "Northwind Family Clinic Ltd", "city": "York", "postcode": "YO1 7HH"},
    {"pk": 3, "name": "Riverside Medical Group", "city": "Bath", "email_domain": "rmg.example"},
    {"pk": 4, "name": "Harbour Paediatrics", "city": "Leeds", "postcode": "LS2 9JT"},
    {"pk": 5, "name": "Harbour Paediatrics", "city": "Exeter", "postcode": "EX1 1AA"},
    {"pk": 6, "name": "St Mary's Hospital", "city": "London", "registry_id": "GB 123 4567 89"},
    {"pk": 7, "name": "Alpine Foods", "city": "Derby", "postcode": "DE1 2AB"},
]


def index(matched=()):
    rows = [
        {"customer_number": f"C-{1000 + o['pk']}", "registry_id": "", "city": "", "postcode": "",
         "email_domain": ""} | o
        for o in ORGANISATIONS
    ]  # fmt: skip
    return OrganisationIndex(rows, list(matched))


@pytest.mark.parametrize(
    ("theirs", "ours"),
    [
        ("MULLER AND SOHNE", "Müller & Söhne GmbH"),  # lost diacritics, "and", no legal form
        ("Sohne, Muller", "Müller & Söhne GmbH"),  # words reordered
        ("Northwind Family Clinic (HQ)", "Northwind Family Clinic Ltd"),  # branch word
        ("NORTHWIND FAMILY CLINIC - Head Office", "Northwind Family Clinic Ltd"),
        ("Riverside Med Grp", "Riverside Medical Group"),  # abbreviations
        ("ST. MARYS HOSPITAL LIMITED", "St Mary's Hospital"),
    ],
)
def test_spellings_of_one_name_normalise_alike(theirs, ours):
    assert name_key(theirs) == name_key(ours)


def test_a_name_an_old_encoding_damaged_matches_with_evidence():
    alone = index().resolve(Evidence(name="M?LLER & S?HNE GMBH"))
    assert alone.organisation_id is None  # a name alone is a candidate, never a decision
    assert alone.candidates[0]["organisation"] == 1
    verdict = index().resolve(Evidence(name="M?LLER & S?HNE GMBH", city="leeds"))
    assert (verdict.organisation_id, verdict.method) == (1, "name")


def test_hard_keys_come_first_and_say_so():
    by_number = index().resolve(Evidence(name="Someone else entirely", number="c-1002"))
    assert (by_number.organisation_id, by_number.method) == (2, "number")
    assert by_number.why == ["customer number c-1002"]
    by_registry = index().resolve(Evidence(name="SMH", registry_id="123456789"))
    assert (by_registry.organisation_id, by_registry.method) == (6, "registry")


@pytest.mark.parametrize("number", ["1002", "C-01002", "c1002", "001002", " C 1002 "])
def test_our_customer_number_is_ours_zero_padded_or_digits_only(number):
    verdict = index().resolve(Evidence(name="Someone else", number=number))
    assert (verdict.organisation_id, verdict.method) == (2, "number")


def test_another_prefix_is_not_our_number():
    assert index().resolve(Evidence(name="Someone else", number="X-1002")).organisation_id is None


def test_a_name_decided_in_another_system_by_a_hard_key_matches_with_evidence():
    learned = [("crm", "Alpine Fds & Co (Derby)", 7, "number")]
    verdict = index(learned).resolve(
        Evidence(name="ALPINE FDS & CO (DERBY)", city="Derby"), system="billing"
    )
    assert (verdict.organisation_id, verdict.method) == (7, "other_system")
    assert verdict.why[0].startswith("a name it is known by (known as this in crm)")
    alone = index(learned).resolve(Evidence(name="ALPINE FDS & CO (DERBY)"), system="billing")
    assert alone.organisation_id is None
    assert alone.candidates[0]["organisation"] == 7


def test_a_fuzzy_automatic_verdict_never_propagates_to_other_systems():
    """Issue 23's cascade: one system's guess became five systems' '100 %'."""
    guessed = [("crm", "Alpine Fds & Co (Derby)", 7, "name")]
    verdict = index(guessed).resolve(
        Evidence(name="ALPINE FDS & CO (DERBY)", city="Derby"), system="billing"
    )
    assert verdict.method != "other_system"
    assert verdict.organisation_id is None  # "fds" is no word of "Alpine Foods"


def test_one_name_in_two_cities_is_told_apart_only_by_evidence_that_rules_one_out():
    alone = index().resolve(Evidence(name="Harbour Paediatrics"))
    assert alone.organisation_id is None
    assert {c["organisation"] for c in alone.candidates[:2]} == {4, 5}
    verdict = index().resolve(Evidence(name="Harbour Paediatrics", city="Exeter"))
    assert verdict.organisation_id == 5  # Leeds' is another city
    assert verdict.candidates[1]["organisation"] == 4
    assert verdict.candidates[1]["why"][1].startswith("other city")


def test_a_close_name_needs_strong_evidence_to_agree_and_nothing_to_disagree():
    typo = Evidence(name="Alpine Fods")
    assert index().resolve(typo).organisation_id is None
    assert index().resolve(Evidence(name="Alpine Fods", city="Derby")).organisation_id is None
    confirmed = index().resolve(Evidence(name="Alpine Fods", postcode="de1 2ab"))
    assert confirmed.organisation_id == 7
    assert confirmed.why[0].startswith("one letter off (fods/foods)")
    assert confirmed.why[1].startswith("same postcode +")
    contradicted = index().resolve(Evidence(name="Alpine Foods", city="Leeds"))
    assert contradicted.organisation_id is None  # exact name, but another city
    assert contradicted.candidates[0]["organisation"] == 7


def test_a_name_far_from_every_organisation_waits_with_no_candidate():
    verdict = index().resolve(Evidence(name="Zebra Quantum Logistics"))
    assert (verdict.organisation_id, verdict.candidates) == (None, [])


def test_on_a_generated_estate_the_engine_meets_its_targets(db):
    """2,000 organisations, four systems, each spelling names its own way, 1 % of the
    organisations sharing a name, 4 % strangers, 3 % of deliveries naming another
    customer than their order's: the issue's accuracy targets."""
    estate = generate(2000)
    pks = estate_load(estate)

    result = identity.resolve_queue()

    score = estate_score(estate, pks)
    assert score["identities"] > 5000
    assert result["matched"] == score["auto"]
    assert score["auto_wrong"] == 0
    assert score["strangers"] > 150
    assert score["strangers_matched"] == 0
    # Identities with nothing but a name wait (issue 23): the right organisation near the top.
    assert score["top3_percent"] >= 95
    # Deliveries naming another customer than their order's: held once both are decided,
    # never shown to the wrong side; no agreeing delivery held.
    assert score["conflicts"] > 20
    assert score["conflicts_held"] > 0  # once both sides are decided
    assert score["held_wrongly"] == 0
    assert score["shown_to_wrong_organisation"] == 0


def test_keys_quoted_anywhere_must_be_spelled_as_ours_and_not_be_amounts():
    ours = index()
    assert keys_in({"note": "see acct c-1002 please"}, ours) == ("c-1002", "")
    assert keys_in({"a": {"nested": ["VAT: GB 123 4567 89"]}}, ours) == ("", "GB 123 4567 89")
    assert keys_in({"total": "1002", "ref": "C1002"}, ours) == ("", "")  # not as we spell it


# --- Issue 23's cases, each a regression test ------------------------------------------------


def issue_index(*organisations):
    rows = [
        {"pk": pk, "customer_number": f"C-{10000 + pk}", "registry_id": "", "city": "",
         "postcode": "", "email_domain": ""} | o
        for pk, o in enumerate(organisations, start=1)
    ]  # fmt: skip
    return OrganisationIndex(rows, [])


@pytest.mark.parametrize(
    ("stranger", "ours"),
    [
        ("ABD Pharma", "ABC Pharma"),
        ("Belmond Freight Services", "Belmont Freight Services"),
        ("Carlysle Biomedical Ltd", "Carlisle Biomedical Ltd"),
        ("Northside Clinics", "Northside Clinic"),
        ("Acme Health Group", "Acme Health"),
        ("Clinic No. 2", "Clinic No. 3"),
    ],
)
def test_a_stranger_one_step_from_ours_is_never_matched_on_its_name(stranger, ours):
    index = issue_index({"name": ours, "city": "Leeds", "email_domain": "ours.example"})
    alone = index.resolve(Evidence(name=stranger))
    assert alone.organisation_id is None
    assert alone.candidates[0]["organisation"] == 1  # offered to a person
    other_domain = index.resolve(Evidence(name=stranger, email_domain="theirs.example"))
    assert other_domain.organisation_id is None


@pytest.mark.parametrize("stranger", ["Northside Clinics", "Acme Health Group", "ABD Pharma"])
def test_a_distinguishing_word_blocks_even_an_agreeing_city(stranger):
    index = issue_index(
        {"name": "Northside Clinic", "city": "Leeds"},
        {"name": "Acme Health", "city": "Leeds"},
        {"name": "Acme Health Labs", "city": "Leeds"},
        {"name": "ABC Pharma", "city": "Leeds"},
    )
    assert index.resolve(Evidence(name=stranger, city="Leeds")).organisation_id is None


def test_sibling_words_are_not_legal_forms():
    assert name_key("Acme Health Group") != name_key("Acme Health")
    assert name_key("Acme Health Holdings") != name_key("Acme Health")
    assert name_key("Acme Health Labs") != name_key("Acme Health Lab")
    assert name_key("Acme Health International") != name_key("Acme Health")
    assert name_key("Acme Health GmbH") == name_key("Acme Health Pty Ltd") == "acme health"


def test_letters_are_transliterated_not_dropped():
    assert name_key("Straße Ørsted") == "orsted strasse"
    assert name_key("Łódź Analytics") == "analytics lodz"


@pytest.mark.parametrize(
    ("theirs", "ours"),
    [
        ({"city": "Munich"}, {"city": "München"}),
        ({"city": "Gothenburg"}, {"city": "Göteborg"}),
        ({"city": "Lodz"}, {"city": "Łódź"}),
        ({"city": "Saint Louis"}, {"city": "St. Louis"}),
        ({"city": "Wien"}, {"city": "Vienna / Wien"}),
        ({"postcode": "94107-1234"}, {"postcode": "94107"}),
        ({"postcode": "sw1a1aa"}, {"postcode": "SW1A 1AA"}),
        ({"email_domain": "acme.example"}, {"email_domain": "ACME.example"}),
    ],
)
def test_equivalent_evidence_agrees(theirs, ours):
    index = issue_index({"name": "Acme Health"} | ours)
    verdict = index.resolve(Evidence(name="ACME HEALTH LTD", **theirs))
    assert (verdict.organisation_id, verdict.method) == (1, "name")


@pytest.mark.parametrize(
    "theirs",
    [
        "Acme Health Ltd t/a Swift Couriers",
        "Swift Couriers, a division of Acme Health",
        "Acme Health dba Swift Couriers",
        "Acme Health - Accounts Payable",
        "Acme Health Attn: Purchasing",
        "Acme Health c/o Smith & Partners",
    ],
)
def test_trading_names_and_billing_suffixes_are_split_off(theirs):
    index = issue_index({"name": "Acme Health", "city": "Leeds"})
    assert index.resolve(Evidence(name=theirs, city="Leeds")).organisation_id == 1
    assert index.resolve(Evidence(name=theirs)).candidates[0]["organisation"] == 1


def test_initials_offer_their_organisation_as_a_candidate_only():
    index = issue_index(
        {"name": "University of California San Francisco Medical Center", "city": "SF"},
        {"name": "Union Clinic", "city": "SF"},
    )
    verdict = index.resolve(Evidence(name="UCSF Medical Center", city="SF"))
    assert verdict.organisation_id is None
    assert verdict.candidates[0]["organisation"] == 1
    assert verdict.candidates[0]["why"][0].startswith("initials")
