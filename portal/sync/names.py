"""How the identity engine reads names, places, postcodes, phone numbers and numbers.

Two rules (issue 23): equivalent spellings become equal, and words that distinguish
one company from another stay.

- Letters are transliterated with anyascii ("Straße Ørsted" -> "strasse orsted"),
  never dropped.
- Only true legal forms are dropped, from the maintained multi-country list of the
  `cleanco` package (`cleanco.termdata.terms_by_type`: Ltd, GmbH, S.A.R.L., Pty Ltd,
  Sp. z o.o., ...), and only at the start or the end of a name. "Group",
  "Holdings", "Labs", "International", numbers, short tokens and plurals are kept:
  they are how siblings and strangers differ (`compare_names` counts them against).
- Abbreviations get one spelling, keeping singular and plural apart ("lab" ->
  "laboratory", "labs" -> "laboratories").
- Trading names and billing suffixes ("t/a", "dba", "trading as", "a division of",
  "- Accounts Payable", "Attn:", "c/o") are split off: what remains and the trading
  name are both names the customer goes by.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from anyascii import anyascii
from cleanco.termdata import terms_by_type
from rapidfuzz.distance import OSA

STOPWORDS = {"the", "and", "of"}
# Words that say which office of a customer wrote, at the end of a name: "(HQ)", "- Head
# Office", "Main Site". Never a word that tells two customers apart.
BRANCH_WORDS = {"hq", "headquarters", "branch", "depot", "site", "main", "office"}
# Spelling variants and abbreviations of one word; plurals keep their own spelling.
CANONICAL = {
    "intl": "international", "mfg": "manufacturing", "svc": "service", "svcs": "services",
    "bros": "brothers", "assoc": "associates", "eng": "engineering", "engg": "engineering",
    "lab": "laboratory", "labs": "laboratories", "med": "medical", "hosp": "hospital",
    "st": "saint", "ste": "sainte", "mt": "mount", "ft": "fort", "ctr": "centre",
    "center": "centre", "cntr": "centre", "centers": "centres", "tech": "technologies",
    "pharma": "pharmaceuticals", "dist": "distribution", "natl": "national",
    "mgmt": "management", "grp": "group", "sys": "systems", "univ": "university",
    "assn": "association", "dept": "department", "hlth": "health", "intern": "international",
}  # fmt: skip
# A cleanco term that is no legal form at all.
NOT_LEGAL_FORMS = {("vat",)}

# "Acme Ltd t/a Swift Couriers", "Swift Couriers, a division of Acme": both names.
TRADING = re.compile(
    r"\s*(?:,\s*|\(\s*|-\s*)?\b(?:t/a|d/b/a|dba|trading\s+as|a\s+division\s+of|division\s+of"
    r"|formerly|fka|f/k/a|aka|a/k/a)\b\.?\s*",
    re.IGNORECASE,
)
# "- Accounts Payable", "Attn: Purchasing", "c/o Smith & Co", "FAO Finance": who at the
# customer reads the bill, not another customer. Everything from there on goes.
BILLING = re.compile(
    r"\s*(?:[-–,/(]\s*)?\b(?:attn\b:?|attention\s*:|c/o\b|care\s+of\b|fao\b:?"
    r"|accounts\s+payable\b|a/p\b|ap\s+dept\b|accounts\s+dept\b|accounts\s+department\b"
    r"|billing\s+(?:dept|department)\b|finance\s+(?:dept|department)\b"
    r"|purchasing\s+(?:dept|department)\b).*$",
    re.IGNORECASE,
)


def fold(text: str) -> str:
    """Lower-case ASCII, letters transliterated (anyascii), never dropped; a `?` an old
    encoding left stays a `?`."""
    return anyascii(text or "").lower()


def tokens(name: str) -> list[str]:
    """The words of a name as compared: folded, abbreviations spelled out, legal forms at
    either end and office words at the end dropped, "the"/"and"/"of" left out."""
    return list(_tokens(name or ""))


@lru_cache(maxsize=200_000)  # systems repeat names: a run reads each many times
def _tokens(name: str) -> tuple[str, ...]:
    text = fold(name).replace("&", " and ").replace("+", " and ").replace("'", "")
    text = text.replace("head office", "hq")
    text = re.sub(r"(?<=[a-z])\.(?=[a-z])", "", text)  # "s.a.r.l." is "sarl", "j.p." "jp"
    words = [CANONICAL.get(w, w) for w in re.findall(r"[a-z0-9?]+", text)]
    while True:  # "GmbH (HQ)" and "HQ Ltd" alike
        before = len(words)
        while len(words) > 1 and words[-1] in BRANCH_WORDS:
            words.pop()
        words = _strip_forms(words)
        if len(words) == before:
            break
    return tuple([w for w in words if w not in STOPWORDS] or words)


def _strip_forms(words: list[str]) -> list[str]:
    forms = legal_forms()
    longest = _longest_form()
    changed = True
    while changed and len(words) > 1:
        changed = False
        for size in range(min(longest, len(words) - 1), 0, -1):
            if tuple(words[-size:]) in forms:
                words, changed = words[:-size], True
                break
            if tuple(words[:size]) in forms:
                words, changed = words[size:], True
                break
    return words


@lru_cache(maxsize=1)
def _longest_form() -> int:
    return max(len(form) for form in legal_forms())


@lru_cache(maxsize=1)
def legal_forms() -> frozenset[tuple[str, ...]]:
    """cleanco's legal forms of every country, as word sequences read like names are."""
    forms = set()
    for terms in terms_by_type.values():
        for term in terms:
            text = re.sub(r"(?<=[a-z])\.(?=[a-z])", "", fold(term).replace("&", " and "))
            words = tuple(w for w in re.findall(r"[a-z0-9]+", text) if w not in STOPWORDS)
            if words:
                forms.add(words)
    return frozenset(forms - NOT_LEGAL_FORMS)


def name_key(name: str) -> str:
    """The words of a name in sorted order: 'Müller & Söhne GmbH (HQ)' and 'SOHNE MULLER'
    are both 'muller sohne'."""
    return " ".join(sorted(tokens(name)))


def damaged_key(name: str) -> str:
    """The key as an old system's export spoiled it: each non-ASCII letter a `?`."""
    return name_key("".join(c if c.isascii() else "?" for c in name or ""))


def names_of(name: str) -> list[str]:
    """Every name a legacy customer goes by: the name without a billing suffix, and each
    side of a trading name ("X t/a Y" is X and Y)."""
    base = BILLING.sub("", name or "")
    base = re.sub(r"\s*[-–,]\s*ap\.?\s*$", "", base, flags=re.IGNORECASE)  # "- AP"
    base = base.strip(" -,(")
    parts = [p.strip(" -,()") for p in TRADING.split(base)]
    found = [p for p in parts if p and tokens(p)]
    return found or [name or ""]


def initials_variants(words: list[str]) -> set[str]:
    """Keys of a name with a run of two or more words written as their initials:
    'university california san francisco medical centre' has 'centre medical ucsf'."""
    variants = set()
    for start in range(len(words)):
        for end in range(start + 2, len(words) + 1):
            initials = "".join(w[0] for w in words[start:end] if w)
            variants.add(" ".join(sorted([*words[:start], initials, *words[end:]])))
    return variants


# --- Comparing two names ------------------------------------------------------------------------

SAME, TYPO, DISTINGUISHED, DIFFERENT = "same", "typo", "distinguished", "different"


@dataclass(frozen=True)
class NameComparison:
    """How two names compare: `level` and the words that decided it."""

    level: str
    detail: str = ""


def is_plural_pair(a: str, b: str) -> bool:
    short, long = sorted((a, b), key=len)
    return long in {short + "s", short + "es"} or (
        short.endswith("y") and long == short[:-1] + "ies"
    )


def _typo_pair(a: str, b: str) -> bool:
    """One slip of the keyboard in a long word: not a number, a short token, a plural."""
    if any(c.isdigit() for c in a + b) or max(len(a), len(b)) < 5 or min(len(a), len(b)) < 4:
        return False
    if is_plural_pair(a, b):
        return False
    return OSA.distance(a, b) <= 1


def compare_words(theirs: list[str], ours: list[str]) -> NameComparison:
    """SAME: the same words; TYPO: the same but one slip in one long word; DISTINGUISHED:
    a word one side has and the other has not, a number, a short token or a plural that
    differs (evidence against); DIFFERENT: more than that."""
    left, right = list(theirs), list(ours)
    for word in list(left):
        if word in right:
            left.remove(word)
            right.remove(word)
    if not left and not right:
        return NameComparison(SAME)
    left, right = _wildcards(left, right)
    if not left and not right:
        return NameComparison(SAME)
    if len(left) == 1 and len(right) == 1 and _typo_pair(left[0], right[0]):
        return NameComparison(TYPO, f"{left[0]}/{right[0]}")
    if len(left) + len(right) <= 2:
        return NameComparison(DISTINGUISHED, "/".join([*left, *right]) or "")
    return NameComparison(DIFFERENT)


def _wildcards(left: list[str], right: list[str]) -> tuple[list[str], list[str]]:
    """Pair words where a `?` of a damaged export stands for the letters (anyascii may
    write one letter as two: 'ß' is 'ss')."""
    for word in [w for w in left if "?" in w]:
        pattern = re.compile("^" + re.escape(word).replace(r"\?", "[a-z]{1,2}") + "$")
        found = next((w for w in right if pattern.match(w)), None)
        if found:
            left.remove(word)
            right.remove(found)
    return left, right


# --- Places, postcodes, phone numbers, our customer numbers ------------------------------------

# Exonyms and other names of one city. An organisation may carry more in its city field,
# separated by "/" or ";" ("Munich / München").
CITY_NAMES = [
    "munich munchen muenchen", "gothenburg goteborg goeteborg", "cologne koln koeln",
    "nuremberg nurnberg nuernberg", "dusseldorf duesseldorf", "zurich zuerich",
    "vienna wien", "prague praha", "warsaw warszawa", "krakow cracow krakau",
    "lodz", "wroclaw breslau", "gdansk danzig", "poznan posen",
    "copenhagen kobenhavn koebenhavn", "lisbon lisboa", "rome roma", "milan milano",
    "florence firenze", "naples napoli", "venice venezia", "turin torino", "genoa genova",
    "geneva geneve genf", "brussels bruxelles brussel", "antwerp antwerpen anvers",
    "the_hague den_haag s_gravenhage", "athens athina", "moscow moskva", "kyiv kiev",
    "bucharest bucuresti", "belgrade beograd", "seville sevilla", "zaragoza saragossa",
    "basel basle bale", "lucerne luzern", "bern berne", "hanover hannover",
    "brunswick braunschweig", "aachen aix_la_chapelle", "strasbourg strassburg",
    "mexico_city ciudad_de_mexico", "new_york new_york_city nyc", "beijing peking",
    "mumbai bombay", "kolkata calcutta", "chennai madras", "ho_chi_minh_city saigon",
    "montreal", "quebec quebec_city", "helsinki helsingfors", "turku abo",
    "tallinn reval", "riga", "vilnius wilno", "bratislava pressburg", "ljubljana laibach",
    "saint_petersburg st_petersburg", "frankfurt frankfurt_am_main",
    "derry londonderry", "dun_laoghaire kingstown", "cardiff caerdydd", "swansea abertawe",
]  # fmt: skip
_CITY = {
    alias.replace("_", " "): group.split()[0].replace("_", " ")
    for group in CITY_NAMES
    for alias in group.split()
}
_CITY_WORDS = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount", "pt": "port"}


def city_keys(value: str) -> frozenset[str]:
    """Every name a city field gives, in one spelling each ('St. Louis' and 'Saint
    Louis', 'München' and 'Munich' alike)."""
    keys = set()
    for part in re.split(r"[/;|]", value or ""):
        words = [_CITY_WORDS.get(w, w) for w in re.findall(r"[a-z0-9]+", fold(part))]
        text = " ".join(words)
        if text:
            keys.add(_CITY.get(text, text))
    return frozenset(keys)


def postcode_key(value: str) -> str:
    """'SW1A 1AA' = 'sw1a1aa'; a ZIP+4 is its ZIP ('94107-1234' = '94107'); a country
    prefix goes ('D-80331' = '80331')."""
    text = re.sub(r"[^A-Z0-9-]", "", fold(value).upper())
    text = re.sub(r"^[A-Z]{1,2}-(?=\d)", "", text)
    zip_plus_four = re.fullmatch(r"(\d{5})-?\d{4}", text)
    if zip_plus_four:
        return zip_plus_four.group(1)
    return text.replace("-", "")


def phone_key(value: str) -> str:
    """The last nine digits: '+44 (0)113 496 0000' and '0113 496 0000' are one number."""
    digits = re.sub(r"\D", "", value or "")
    return digits[-9:] if len(digits) >= 7 else ""


_STREET_WORDS = {
    "st": "street", "str": "strasse", "rd": "road", "ave": "avenue", "av": "avenue",
    "blvd": "boulevard", "ln": "lane", "dr": "drive", "ct": "court", "pl": "place",
    "sq": "square", "hwy": "highway", "pkwy": "parkway",
}  # fmt: skip


def street_key(value: str) -> str:
    words = re.findall(r"[a-z0-9]+", fold(value).replace("strasse", " strasse"))
    return " ".join(sorted(_STREET_WORDS.get(w, w) for w in words))


def number_forms(value: str) -> tuple[str, int | None]:
    """Our customer number as compared: all of it without case or punctuation, and its
    digits as a number ('C-010007', 'c10007' and '10007' are 10007)."""
    text = re.sub(r"[^A-Z0-9]", "", fold(value).upper())
    digits = re.sub(r"\D", "", text)
    return text, int(digits) if digits else None


def number_letters(value: str) -> str:
    return re.sub(r"[^A-Z]", "", fold(value).upper())
