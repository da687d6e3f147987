"""A second generated legacy estate, adversarial, to measure identity resolution (issue 23).

Separate from identity_estate.py and spelled by other rules: five systems, each with its
own habits, and every class of variation the engine must get right or refuse:

- equivalent spellings: legal forms from many countries, abbreviations, case, "&"/"and",
  word order, an office suffix, letters transliterated or spoiled to `?`, one slip of the
  keyboard in a long word;
- equivalent evidence: city exonyms (Munich/München, Gothenburg/Göteborg, Lodz/Łódź,
  St. Louis/Saint Louis), ZIP+4 against ZIP, postcodes without spaces or in lower case,
  phone numbers with or without the country code, our customer number digits-only or
  zero-padded in a field mapped as ours;
- trading names and billing suffixes ("t/a", "dba", "a division of", "- Accounts
  Payable", "Attn: Purchasing", "c/o");
- acronyms ("UCSF Medical Center") that only a person can confirm;
- organisations of ours that differ from each other by one letter, one number, a plural
  or one sibling word ("Group", "Holdings", "Labs", "International"), and two of one name
  in different cities;
- adversarial strangers: customers that are not ours and differ from one of ours in just
  those ways, with evidence of their own (some in the same city).

Every identity carries its truth, so `evidence_score` can count wrong automatic matches,
strangers matched, the share of corroborated identities matched, and how often the right
organisation is first for those that wait. Seeded: the same arguments give the same estate.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass

from portal.demo.identity_estate import Delivery, Estate, Sighting, TrueOrganisation
from portal.sync.matching import Evidence

WORDS = [
    "Arden",
    "Belmont",
    "Carlisle",
    "Dunmore",
    "Everly",
    "Fairhaven",
    "Glenmore",
    "Hartwell",
    "Inverness",
    "Kelvin",
    "Larkspur",
    "Montrose",
    "Newbury",
    "Oakhurst",
    "Penrose",
    "Quinlan",
    "Redbrook",
    "Stanmore",
    "Tamworth",
    "Ullswater",
    "Vantage",
    "Westcott",
    "Yarrow",
    "Ashby",
    "Brampton",
    "Caldwell",
    "Davenport",
    "Ellsworth",
    "Farrington",
    "Grantham",
    "Holloway",
    "Kingsbridge",
    "Lowther",
    "Marlowe",
    "Northgate",
    "Pemberton",
    "Rockwell",
    "Saxon",
    "Thornbury",
    "Underhill",
    "Wexford",
    "Alder",
    "Bracken",
    "Corrib",
    "Drummond",
    "Elgin",
    "Fenwick",
    "Garrick",
    "Halden",
    "Ingram",
    "Jarrow",
    "Kendal",
    "Lydney",
    "Meridian",
    "Norland",
    "Orwell",
    "Prescott",
    "Radnor",
    "Selwyn",
    "Trevose",
    "Upton",
    "Verity",
    "Whitlock",
    "Zephyr",
    "Aurora",
    "Bellwether",
    "Cavendish",
    "Dorset",
    "Emerson",
    "Foxley",
    "Greystone",
    "Harrowgate",
    "Ironwood",
    "Juniper",
    "Kestrel",
    "Lambeth",
    "Mayfield",
    "Nettlefield",
    "Oldham",
    "Parkhurst",
    "Quantock",
    "Ravensworth",
    "Shelby",
    "Tilbury",
]
FOREIGN = [
    "Straße",
    "Ørsted",
    "Łódź",
    "Müller",
    "Gößweinstein",
    "Ærø",
    "Søndergaard",
    "Świętokrzyski",
    "Dvořák",
    "Þórsson",
]
TRADE = [
    "Medical",
    "Clinic",
    "Health",
    "Pharma",
    "Diagnostics",
    "Imaging",
    "Therapy",
    "Dental",
    "Surgical",
    "Care",
    "Logistics",
    "Freight",
    "Supplies",
    "Laboratories",
    "Biomedical",
    "Instruments",
    "Hospital",
    "Orthopaedics",
    "Optics",
    "Nursing",
    "Veterinary",
    "Biotech",
    "Analytics",
]
SIBLINGS = ["Group", "Holdings", "Labs", "International", "Partners", "Trust"]
LEGAL = ["Ltd", "Limited", "LLC", "Inc.", "GmbH", "S.A.R.L.", "Pty Ltd", "Sp. z o.o.", "B.V.",
         "AB", "Oy", "S.p.A.", "plc", "LLP", "Corp.", ""]  # fmt: skip
ABBREVIATE = {"International": "Intl", "Laboratories": "Labs", "Medical": "Med",
              "Hospital": "Hosp", "Pharma": "Pharmaceuticals", "Centre": "Ctr"}  # fmt: skip
# (one spelling of ours, the other spellings systems use)
CITIES = [
    ("München", ["Munich", "Muenchen", "MUNCHEN"]), ("Göteborg", ["Gothenburg", "Goteborg"]),
    ("Łódź", ["Lodz", "LODZ"]), ("St. Louis", ["Saint Louis", "St Louis"]),
    ("Köln", ["Cologne", "Koeln"]), ("Wien", ["Vienna"]), ("Praha", ["Prague"]),
    ("København", ["Copenhagen", "Kobenhavn"]), ("Leeds", ["LEEDS", "leeds"]),
    ("York", ["YORK"]), ("Bristol", ["BRISTOL"]), ("Boston", ["BOSTON"]),
    ("Denver", ["DENVER"]), ("Lyon", ["LYON"]), ("Zürich", ["Zurich", "Zuerich"]),
    ("Milano", ["Milan"]), ("Warszawa", ["Warsaw"]), ("Genève", ["Geneva", "Geneve"]),
    ("Kraków", ["Krakow", "Cracow"]), ("Sevilla", ["Seville"]),
]  # fmt: skip
SUFFIXES = [" - Accounts Payable", " Attn: Purchasing", " c/o Meridian Services Ltd",
            " - AP", ", Accounts Payable", " FAO Finance"]  # fmt: skip


def _postcode(rnd: random.Random, country: str) -> str:
    if country == "us":
        return f"{rnd.randrange(10000, 99999)}"
    if country == "uk":
        letters = string.ascii_uppercase
        return (f"{rnd.choice(letters)}{rnd.choice(letters)}{rnd.randrange(1, 20)} "
                f"{rnd.randrange(1, 9)}{rnd.choice(letters)}{rnd.choice(letters)}")  # fmt: skip
    return f"{rnd.randrange(10000, 99999)}"


@dataclass
class Organisation(TrueOrganisation):
    """One of ours (or a stranger's record of itself), with a phone and a street too."""

    phone: str = ""
    street: str = ""


def _organisation(rnd: random.Random, index: int, name: str, city: int) -> Organisation:
    country = rnd.choice(["us", "uk", "eu"])
    slug = "".join(c for c in name.lower() if c.isascii() and c.isalnum())[:18]
    return Organisation(
        name=name,
        customer_number=f"C-{100000 + index}",
        registry_id=f"RG{rnd.randrange(10**8, 10**9)}" if rnd.random() < 0.3 else "",
        city=CITIES[city][0],
        postcode=_postcode(rnd, country),
        email_domain=f"{slug}{index}.example",
        phone=f"+44 20 {7000 + index % 3000:04d} {rnd.randrange(1000, 9999)}",
        street=f"{rnd.randrange(1, 300)} {rnd.choice(WORDS)} Road",
    )


def _base_name(rnd: random.Random) -> str:
    first = rnd.choice(FOREIGN) if rnd.random() < 0.08 else rnd.choice(WORDS)
    middle = f" {rnd.choice(WORDS)}" if rnd.random() < 0.35 else ""
    return f"{first}{middle} {rnd.choice(TRADE)}"


def _variant_of(rnd: random.Random, name: str) -> tuple[str, str]:
    """A name one distinguishing step from `name`, and which step it is."""
    words = name.split()
    kind = rnd.choice(["letter", "short", "number", "plural", "sibling"])
    if kind == "letter":
        longest = max(range(len(words)), key=lambda i: len(words[i]))
        word = words[longest]
        at = rnd.randrange(1, len(word) - 1)
        words[longest] = word[:at] + rnd.choice("aeiourstnl".replace(word[at], "")) + word[at + 1 :]
    elif kind == "short":
        words.insert(0, "".join(rnd.choice(string.ascii_uppercase) for _ in range(3)))
    elif kind == "number":
        words.append(f"No. {rnd.randrange(2, 9)}")
    elif kind == "plural":
        words[-1] = words[-1] + ("es" if words[-1].endswith("s") else "s")
    else:
        words.append(rnd.choice(SIBLINGS))
    return " ".join(words), kind


def generate(organisations: int = 5000, *, identities: int = 10000, seed: int = 23) -> Estate:
    rnd = random.Random(seed)
    orgs: list[Organisation] = []
    names: set[str] = set()
    families = []  # pairs of ours one distinguishing step apart
    while len(orgs) < organisations:
        name = _base_name(rnd)
        roll = rnd.random()
        if roll < 0.02:  # an acronym-able institution
            name = f"University of {rnd.choice(WORDS)} {rnd.choice(WORDS)} Medical Center"
        if name in names:
            continue
        names.add(name)
        orgs.append(_organisation(rnd, len(orgs), name, rnd.randrange(len(CITIES))))
        if roll > 0.9 and len(orgs) < organisations:  # a sibling of ours
            sibling, _ = _variant_of(rnd, name)
            if sibling not in names:
                names.add(sibling)
                families.append((len(orgs) - 1, len(orgs)))
                orgs.append(_organisation(rnd, len(orgs), sibling, rnd.randrange(len(CITIES))))
        if 0.88 < roll <= 0.9 and len(orgs) < organisations:  # one name, another city
            orgs.append(_organisation(rnd, len(orgs), name, rnd.randrange(len(CITIES))))
    sightings = _sightings(rnd, orgs, names, identities)
    return Estate(orgs, sightings, _deliveries(rnd, sightings))


SYSTEMS = ["erp", "billing", "crm", "helpdesk", "fulfilment"]


def _sightings(rnd, orgs, names, count) -> list[Sighting]:
    sightings = []
    strangers = int(count * 0.08)
    for n in range(count - strangers):
        truth = rnd.randrange(len(orgs))
        system = SYSTEMS[n % len(SYSTEMS)]
        sightings.append(_sighting(rnd, system, f"{system[:2].upper()}{n:06d}", orgs[truth], truth))
    for n in range(strangers):
        system = SYSTEMS[n % len(SYSTEMS)]
        model = orgs[rnd.randrange(len(orgs))]
        name, _ = _variant_of(rnd, model.name) if n % 4 else (_base_name(rnd) + " Ventures", "")
        if name in names:
            continue  # one of ours after all: not a stranger
        stranger = _organisation(rnd, 900000 + n, name, rnd.randrange(len(CITIES)))
        sightings.append(_sighting(rnd, system, f"X{system[:2].upper()}{n:05d}", stranger, None))
    rnd.shuffle(sightings)
    return sightings


def _sighting(rnd, system: str, external_id: str, org, truth) -> Sighting:
    """How `system` knows `org`: its spelling, and the evidence it happens to keep."""
    name = _spell(rnd, org.name, system)
    bare = rnd.random() < 0.15  # a name and nothing else: a person decides
    moved = rnd.random() < 0.03 and truth is not None  # a stale postcode: disagrees
    evidence = Evidence(
        name=name,
        number=_number(rnd, org) if system == "erp" and truth is not None and rnd.random() < 0.3 else "",
        registry_id=org.registry_id if system == "crm" and rnd.random() < 0.3 else "",
        city="" if bare else _city(rnd, org, system),
        postcode="" if bare else _postcode_as(rnd, org, system, moved),
        email_domain="" if bare else (org.email_domain if system in {"crm", "billing"} and rnd.random() < 0.7 else ""),
        phone="" if bare else (_phone(rnd, org) if system == "crm" and rnd.random() < 0.5 else ""),
        street="" if bare else (org.street.upper() if system == "fulfilment" and rnd.random() < 0.5 else ""),
    )  # fmt: skip
    return Sighting(system, external_id, evidence, truth)


def _number(rnd, org) -> str:
    digits = org.customer_number.split("-")[1]
    return rnd.choice([digits, f"C-0{digits}", f"c{digits}", f"0{digits}"])


def _city(rnd, org, system: str) -> str:
    if rnd.random() < 0.25:
        return ""
    aliases = next(others for ours, others in CITIES if ours == org.city)
    return rnd.choice([org.city, *aliases]) if system != "helpdesk" else rnd.choice(aliases)


def _postcode_as(rnd, org, system: str, moved: bool) -> str:
    if moved:
        return _postcode(rnd, "us")
    if system not in {"billing", "fulfilment", "erp"} or rnd.random() < 0.4:
        return ""
    code = org.postcode
    if code.isdigit() and len(code) == 5 and rnd.random() < 0.5:
        return f"{code}-{rnd.randrange(1000, 9999)}"  # ZIP+4
    return rnd.choice([code, code.replace(" ", ""), code.lower()])


def _phone(rnd, org) -> str:
    national = "0" + org.phone.removeprefix("+44 ")
    return rnd.choice([org.phone, national, org.phone.replace(" ", "")])


def _spell(rnd: random.Random, name: str, system: str) -> str:
    if system == "erp" and rnd.random() < 0.2:
        name = " ".join(reversed(name.split(" ", 1)))  # "Clinic Arden": the words reordered
    words = name.split()
    if rnd.random() < 0.5:
        words.append(rnd.choice(LEGAL))
    if rnd.random() < 0.3:
        words = [ABBREVIATE.get(w, w) for w in words]
    text = " ".join(w for w in words if w)
    if text.startswith("University of") and rnd.random() < 0.5:
        parts = text.split()
        text = "U" + parts[2][0] + parts[3][0] + " " + " ".join(parts[4:])  # "UKB Medical Center"
    if rnd.random() < 0.08:
        text = _typo(rnd, text)
    if system == "billing" and rnd.random() < 0.3:
        text += rnd.choice(SUFFIXES)
    if system == "crm" and rnd.random() < 0.25:
        brand = f"{rnd.choice(WORDS)} {rnd.choice(['Care', 'Direct', 'Express'])}"
        text = rnd.choice([f"{text} t/a {brand}", f"{brand}, a division of {text}",
                           f"{text} dba {brand}", f"{text} trading as {brand}"])  # fmt: skip
    if system == "helpdesk":
        return text.upper()
    if system == "fulfilment" and rnd.random() < 0.3:
        return "".join(c if c.isascii() else "?" for c in text)  # an old export's encoding
    return text


def _typo(rnd: random.Random, text: str) -> str:
    words = text.split()
    long_ones = [i for i, w in enumerate(words) if len(w) >= 7 and w.isalpha()]
    if not long_ones:
        return text
    i = rnd.choice(long_ones)
    word, at = words[i], rnd.randrange(1, len(words[i]) - 1)
    words[i] = word[:at] + word[at + 1 :]
    return " ".join(words)


def _deliveries(rnd, sightings: list[Sighting]) -> list[Delivery]:
    """Orders of the ERP and the fulfilment system's deliveries of them, a few naming
    another customer than their order's."""
    erp = [s for s in sightings if s.system == "erp"]
    ful = [s for s in sightings if s.system == "fulfilment"]
    deliveries = []
    for n, order in enumerate(erp[:1000]):
        same = [s for s in ful if s.truth == order.truth and s.truth is not None]
        own = same[0] if same and rnd.random() < 0.9 else rnd.choice(ful)
        conflict = own.truth != order.truth or order.truth is None
        deliveries.append(Delivery(f"D{n:06d}", order.external_id, own.external_id, conflict))
    return deliveries


# --- Scoring -------------------------------------------------------------------------------------


def corroborated(sighting: Sighting, org: TrueOrganisation) -> bool:
    """Does the identity carry a field that agrees with its organisation, and none that
    disagrees (a stale postcode)? What the rule may decide on, besides the name."""
    from portal.sync.matching import FIELDS

    agree = disagree = 0
    for label, key in FIELDS:
        attribute = label.replace(" ", "_") if label != "email domain" else "email_domain"
        ours, theirs = key(getattr(org, attribute, "")), key(getattr(sighting.evidence, attribute))
        if ours and theirs:
            same = bool(ours & theirs) if isinstance(ours, frozenset) else ours == theirs
            agree, disagree = agree + same, disagree + (not same)
    return agree > 0 and not disagree


def written_as_initials(sighting: Sighting, org: TrueOrganisation) -> bool:
    """ "UKB Medical Center" for "University of Kelvin Brampton Medical Center": a
    candidate for a person by the rule (issue 23), never a decision."""
    words = org.name.split()
    return org.name.startswith("University of") and words[2].lower() not in (
        sighting.evidence.name.lower()
    )


def evidence_score(estate: Estate, pks: list[int]) -> dict:
    """The issue's targets, from the decisions as stored."""
    from portal.sync.models import CustomerIdentity

    decided = {
        (i.system, i.external_id): i
        for i in CustomerIdentity.objects.only(
            "system", "external_id", "organisation_id", "candidates", "method"
        )
    }
    score = dict.fromkeys(
        ["identities", "with_organisation", "auto", "auto_wrong", "strangers",
         "strangers_matched", "corroborated", "corroborated_auto", "initials",
         "initials_first", "hard_key", "waiting",
         "waiting_first", "waiting_candidates"], 0
    )  # fmt: skip
    for sighting in estate.sightings:
        identity = decided[sighting.system, sighting.external_id]
        score["identities"] += 1
        matched = identity.organisation_id
        if sighting.truth is None:
            score["strangers"] += 1
            score["strangers_matched"] += matched is not None
            continue
        truth = pks[sighting.truth]
        score["with_organisation"] += 1
        hard = bool(sighting.evidence.number or sighting.evidence.registry_id)
        score["hard_key"] += hard
        if matched is not None:
            score["auto"] += 1
            score["auto_wrong"] += matched != truth
        org = estate.organisations[sighting.truth]
        if written_as_initials(sighting, org):
            score["initials"] += 1  # offered, never decided: counted apart
            ranked = [c["organisation"] for c in identity.candidates]
            score["initials_first"] += matched is None and ranked[:1] == [truth]
        elif not hard and corroborated(sighting, org):
            score["corroborated"] += 1
            score["corroborated_auto"] += matched == truth
        if matched is None:
            score["waiting"] += 1
            ranked = [c["organisation"] for c in identity.candidates]
            score["waiting_candidates"] += truth in ranked
            score["waiting_first"] += ranked[:1] == [truth]
    score["corroborated_auto_percent"] = round(
        100 * score["corroborated_auto"] / max(1, score["corroborated"]), 2
    )
    score["waiting_first_percent"] = round(
        100 * score["waiting_first"] / max(1, score["waiting"]), 2
    )
    return score
