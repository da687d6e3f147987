"""Identity resolution: which organisation a legacy system's customer is.

A match is an authorisation decision (it decides who sees the records), so a name on its
own never makes one. The rule (issue 23):

1. A hard key decides: our customer number (in a field mapped as ours, zero-padded or
   digits-only alike) or a registry/VAT number, each belonging to one organisation.
2. Otherwise a name decides only with evidence: the name agrees (the same words after
   normalisation (names.py), one of the names the organisation is known by elsewhere by
   a hard key or a person, or one slip of the keyboard in a long word), at least one
   independent field agrees (postcode, email domain, city, phone, street), none
   disagrees, the agreeing evidence outweighs what a slip needs (a typo needs more than
   a city), and no other organisation fits as well.
3. Everything else waits for a person, with candidates ranked by their weight.

Weights follow Fellegi and Sunter: each comparison adds log2(m/u) bits when it agrees and
log2((1-m)/(1-u)) when it disagrees, where m is how often it agrees for the same customer
(a prior, MATCH_PROBABILITY) and u how often for two customers taken at random, estimated
from our organisations' own values (the chance two of them share a postcode, a city, ...).
A name's u is term-frequency adjusted: the product of how common each of its words is
among our organisations, so "Central Clinic" weighs less than "Northwind Paediatrics".
Each candidate's `why` lists every piece of evidence with its weight, and its `score` is
the resulting match probability in per cent.

Pure Python over values: `OrganisationIndex` is built once (one query for the
organisations, one for the names already decided) and then answers any number of
identities without further queries.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from portal.sync import names
from portal.sync.choices import IdentityStatus, MatchMethod
from portal.sync.names import (
    DIFFERENT,
    DISTINGUISHED,
    SAME,
    TYPO,
    city_keys,
    damaged_key,
    name_key,
    phone_key,
    postcode_key,
    street_key,
)

__all__ = ["Evidence", "OrganisationIndex", "Verdict", "keys_in", "name_key"]

REVIEW_SCORE = 60  # rapidfuzz ratio below which a name is no candidate
CANDIDATES = 5
SEARCH = 8  # names taken from the fuzzy search, before weighing
BLOCK = 200  # organisations a name is compared with at most (those sharing rare words)

# m: how often a comparison agrees for the same customer (priors; u is estimated).
MATCH_PROBABILITY = {
    "postcode": 0.9, "email domain": 0.8, "city": 0.9, "phone": 0.7, "street": 0.7,
}  # fmt: skip
# The most u may be, whatever few organisations we have: the chance two companies taken
# at random share a postcode is small even when three of our ten share one.
U_CEILING = {
    "postcode": 1e-3, "email domain": 1e-3, "city": 0.02, "phone": 1e-4, "street": 1e-3,
}  # fmt: skip
NAME_M = {SAME: 0.85, "alias": 0.85, TYPO: 0.05, "initials": 0.02, DISTINGUISHED: 0.01,
          DIFFERENT: 0.02}  # fmt: skip
# How much likelier a random pair is to compare so than to be the same name.
NAME_U_FACTOR = {SAME: 1, "alias": 1, TYPO: 20, "initials": 50, DISTINGUISHED: 200,
                 DIFFERENT: 2000}  # fmt: skip
# The name levels that may decide with evidence, and the bits that evidence must weigh:
# the same name needs any agreeing field; a slip of the keyboard more than a city.
DECIDING = {SAME: 3.0, "alias": 3.0, TYPO: 8.0}
# Free mail: the same domain says nothing about who the customer is.
FREE_MAIL = {
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk", "live.com",
    "yahoo.com", "yahoo.co.uk", "aol.com", "icloud.com", "me.com", "gmx.de", "gmx.net",
    "web.de", "protonmail.com", "proton.me", "mail.com", "btinternet.com", "msn.com",
}  # fmt: skip


@dataclass(frozen=True)
class Evidence:
    """What a source says about one of its customers."""

    name: str = ""
    number: str = ""
    registry_id: str = ""
    city: str = ""
    postcode: str = ""
    email_domain: str = ""
    phone: str = ""
    street: str = ""

    @classmethod
    def of(cls, identity) -> Evidence:
        return cls(
            name=identity.external_name,
            number=identity.number,
            registry_id=identity.registry_id,
            city=identity.city,
            postcode=identity.postcode,
            email_domain=identity.email_domain,
            phone=getattr(identity, "phone", ""),
            street=getattr(identity, "street", ""),
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


def plain(value: str) -> str:
    """An identifier compared without case, spaces or punctuation."""
    return re.sub(r"[^A-Z0-9]", "", names.fold(value).upper())


def registry_key(value: str) -> str:
    """'GB 123 4567 89' and '123456789' are one VAT number: the country prefix goes."""
    return re.sub(r"^[A-Z]{2}(?=\d)", "", plain(value))


def email_key(value: str) -> str:
    domain = (value or "").strip().lower().rpartition("@")[2].removeprefix("www.")
    return "" if domain in FREE_MAIL else domain


# The fields a name must be corroborated by: (label, how a value is compared).
FIELDS = [
    ("postcode", postcode_key),
    ("email domain", email_key),
    ("city", city_keys),
    ("phone", phone_key),
    ("street", street_key),
]


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
    free-text reference, a column nobody mapped): ("", "") when none is one of ours.
    Spelled exactly as ours here: a loose number in free text may be anything."""
    number = registry = ""
    for text in _strings(record):
        for token in [*TOKEN.findall(text), *([text] if len(text) <= 24 else [])]:
            token = token.strip()
            # Not a bare short number: "123.45" is an amount, not customer 12345.
            if not number and token.upper() in index.numbers and _not_a_quantity(token):
                number = token
        for token in REGISTRY.findall(text):
            key = registry_key(token)
            if not registry and len(key) >= 8 and len(index.by_registry.get(key, ())) == 1:
                registry = token.strip()
    return number, registry


def _not_a_quantity(token: str) -> bool:
    return any(c.isalpha() for c in token) or len(token) >= 8


@dataclass
class _Organisation:
    pk: int
    name: str
    words: list[str]
    key: str
    ordered: str  # the words in their order
    values: dict  # label -> compared value (a frozenset for cities)


def _bits(m: float, u: float) -> float:
    return math.log2(m / u)


def _against(m: float, u: float) -> float:
    return math.log2((1 - m) / (1 - u))


class OrganisationIndex:
    """Every organisation, by each way a legacy system may know it."""

    def __init__(self, organisations: list[dict], matched_names: list[tuple]):
        """`organisations`: value rows of Organisation; `matched_names`: (system, name,
        organisation id[, method]) of identities already decided. Only those decided by a
        hard key or a person teach an organisation a name (fuzzy verdicts never
        propagate); rows without a method are taken as such."""
        self.organisations: dict[int, _Organisation] = {}
        self.by_number: dict[str, set[int]] = {}
        self._numbers_by_pk: dict[int, str] = {}
        self.by_digits: dict[int, set[int]] = {}
        self.numbers: set[str] = set()  # as spelled, for numbers found anywhere
        self.by_registry: dict[str, set[int]] = {}
        self.by_key: dict[str, set[int]] = {}
        self.by_damaged: dict[str, set[int]] = {}
        self.by_initials: dict[str, set[int]] = {}
        self.by_dropped: dict[str, set[int]] = {}  # a key with one word left out
        self.by_word: dict[str, set[int]] = {}
        self._key_of: dict[int, str] = {}
        self._ordered_of: dict[int, str] = {}
        self.by_deletion: dict[str, set[str]] = {}  # a word less one letter -> words
        vocabulary: Counter = Counter()
        for row in organisations:
            self._add(row, vocabulary)
        self.keys = list(self.by_key)
        total = max(1, len(self.organisations))
        self._word_u = {w: (n + 1) / (total + 1) for w, n in vocabulary.items()}
        self._unseen_u = 1 / (total + 1)
        self._prior_bits = -math.log2(total)
        self._field_u = self._random_agreement()
        self.aliases: dict[str, dict[int, set[str]]] = {}  # key -> {organisation: systems}
        for system, name, organisation_id, *method in matched_names:
            if organisation_id in self.organisations and (not method or method[0] in LEARNED):
                for alias in names.names_of(name):
                    by_org = self.aliases.setdefault(name_key(alias), {})
                    by_org.setdefault(organisation_id, set()).add(system)

    def _add(self, row: dict, vocabulary: Counter) -> None:
        pk = row["pk"]
        words = names.tokens(row["name"])
        key = " ".join(sorted(words))
        values = {
            "postcode": postcode_key(row.get("postcode", "")),
            "email domain": email_key(row.get("email_domain", "")),
            "city": city_keys(row.get("city", "")),
            "phone": phone_key(row.get("phone", "")),
            "street": street_key(row.get("street", "")),
        }
        self.organisations[pk] = _Organisation(pk, row["name"], words, key, " ".join(words), values)
        self._key_of[pk], self._ordered_of[pk] = key, " ".join(words)
        number = row.get("customer_number", "") or ""
        text, digits = names.number_forms(number)
        if text:
            self.by_number.setdefault(text, set()).add(pk)
            self._numbers_by_pk[pk] = number
            self.numbers.add(number.strip().upper())
        if digits is not None:
            self.by_digits.setdefault(digits, set()).add(pk)
        if row.get("registry_id"):
            self.by_registry.setdefault(registry_key(row["registry_id"]), set()).add(pk)
        self.by_key.setdefault(key, set()).add(pk)
        self.by_damaged.setdefault(damaged_key(row["name"]), set()).add(pk)
        for variant in _dropped(words):
            self.by_dropped.setdefault(variant, set()).add(pk)
        for word in words:
            if word not in self.by_word:
                for variant in _deletions(word):
                    self.by_deletion.setdefault(variant, set()).add(word)
            self.by_word.setdefault(word, set()).add(pk)
        if len(words) <= 8:
            for variant in names.initials_variants(words):
                self.by_initials.setdefault(variant, set()).add(pk)
        vocabulary.update(set(words))

    def _random_agreement(self) -> dict[str, float]:
        """u of each field: the chance two of our organisations taken at random agree on
        it (the sum of squared value frequencies), between one in a million and
        U_CEILING."""
        u = {}
        for label, _ in FIELDS:
            counts = Counter()
            for organisation in self.organisations.values():
                value = organisation.values[label]
                for one in value if isinstance(value, frozenset) else [value]:
                    if one:
                        counts[one] += 1
            total = sum(counts.values())
            share = sum((n / total) ** 2 for n in counts.values()) if total else 0
            u[label] = min(U_CEILING[label], max(share, 1e-6))
        return u

    @classmethod
    def build(cls) -> OrganisationIndex:
        from accounts.models import Organisation
        from portal.sync.models import CustomerIdentity

        organisations = Organisation.objects.values(
            "pk", "name", "customer_number", "registry_id", "city", "postcode", "email_domain",
            "phone", "street",
        )  # fmt: skip
        learned = CustomerIdentity.objects.filter(
            status=IdentityStatus.MATCHED, method__in=LEARNED
        ).values_list("system", "external_name", "organisation_id", "method")
        return cls(list(organisations), list(learned))

    # --- The verdict --------------------------------------------------------------------------

    def resolve(self, evidence: Evidence, *, system: str = "") -> Verdict:
        sure = self._hard_key(evidence)
        if sure:
            return sure
        scored = self._score(evidence, system)
        candidates = [
            {"organisation": c.pk, "score": c.score, "why": c.why} for c in scored[:CANDIDATES]
        ]
        verdict = Verdict(score=candidates[0]["score"] if candidates else None,
                          candidates=candidates)  # fmt: skip
        best = self._decided(scored)
        if best:
            verdict.organisation_id = best.pk
            verdict.method = MatchMethod.OTHER_SYSTEM if best.level == "alias" else MatchMethod.NAME
            verdict.score, verdict.why = best.score, best.why
        return verdict

    def _hard_key(self, evidence: Evidence) -> Verdict | None:
        pk = self._number_owner(evidence.number)
        if pk:
            return Verdict(pk, MatchMethod.NUMBER, 100,
                           [f"customer number {evidence.number.strip()}"])  # fmt: skip
        registry = registry_key(evidence.registry_id)
        if registry and len(self.by_registry.get(registry, ())) == 1:
            (pk,) = self.by_registry[registry]
            why = [f"registry number {evidence.registry_id.strip()}"]
            return Verdict(pk, MatchMethod.REGISTRY, 100, why)
        return None

    def _number_owner(self, number: str) -> int | None:
        """The one organisation whose customer number this is: spelled as ours, or the
        same digits ('10007', 'C-010007') with no other letters than ours."""
        text, digits = names.number_forms(number)
        if not text:
            return None
        exact = self.by_number.get(text, set())
        if len(exact) == 1:
            return next(iter(exact))
        owners = self.by_digits.get(digits, set()) if digits is not None else set()
        letters = names.number_letters(number)
        owners = {
            pk for pk in owners
            if not letters or letters == names.number_letters(self._number_of(pk))
        }  # fmt: skip
        return next(iter(owners)) if len(owners) == 1 else None

    def _number_of(self, pk: int) -> str:
        return self._numbers_by_pk.get(pk, "")

    # --- Candidates and their weights -------------------------------------------------------

    def _score(self, evidence: Evidence, system: str) -> list[_Candidate]:
        """Every organisation the name may be, weighed, best first."""
        found: dict[int, _Candidate] = {}
        values = self._values(evidence)
        for theirs in names.names_of(evidence.name):
            words = names.tokens(theirs)
            if not words:
                continue
            for pk, level, detail in self._name_candidates(theirs, words, system):
                candidate = self._weigh(pk, level, detail, words, values)
                if pk not in found or candidate.bits > found[pk].bits:
                    found[pk] = candidate
        # Ties (the same words in another order) go to the name in the same order.
        ordered = " ".join(names.tokens(evidence.name))
        ranked = sorted(
            found.values(),
            key=lambda c: (
                -c.bits,
                -fuzz.ratio(ordered, " ".join(self.organisations[c.pk].words)),
                self.organisations[c.pk].name,
            ),
        )
        return ranked

    def _name_candidates(self, name: str, words: list[str], system: str):
        """(organisation, level, detail) for the organisations this name may stand for."""
        key = " ".join(sorted(words))
        seen = set()
        same = self.by_key.get(key, set())
        for pk in same:
            seen.add(pk)
            yield pk, SAME, ""
        for pk, systems in self.aliases.get(key, {}).items():
            if pk not in seen:
                seen.add(pk)
                yield pk, "alias", f"known as this in {', '.join(sorted(systems))}"
        if "?" in name:
            for pk in self.by_damaged.get(damaged_key(name), ()):
                if pk not in seen:
                    seen.add(pk)
                    yield pk, SAME, "letters an old export spoiled"
        for pk in self.by_initials.get(key, ()):
            if pk not in seen:
                seen.add(pk)
                yield pk, "initials", "initials of its name"
        # A word more or less than ours ("Acme Health" / "Acme Health Group"): a fuzzy
        # ratio of a short name may miss it, and a person should see it.
        # One word other than ours ("ABD Pharma" / "ABC Pharma") when the two words are
        # alike, among the few organisations that share the rest.
        dropped = _dropped(words)
        near = {pk for variant in dropped for pk in self.by_key.get(variant, ())}
        near |= self.by_dropped.get(key, set())
        for variant in dropped:
            sharing = self.by_dropped.get(variant, set())
            if len(sharing) <= SEARCH:
                near |= {pk for pk in sharing if self._one_word_alike(words, pk)}
        for pk in near:
            if pk not in seen:
                seen.add(pk)
                comparison = names.compare_words(words, self.organisations[pk].words)
                yield pk, comparison.level, comparison.detail
        # Fuzzy, among the names that share a word: on the sorted words (words reordered)
        # and on the words in their order (a slip in a first word moves it in the sort).
        block = self._block(words)
        searches = [(key, self._key_of)]
        if not same:  # the same name found: its neighbours share its sorted words
            searches.append((" ".join(words), self._ordered_of))
        for query, forms in searches:
            choices = {pk: forms[pk] for pk in block}
            for _, _, pk in process.extract(
                query, choices, scorer=fuzz.ratio, limit=SEARCH, score_cutoff=REVIEW_SCORE
            ):
                if pk not in seen:
                    seen.add(pk)
                    comparison = names.compare_words(words, self.organisations[pk].words)
                    yield pk, comparison.level, comparison.detail

    def _block(self, words: list[str]) -> set[int]:
        """The names worth a fuzzy comparison: those sharing a word with this one, or a word
        one slip of the keyboard away (a deletion index, as SymSpell keeps), rarest words
        first, up to BLOCK organisations; comparing with all of them took most of a run."""
        similar = set()
        for word in words:
            for variant in _deletions(word):
                similar |= self.by_deletion.get(variant, set())
        pks: set[int] = set()
        for word in sorted(similar, key=lambda w: len(self.by_word[w])):
            owners = self.by_word[word]
            if pks and len(pks) + len(owners) > BLOCK:
                break
            pks |= owners
        return pks

    def _one_word_alike(self, words: list[str], pk: int) -> bool:
        theirs = set(words) - set(self.organisations[pk].words)
        ours = set(self.organisations[pk].words) - set(words)
        return len(theirs) == len(ours) == 1 and fuzz.ratio(*theirs, *ours) >= 50

    def _values(self, evidence: Evidence) -> dict:
        return {
            "postcode": postcode_key(evidence.postcode),
            "email domain": email_key(evidence.email_domain),
            "city": city_keys(evidence.city),
            "phone": phone_key(evidence.phone),
            "street": street_key(evidence.street),
        }

    def _weigh(self, pk: int, level: str, detail: str, words: list[str], values: dict):
        organisation = self.organisations[pk]
        # The words that agree carry the weight: all of them for the same name (or a slip
        # of the keyboard), the shared ones otherwise.
        if level in (SAME, TYPO):
            agreeing = organisation.words
        elif level == "alias":
            agreeing = words
        else:
            agreeing = [w for w in words if w in organisation.words]
        name_u = min(0.5, NAME_U_FACTOR[level] * self._name_u(agreeing))
        name_bits = _bits(NAME_M[level], name_u)
        label = {SAME: "same name", "alias": "a name it is known by", TYPO: "one letter off",
                 "initials": "initials", DISTINGUISHED: "a word that differs",
                 DIFFERENT: "another name"}[level]  # fmt: skip
        why = [f"{label}{f' ({detail})' if detail else ''} {name_bits:+.1f}"]
        agreeing = disagreeing = 0
        corroboration = 0.0
        total = name_bits
        for field_label, _ in FIELDS:
            ours, theirs = organisation.values[field_label], values[field_label]
            if not ours or not theirs:
                continue
            m, u = MATCH_PROBABILITY[field_label], self._field_u[field_label]
            same = bool(ours & theirs) if isinstance(ours, frozenset) else ours == theirs
            if same:
                bits = _bits(m, u)
                agreeing += 1
                corroboration += bits
                why.append(f"same {field_label} {bits:+.1f}")
            else:
                bits = _against(m, u)
                disagreeing += 1
                why.append(f"other {field_label} {bits:+.1f}")
            total += bits
        probability = 1 / (1 + 2 ** -(total + self._prior_bits))
        return _Candidate(pk, level, total, round(100 * probability), why, agreeing,
                          disagreeing, corroboration)  # fmt: skip

    def _name_u(self, words: list[str]) -> float:
        """Term-frequency adjusted u of a name: how common each of its words is among our
        organisations, multiplied, never below one in a billion."""
        u = 1.0
        for word in set(words):
            u *= self._word_u.get(word, self._unseen_u)
        return max(u, 1e-9)

    def _decided(self, scored: list[_Candidate]) -> _Candidate | None:
        """The one candidate the evidence decides for, if any (the rule at the top)."""
        fits = [c for c in scored if c.level in DECIDING and not c.disagreeing]
        if not fits:
            return None
        best = fits[0]
        if not best.agreeing or best.corroboration < DECIDING[best.level]:
            return None
        if len(fits) > 1:
            return None  # another organisation fits the name, and nothing rules it out
        return best


def _deletions(word: str) -> set[str]:
    """The word, its singular, and the word less each one of its letters: two words one
    slip or a plural apart share one of these."""
    forms = {word}
    if word.endswith("ies"):
        forms.add(word[:-3] + "y")
    elif word.endswith("es"):
        forms.add(word[:-2])
    if word.endswith("s"):
        forms.add(word[:-1])
    if len(word) >= 4:
        forms |= {word[:i] + word[i + 1 :] for i in range(len(word))}
    return forms


def _dropped(words: list[str]) -> set[str]:
    """The keys of a name with one of its words left out."""
    if len(words) < 2:
        return set()
    return {" ".join(sorted(words[:i] + words[i + 1 :])) for i in range(len(words))}


LEARNED = [MatchMethod.NUMBER, MatchMethod.REGISTRY, MatchMethod.HAND]


@dataclass
class _Candidate:
    pk: int
    level: str
    bits: float
    score: int
    why: list[str]
    agreeing: int
    disagreeing: int
    corroboration: float
