"""Properties of the identity rule over random names (Hypothesis), issue 23: a name alone
never decides, and a word that distinguishes is evidence against, whatever the name."""

import string

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from portal.sync.matching import Evidence, OrganisationIndex
from portal.sync.names import BRANCH_WORDS, CANONICAL, legal_forms, name_key, tokens

# Random words; not the few a name drops or spells out ("Branch", "Intl", "Eurl").
WORD = (
    st.text(alphabet=string.ascii_lowercase, min_size=4, max_size=11)
    .filter(lambda w: w not in BRANCH_WORDS and w not in CANONICAL)
    .filter(lambda w: (w,) not in legal_forms())
    .map(str.capitalize)
)
NAME = st.lists(WORD, min_size=1, max_size=4, unique=True).map(" ".join)
SHORT = st.text(alphabet=string.ascii_uppercase, min_size=2, max_size=4)
SIBLINGS = ["Group", "Holdings", "Labs", "International", "Partners", "Trust", "Global"]


def index_of(*names: str) -> OrganisationIndex:
    rows = [
        {"pk": pk, "name": name, "customer_number": f"C-{pk}", "registry_id": "",
         "city": "Leeds", "postcode": f"LS{pk} 1AA", "email_domain": f"o{pk}.example"}
        for pk, name in enumerate(names, start=1)
    ]  # fmt: skip
    return OrganisationIndex(rows, [])


@st.composite
def distinguishing_edit(draw):
    """(ours, theirs): a random name and the same name one distinguishing token off."""
    ours = draw(NAME)
    kind = draw(st.sampled_from(["number", "plural", "sibling", "short", "drop"]))
    if kind == "number":
        a, b = draw(st.lists(st.integers(1, 999), min_size=2, max_size=2, unique=True))
        return f"{ours} No. {a}", f"{ours} No. {b}"
    if kind == "plural":
        return ours, ours + ("es" if ours.endswith("s") else "s")
    if kind == "sibling":
        return ours, f"{ours} {draw(st.sampled_from(SIBLINGS))}"
    if kind == "drop":
        return f"{ours} {draw(st.sampled_from(SIBLINGS))}", ours
    short = draw(SHORT)
    position = draw(st.integers(0, len(short) - 1))
    letter = draw(st.sampled_from(string.ascii_uppercase).filter(lambda c: c != short[position]))
    other = short[:position] + letter + short[position + 1 :]
    return f"{short} {ours}", f"{other} {ours}"


@settings(max_examples=300, deadline=None)
@given(name=NAME, others=st.lists(NAME, max_size=5))
def test_a_name_alone_never_decides(name, others):
    assume(tokens(name))
    verdict = index_of(name, *others).resolve(Evidence(name=name))
    assert verdict.organisation_id is None


@settings(max_examples=500, deadline=None)
@given(pair=distinguishing_edit(), others=st.lists(NAME, max_size=3))
def test_a_distinguishing_token_is_evidence_against_even_with_an_agreeing_city(pair, others):
    ours, theirs = pair
    assume(name_key(ours) != name_key(theirs))  # e.g. a random word that is a legal form
    assume(name_key(theirs) not in {name_key(o) for o in others})  # that one is ours
    verdict = index_of(ours, *others).resolve(Evidence(name=theirs, city="Leeds"))
    assert verdict.organisation_id is None


@settings(max_examples=200, deadline=None)
@given(pair=distinguishing_edit())
def test_the_organisation_a_token_away_is_still_offered_to_a_person(pair):
    ours, theirs = pair
    assume(name_key(ours) != name_key(theirs))
    verdict = index_of(ours).resolve(Evidence(name=theirs))
    assert [c["organisation"] for c in verdict.candidates][:1] == [1]
