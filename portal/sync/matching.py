"""Identity resolution: which organisation a legacy system's customer is.

Sure things first, then the name:

1. our customer number, where the source quotes it;
2. the registry or VAT number;
3. the same name already matched in another system, to one organisation only;
4. the name, normalised (legal forms, branch words, abbreviations, punctuation,
   "&"/"and", diacritics, a `?` left by an old encoding, word order) and scored
   with rapidfuzz, weighed with postcode, email domain and city.

An exact normalised name, a close one (AUTO_SCORE) that a postcode or email
domain confirms, or a very close one (ALONE_SCORE) with no other organisation
near it, is matched automatically when nothing contradicts it and no other
organisation is as close. Two organisations of the same name are never
chosen between automatically. Everything else waits for a person, with the
candidates at or above REVIEW_SCORE ranked and explained.

Pure Python over values: `OrganisationIndex` is built once (one query for the
organisations, one for the names other systems matched) and then answers any
number of identities without further queries.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from portal.sync.choices import IdentityStatus, MatchMethod

AUTO_SCORE = 90  # a close name, confirmed by postcode or email domain
ALONE_SCORE = 94  # a close name nothing confirms: one slip of the keyboard in a long name
ALONE_MARGIN = 10  # ... and no other organisation anywhere near it
ALONE_LENGTH = 15  # ... in a name long enough that one slip is not another word
REVIEW_SCORE = 60  # below this a name is no candidate
MARGIN = 5  # how much closer than the next organisation an automatic match must be
CANDIDATES = 5

LEGAL_FORMS = {
    "ltd", "limited", "plc", "llc", "llp", "lp", "inc", "incorporated", "corp", "corporation",
    "gmbh", "ag", "kg", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "oy", "ab", "pty",
    "co", "company", "the", "and", "of", "group", "holdings",
}  # fmt: skip
BRANCH_WORDS = {"hq", "headquarters", "branch", "division", "depot", "site", "main"}
# One spelling for the words old systems abbreviate.
CANONICAL = {
    "intl": "international", "int": "international", "mfg": "manufacturing",
    "svc": "service", "svcs": "service", "services": "service", "bros": "brothers",
    "assoc": "associates", "eng": "engineering", "engg": "engineering",
    "lab": "laboratory", "labs": "laboratory", "laboratories": "laboratory",
    "med": "medical", "hosp": "hospital", "st": "saint", "ctr": "centre", "center": "centre",
    "tech": "technology", "technologies": "technology", "pharma": "pharmaceutical",
    "pharmaceuticals": "pharmaceutical", "dist": "distribution", "natl": "national",
    "mgmt": "management", "grp": "group", "sys": "systems", "univ": "university",
    "assn": "association",
}  # fmt: skip


def _words(name: str, *, damaged: bool) -> list[str]:
    text = unicodedata.normalize("NFC", name)
    if damaged:
        # What an old system's export made of it: a `?` for each letter it could not encode.
        text = "".join(c if c.isascii() else "?" for c in text)
    else:
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = text.lower().replace("&", " and ").replace("'", "").replace("head office", "hq")
    words = re.findall(r"[a-z0-9?]+", text)
    words = [CANONICAL.get(w, w) for w in words]
    return [w for w in words if w not in LEGAL_FORMS and w not in BRANCH_WORDS]


def name_key(name: str, *, damaged: bool = False) -> str:
    """'Müller & Söhne GmbH (HQ)' and 'SOHNE MULLER' both become 'muller sohne'.

    With `damaged`, non-ASCII letters become `?` instead ('m?ller s?hne'), the
    form to compare a name an old encoding damaged with.
    """
    return " ".join(sorted(_words(name, damaged=damaged)))


def name_words(name: str) -> str:
    """The normalised name in its own word order: what a typo in the first word is
    compared on (in `name_key` it can move the word and spoil the comparison)."""
    return " ".join(_words(name, damaged=False))


def plain(value: str) -> str:
    """An identifier or place compared without case, spaces or punctuation."""
    text = unicodedata.normalize("NFKD", value or "").encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Z0-9]", "", text.upper())


def registry_key(value: str) -> str:
    """'GB 123 4567 89' and '123456789' are one VAT number: the country prefix goes."""
    return re.sub(r"^[A-Z]{2}(?=\d)", "", plain(value))


TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9./-]*[0-9]")
REGISTRY = re.compile(r"(?:\b[A-Za-z]{2} ?)?\d[\d .-]{6,}\d")  # "GB 123 4567 89"


def _strings(value):
    """Every string in a record, nested ones too."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for inner in value.values():
            yield from _strings(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            yield from _strings(inner)


def keys_in(record: dict, index: OrganisationIndex) -> tuple[str, str]:
    """Our customer number and a registry number quoted anywhere in a raw record (a
    free-text reference, a column nobody mapped): ("", "") when none is one of ours."""
    number = registry = ""
    for text in _strings(record):
        for token in [*TOKEN.findall(text), *([text] if len(text) <= 24 else [])]:
            token = token.strip()
            # Spelled exactly as ours (any case), and not a bare short number: "123.45"
            # is an amount, not customer 12345.
            if not number and token.upper() in index.numbers and _not_a_quantity(token):
                number = token
        for token in REGISTRY.findall(text):
            key = registry_key(token)
            if not registry and len(key) >= 8 and len(index.by_registry.get(key, ())) == 1:
                registry = token.strip()
    return number, registry


def _not_a_quantity(token: str) -> bool:
    return any(c.isalpha() for c in token) or len(token) >= 8


@dataclass(frozen=True)
class Evidence:
    """What a source says about one of its customers."""

    name: str = ""
    number: str = ""
    registry_id: str = ""
    city: str = ""
    postcode: str = ""
    email_domain: str = ""

    @classmethod
    def of(cls, identity) -> Evidence:
        return cls(
            name=identity.external_name,
            number=identity.number,
            registry_id=identity.registry_id,
            city=identity.city,
            postcode=identity.postcode,
            email_domain=identity.email_domain,
        )


@dataclass
class Verdict:
    """The engine's answer for one identity."""

    organisation_id: int | None = None
    method: str = ""
    score: int | None = None
    why: list[str] = field(default_factory=list)
    candidates: list[dict] = field(default_factory=list)

    @property
    def status(self) -> str:
        return IdentityStatus.MATCHED if self.organisation_id else IdentityStatus.WAITING


@dataclass
class _Organisation:
    pk: int
    name: str
    key: str
    city: str
    postcode: str
    email_domain: str


class OrganisationIndex:
    """Every organisation, by each way a legacy system may know it."""

    def __init__(self, organisations: list[dict], matched_names: list[tuple[str, str, int]]):
        """`organisations`: value rows of Organisation; `matched_names`: (system, name,
        organisation id) of identities people or the engine already matched."""
        self.organisations: dict[int, _Organisation] = {}
        self.by_number: dict[str, int] = {}
        self.numbers: set[str] = set()  # as spelled, for numbers found anywhere
        self.by_registry: dict[str, set[int]] = {}
        self.by_key: dict[str, set[int]] = {}
        self.by_damaged_key: dict[str, set[int]] = {}
        self.by_words: dict[str, set[int]] = {}
        for row in organisations:
            key = name_key(row["name"])
            self.organisations[row["pk"]] = _Organisation(
                row["pk"],
                row["name"],
                key,
                plain(row["city"]),
                plain(row["postcode"]),
                row["email_domain"].lower(),
            )
            self.by_number[plain(row["customer_number"])] = row["pk"]
            self.numbers.add(row["customer_number"].strip().upper())
            if row["registry_id"]:
                self.by_registry.setdefault(registry_key(row["registry_id"]), set()).add(row["pk"])
            self.by_key.setdefault(key, set()).add(row["pk"])
            self.by_damaged_key.setdefault(name_key(row["name"], damaged=True), set()).add(
                row["pk"]
            )
            self.by_words.setdefault(name_words(row["name"]), set()).add(row["pk"])
        self.keys = list(self.by_key)
        self.word_forms = list(self.by_words)
        self.matched_elsewhere: dict[str, dict[str, set[int]]] = {}
        for system, name, organisation_id in matched_names:
            by_system = self.matched_elsewhere.setdefault(name_key(name), {})
            by_system.setdefault(system, set()).add(organisation_id)

    @classmethod
    def build(cls) -> OrganisationIndex:
        from accounts.models import Organisation
        from portal.sync.models import CustomerIdentity

        organisations = Organisation.objects.values(
            "pk", "name", "customer_number", "registry_id", "city", "postcode", "email_domain"
        )
        matched = CustomerIdentity.objects.filter(status=IdentityStatus.MATCHED).values_list(
            "system", "external_name", "organisation_id"
        )
        return cls(list(organisations), list(matched))

    # --- The verdict --------------------------------------------------------------------------

    def resolve(self, evidence: Evidence, *, system: str = "") -> Verdict:
        sure = self._hard_key(evidence, system)
        if sure:
            return sure
        candidates = self._candidates(evidence)
        verdict = Verdict(
            score=candidates[0]["score"] if candidates else None,
            candidates=candidates,
        )
        if candidates and self._sure_of(candidates, evidence):
            best = candidates[0]
            verdict.organisation_id = best["organisation"]
            verdict.method = MatchMethod.NAME
            verdict.why = best["why"]
        return verdict

    def _hard_key(self, evidence: Evidence, system: str) -> Verdict | None:
        number = plain(evidence.number)
        if number and number in self.by_number:
            return Verdict(
                self.by_number[number],
                MatchMethod.NUMBER,
                100,
                [f"customer number {evidence.number.strip()}"],
            )
        registry = registry_key(evidence.registry_id)
        if registry and len(self.by_registry.get(registry, ())) == 1:
            (pk,) = self.by_registry[registry]
            why = [f"registry number {evidence.registry_id.strip()}"]
            return Verdict(pk, MatchMethod.REGISTRY, 100, why)
        key = name_key(evidence.name)
        elsewhere = {
            other: pks
            for other, pks in self.matched_elsewhere.get(key, {}).items()
            if other != system
        }
        found = set().union(*elsewhere.values()) if elsewhere else set()
        organisation = self.organisations.get(next(iter(found))) if len(found) == 1 else None
        twins = len(self.by_key.get(key, ())) > 1
        if organisation and not twins and not self._contradicted(organisation, evidence):
            systems = ", ".join(sorted(elsewhere))
            return Verdict(
                organisation.pk, MatchMethod.OTHER_SYSTEM, 100, [f"same name in {systems}"]
            )
        return None

    def _candidates(self, evidence: Evidence) -> list[dict]:
        """Organisations this may be, best first, each with its score and why."""
        scores: dict[int, int] = {}
        key = name_key(evidence.name)
        if "?" in evidence.name:
            for pk in self.by_damaged_key.get(name_key(evidence.name, damaged=True), ()):
                scores[pk] = 100
        for query, forms, owners in (
            (key, self.keys, self.by_key),
            (name_words(evidence.name), self.word_forms, self.by_words),
        ):
            if not query or (scores and max(scores.values()) == 100):
                continue  # the word order cannot beat an exact name
            for found, score, _ in process.extract(
                query, forms, scorer=fuzz.ratio, limit=CANDIDATES, score_cutoff=REVIEW_SCORE
            ):
                for pk in owners[found]:
                    scores[pk] = max(scores.get(pk, 0), round(score))
        ranked = []
        for pk, score in scores.items():
            organisation = self.organisations[pk]
            weight, why = self._weigh(organisation, evidence)
            ranked.append((score + weight, score, pk, [f"name {score} %", *why]))
        ranked.sort(key=lambda row: (-row[0], -row[1], self.organisations[row[2]].name))
        return [
            {"organisation": pk, "score": score, "why": why}
            for _, score, pk, why in ranked[:CANDIDATES]
        ]

    @staticmethod
    def _weigh(organisation: _Organisation, evidence: Evidence) -> tuple[int, list[str]]:
        """Points for what agrees and against what differs, and the words for them."""
        weight, why = 0, []
        for label, ours, theirs, agree, differ in (
            ("postcode", organisation.postcode, plain(evidence.postcode), 6, -8),
            ("email domain", organisation.email_domain, evidence.email_domain.lower(), 6, -2),
            ("city", organisation.city, plain(evidence.city), 3, -10),
        ):
            if not ours or not theirs:
                continue
            if ours == theirs:
                weight += agree
                why.append(f"same {label}")
            else:
                weight += differ
                why.append(f"other {label}")
        return weight, why

    @staticmethod
    def _contradicted(organisation: _Organisation, evidence: Evidence) -> bool:
        return any(
            ours and theirs and ours != theirs
            for ours, theirs in (
                (organisation.postcode, plain(evidence.postcode)),
                (organisation.city, plain(evidence.city)),
            )
        )

    def _sure_of(self, candidates: list[dict], evidence: Evidence) -> bool:
        best = candidates[0]
        organisation = self.organisations[best["organisation"]]
        if len(self.by_key[organisation.key]) > 1:
            return False  # another organisation has the same name
        if self._contradicted(organisation, evidence):
            return False
        runner_up = candidates[1]["score"] if len(candidates) > 1 else 0
        if best["score"] - runner_up < MARGIN:
            return False
        if best["score"] == 100:
            return True
        confirmed = {"same postcode", "same email domain"} & set(best["why"])
        if confirmed:
            return best["score"] >= AUTO_SCORE
        return (
            best["score"] >= ALONE_SCORE
            and best["score"] - runner_up >= ALONE_MARGIN
            and len(name_words(evidence.name)) >= ALONE_LENGTH
        )
