"""A generated legacy estate with ground truth, to measure identity resolution.

Separate from the demo: thousands of organisations, each known to four legacy
systems that spell its name their own way (legal forms, branch words,
abbreviations, typos, casing, lost diacritics, `?` left by an old encoding,
words reordered, "&" for "and"), some organisations sharing a name in
different cities, and customers of those systems who are not ours. Every
identity carries the organisation it truly is (or None), so the engine's
answers can be scored (tests/test_identity_accuracy.py, scripts/bench_identity.py).

Seeded: the same arguments give the same estate.
"""

from __future__ import annotations

import random
import string
import unicodedata
from dataclasses import asdict, dataclass

from portal.sync.matching import Evidence, name_key


def _vocabulary(text: str) -> list[str]:
    return text.split()


FIRST = _vocabulary(
    """
Northwind Riverside Harbour Alpine Summit Oakridge Meadow Beacon Granite Silver Golden
Crescent Falcon Heron Juniper Kestrel Lakeside Maple Orchard Pinnacle Quarry Redwood
Sterling Thistle Valley Willow Aspen Birch Cedar Copper Coral Elm Fern Hawthorn Ivy Laurel
Linden Marsh Oak Pine Rowan Sage Spruce Yew Ashford Bramley Carlton Dalton Easton Fulton
Hamilton Kingsley Langley Milton Norton Preston Radley Sutton Thornton Walton Whitby
Ampleforth Belmont Claremont Fairview Glenwood Highland Ironbridge Kingfisher Lighthouse
Millbrook Newhaven Oakham Parkside Queensway Rosewood Seaview Tidewater Upland Victoria
Westbrook Yorkgate Zenith Atlas Orion Polaris Vega Nova Apex Vertex Helix Quantum Vector
Matrix Cobalt Indigo Saffron Amber Scarlet Azure Müller Søren Łukasz Böhm Françoise Dvořák
Gómez Jönsson Núñez Čapek Åberg Straße Zoë Renée Brontë Ångström Øster Düsseldorf Kraków
Señor Crème
"""
)
SECOND = _vocabulary(
    """
Family Royal Central Northern Southern Eastern Western United Premier Coastal Metro County
Civic Allied General Modern Classic First Prime Standard Global National Regional Pioneer
Heritage Liberty Frontier Capital Union Phoenix
"""
)
INDUSTRY = _vocabulary(
    """
Medical Clinic Foods Logistics Pharmaceuticals Laboratories Engineering Services Hospital
Dental Care Health Supplies Technologies Manufacturing Distribution Consulting Systems
Brothers Associates Management Centre Veterinary Nursing Diagnostics Imaging Therapy
Orthopaedics Optics Hygiene Packaging Freight Chemicals Instruments
"""
)
LEGAL = ["Ltd", "Limited", "plc", "LLP", "Inc", "GmbH", "Group", "& Co", ""]
BRANCH = [" (HQ)", " - Head Office", " Branch", " Main Site", " (Division)"]
ABBREVIATE = {
    "International": "Intl",
    "Manufacturing": "Mfg",
    "Services": "Svcs",
    "Laboratories": "Labs",
    "Medical": "Med",
    "Technologies": "Tech",
    "Centre": "Ctr",
    "Brothers": "Bros",
    "Associates": "Assoc",
    "Engineering": "Eng",
    "Pharmaceuticals": "Pharma",
    "Management": "Mgmt",
    "Distribution": "Dist",
}
CITIES = _vocabulary(
    """
London Leeds York Bristol Bath Cardiff Glasgow Edinburgh Dundee Belfast Dublin Cork
Manchester Liverpool Sheffield Newcastle Durham Norwich Cambridge Oxford Reading Brighton
Exeter Plymouth Derby Nottingham Leicester Coventry Birmingham Hull
"""
)


@dataclass
class TrueOrganisation:
    name: str
    customer_number: str
    registry_id: str
    city: str
    postcode: str
    email_domain: str


@dataclass
class Delivery:
    """A shipment of the fulfilment system: the order it quotes (order entry's id) and
    the customer it names (fulfilment's id); `conflict` when those are different
    organisations in truth."""

    external_id: str
    order_id: str
    customer_id: str
    conflict: bool


@dataclass
class Estate:
    organisations: list[TrueOrganisation]
    sightings: list[Sighting]
    deliveries: list[Delivery]


@dataclass
class Sighting:
    """One identity in one system, and the organisation (index) it truly is."""

    system: str
    external_id: str
    evidence: Evidence
    truth: int | None


TWINS = 0.01  # organisations that share a name with another one, in another city
STRANGERS = 0.04  # each system's customers who are not ours
CONFLICTS = 0.03  # deliveries naming another customer than their order's

# Each system's habits: how likely it is to carry each piece of evidence, how it spells.
SYSTEMS = {
    "crm": {"number": 0.5, "city": 0.9, "postcode": 0.8, "typo": 0.04, "style": "title"},
    "orders": {"email": 0.8, "typo": 0.12, "style": "upper_ascii", "id": "ORD-CUST-{:05d}"},
    "billing": {"registry": 0.4, "postcode": 0.9, "typo": 0.05, "style": "damaged"},
    "fulfilment": {"email": 0.7, "city": 0.6, "typo": 0.12, "style": "lower"},
}


def generate(organisations: int = 2000, *, identities: int | None = None, seed: int = 7) -> Estate:
    """The organisations, every system's sightings (about 3 per organisation unless
    `identities` asks for another total) and the deliveries: one order per customer of
    order entry, delivered by fulfilment. 1 % of organisations share a name with
    another (in another city); 4 % of each system's customers are not ours; 3 % of the
    deliveries name another customer than their order's."""
    rnd = random.Random(seed)  # noqa: S311 - a reproducible estate, not a secret
    orgs = _organisations(rnd, organisations)
    per_system = (identities or 3 * organisations) / len(SYSTEMS)
    presence = min(1.0, per_system * (1 - STRANGERS) / organisations)
    taken = {name_key(o.name) for o in orgs}
    sightings = []
    for system, habits in SYSTEMS.items():
        count = 0
        for index, org in enumerate(orgs):
            if rnd.random() < presence:
                count += 1
                sightings.append(_sighting(rnd, system, habits, count, org, index))
        for _ in range(round(count * STRANGERS / (1 - STRANGERS))):
            count += 1
            stranger = _stranger(rnd, taken)
            sightings.append(_sighting(rnd, system, habits, count, stranger, None))
    deliveries = _deliveries(rnd, sightings)
    rnd.shuffle(sightings)
    return Estate(orgs, sightings, deliveries)


def _deliveries(rnd: random.Random, sightings: list[Sighting]) -> list[Delivery]:
    fulfilment = {s.truth: s for s in sightings if s.system == "fulfilment" and s.truth is not None}
    customers = list(fulfilment.values())
    deliveries = []
    for sighting in sightings:
        if sighting.system != "orders" or sighting.truth not in fulfilment:
            continue
        named = fulfilment[sighting.truth]
        conflict = rnd.random() < CONFLICTS
        if conflict:
            named = rnd.choice([c for c in customers[:50] if c.truth != sighting.truth])
        number = len(deliveries) + 1
        deliveries.append(
            Delivery(f"S-{number}", sighting.external_id, named.external_id, conflict)
        )
    return deliveries


def _organisations(rnd: random.Random, count: int) -> list[TrueOrganisation]:
    orgs, keys = [], set()
    while len(orgs) < count:
        if orgs and rnd.random() < TWINS:
            twin = rnd.choice(orgs)  # the same name, another company in another city
            city = rnd.choice([c for c in CITIES if c != twin.city])
            orgs.append(_organisation(rnd, len(orgs), twin.name, city))
            continue
        name = _name(rnd)
        if name_key(name) in keys:
            continue
        keys.add(name_key(name))
        orgs.append(_organisation(rnd, len(orgs), name, rnd.choice(CITIES)))
    return orgs


def _organisation(rnd, index: int, name: str, city: str) -> TrueOrganisation:
    slug = "".join(c for c in _fold(name).lower() if c.isalnum())[:20]
    return TrueOrganisation(
        name=name,
        customer_number=f"G-{100000 + index}",
        registry_id=f"GB{rnd.randrange(10**8, 10**9)}",
        city=city,
        postcode=f"{rnd.choice('BDLMNSW')}{rnd.choice('ABEGS')}{index // 100 + 1} "
        f"{index % 100 // 10}{rnd.choice('ABDEFGHJ')}{index % 10}",
        email_domain=f"{slug}{index}.example",
    )


def _name(rnd: random.Random) -> str:
    first, industry = rnd.choice(FIRST), rnd.choice(INDUSTRY)
    shape = rnd.random()
    if shape < 0.3:
        core = f"{first} & {rnd.choice(FIRST)}"
    elif shape < 0.6:
        core = f"{first} {rnd.choice(SECOND)} {industry}"
    elif shape < 0.75:
        core = f"{first} International {industry}"
    else:
        core = f"{first} {industry}"
    return f"{core} {rnd.choice(LEGAL)}".strip()


def _stranger(rnd: random.Random, taken: set[str]) -> TrueOrganisation:
    """A customer of a legacy system that is not ours: a name none of ours has."""
    while True:
        name = f"{rnd.choice(FIRST)} {rnd.choice(FIRST)} {rnd.choice(INDUSTRY)} Ltd"
        if name_key(name) not in taken:
            taken.add(name_key(name))
            return _organisation(rnd, 900000 + rnd.randrange(99999), name, rnd.choice(CITIES))


def _sighting(rnd, system: str, habits: dict, count: int, org, truth) -> Sighting:
    external_id = habits.get("id", system[:3].upper() + "-{:05d}").format(count)
    evidence = Evidence(
        name=_spell(rnd, org.name, habits),
        number=org.customer_number if truth is not None and _has(rnd, habits, "number") else "",
        registry_id=org.registry_id if _has(rnd, habits, "registry") else "",
        city=org.city if _has(rnd, habits, "city") else "",
        postcode=org.postcode if _has(rnd, habits, "postcode") else "",
        email_domain=org.email_domain if _has(rnd, habits, "email") else "",
    )
    return Sighting(system, external_id, evidence, truth)


def _has(rnd, habits: dict, evidence: str) -> bool:
    return rnd.random() < habits.get(evidence, 0)


def _spell(rnd: random.Random, name: str, habits: dict) -> str:
    """The name as this system keeps it."""
    words = name.split()
    if rnd.random() < 0.4 and words[-1] in LEGAL:
        words[-1] = rnd.choice([w for w in LEGAL if w])
    if rnd.random() < 0.3:
        words = [ABBREVIATE.get(w, w) for w in words]
    if "&" in words and rnd.random() < 0.3:
        words[words.index("&")] = "and"
    if "&" in words and rnd.random() < 0.2:  # "A & B" kept as "B & A"
        i = words.index("&")
        if 0 < i < len(words) - 1:
            words[i - 1], words[i + 1] = words[i + 1], words[i - 1]
    text = " ".join(words)
    if rnd.random() < 0.15:
        text += rnd.choice(BRANCH)
    if rnd.random() < habits["typo"]:
        text = _typo(rnd, text)
    style = habits["style"]
    if style == "upper_ascii":
        return _fold(text).upper()
    if style == "damaged":
        return "".join(c if c.isascii() else "?" for c in unicodedata.normalize("NFC", text))
    if style == "lower":
        return text.lower()
    return text


def _typo(rnd: random.Random, text: str) -> str:
    """One slip of the keyboard in one longer word."""
    words = text.split()
    long_ones = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
    if not long_ones:
        return text
    i = rnd.choice(long_ones)
    word, at = words[i], rnd.randrange(1, len(words[i]) - 1)
    kind = rnd.random()
    if kind < 0.33:
        word = word[:at] + word[at + 1 :]
    elif kind < 0.66:
        word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    else:
        word = word[:at] + rnd.choice(string.ascii_lowercase) + word[at + 1 :]
    words[i] = word
    return " ".join(words)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


# --- Loading it, and scoring the engine against the truth -----------------------------------


def estate_load(estate: Estate) -> list[int]:
    """Write the organisations, the waiting identities, and order entry's orders and
    fulfilment's deliveries (organisation unknown, as a first sync leaves them);
    returns the organisations' pks in the order of `estate.organisations`."""
    from django.utils import timezone

    from accounts.models import Organisation
    from portal.records.models import Order, Shipment
    from portal.sync.identity import new_identity
    from portal.sync.models import CustomerIdentity, SourceSystem

    # Every field the estate gives an organisation (evidence_estate's phones and streets
    # too) is one of the model's.
    created = Organisation.objects.bulk_create(
        [Organisation(**asdict(o)) for o in estate.organisations], batch_size=1000
    )
    CustomerIdentity.objects.bulk_create(
        [new_identity(s.system, s.external_id, s.evidence) for s in estate.sightings],
        batch_size=1000,
    )
    orders = SourceSystem.objects.create(
        name="Order entry", system="orders", department="sales", kind="csv", entity="orders"
    )
    shipments = SourceSystem.objects.create(
        name="Fulfilment", system="fulfilment", department="logistics", kind="csv",
        entity="shipments", config={"order_system": "orders"},
    )  # fmt: skip
    now = timezone.now()
    synced = {"content_hash": "", "synced_at": now}
    Order.objects.bulk_create(
        [
            Order(source=orders, external_id=d.order_id, customer_id=d.order_id, number=d.order_id,
                  status="open", ordered_at=now, **synced)
            for d in estate.deliveries
        ],
        batch_size=1000,
    )  # fmt: skip
    Shipment.objects.bulk_create(
        [
            Shipment(source=shipments, external_id=d.external_id, order_id_external=d.order_id,
                     customer_id=d.customer_id, carrier="DHL", status="shipped", **synced)
            for d in estate.deliveries
        ],
        batch_size=1000,
    )  # fmt: skip
    return [o.pk for o in created]


def estate_score(estate: Estate, pks: list[int]) -> dict:
    """How the engine's decisions (as stored) compare with the truth."""
    from portal.sync.models import CustomerIdentity

    decided = {
        (i.system, i.external_id): i
        for i in CustomerIdentity.objects.only(
            "system", "external_id", "organisation_id", "candidates"
        )
    }
    score = dict.fromkeys(
        ["identities", "with_organisation", "auto", "auto_wrong", "rest", "rest_top3",
         "strangers", "strangers_matched"], 0
    )  # fmt: skip
    for sighting in estate.sightings:
        identity = decided[sighting.system, sighting.external_id]
        score["identities"] += 1
        if sighting.truth is None:
            score["strangers"] += 1
            score["strangers_matched"] += identity.organisation_id is not None
            continue
        truth = pks[sighting.truth]
        score["with_organisation"] += 1
        if identity.organisation_id is not None:
            score["auto"] += 1
            score["auto_wrong"] += identity.organisation_id != truth
        else:
            score["rest"] += 1
            top3 = [c["organisation"] for c in identity.candidates[:3]]
            score["rest_top3"] += truth in top3
    score["auto_percent"] = 100 * score["auto"] / max(1, score["with_organisation"])
    score["top3_percent"] = 100 * score["rest_top3"] / max(1, score["rest"])
    return score | _delivery_score(estate, pks)


def _delivery_score(estate: Estate, pks: list[int]) -> dict:
    """Deliveries: held exactly when their two customers, both decided, disagree; never
    shown to an organisation that is not their order's in truth."""
    from portal.records.models import Shipment

    truth = {(s.system, s.external_id): s.truth for s in estate.sightings}
    stored = {
        s.external_id: s for s in Shipment.objects.only("external_id", "held", "organisation")
    }
    score = dict.fromkeys(["deliveries", "conflicts", "conflicts_held", "held_wrongly",
                           "shown_to_wrong_organisation"], 0)  # fmt: skip
    for delivery in estate.deliveries:
        shipment = stored[delivery.external_id]
        ordered_by = truth["orders", delivery.order_id]
        score["deliveries"] += 1
        score["conflicts"] += delivery.conflict
        score["conflicts_held"] += delivery.conflict and shipment.held
        score["held_wrongly"] += shipment.held and not delivery.conflict
        shown = shipment.organisation_id
        score["shown_to_wrong_organisation"] += shown is not None and shown != pks[ordered_by]
    return score
