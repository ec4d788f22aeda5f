"""Recognising the same person across referrals: name normalisation, blocking keys, comparison.

Pure Python (no database, no web). The database layer stores `blocking_keys(person)` in an
indexed column, fetches the candidates that share at least one key with a new referral, and
calls `compare()` on each. The guarantee that makes this safe: whenever `compare(a, b)` says
"high" or "medium", `blocking_keys(a) & blocking_keys(b)` is non-empty, so no match that
`compare` would report can be missed by the index.

How names are read
------------------
A name is "Firstname [Middle ...] Surname" as typed; the surname-first order ("Smith John")
is read too. Each token is normalised (case, diacritics, punctuation, O'Brien == O Brien),
then mapped to a canonical spelling (Mohammed -> muhammad, Catherine -> katherine, Mc -> Mac),
and given a phonetic *key code*: the metaphone of the root of its nickname cluster, so
Bob, Rob, Robbie and Robert share a code. Two tokens agree when they are identical, spelling
variants, short forms of one another, or sound alike (same code and close spelling). Weaker
agreement (a likely typo, an initial, a missing given name, the given name used as a middle
name) only counts together with a date of birth or postcode.

Evidence
--------
Names decide whether two records can be the same person; the date of birth confirms or
vetoes; a shared postcode only supports (people move: a different postcode never counts
against). See `_level` for the exact rules.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import jellyfish
from rapidfuzz.distance import JaroWinkler

__all__ = [
    "KEYS_VERSION",
    "Match",
    "PersonFacts",
    "blocking_keys",
    "compare",
    "normalise_name",
    "normalise_postcode",
]

# Bump whenever blocking_keys() could return different keys for the same person (a change of
# tables, phonetic rules, or a jellyfish release that changes metaphone): stored keys must then
# be recomputed. tests/test_names.py pins a few keys so that such a change is noticed.
KEYS_VERSION = 1


@dataclass(frozen=True)
class PersonFacts:
    names: tuple[str, ...]  # first = main name, the rest aliases; "Firstname [Middle] Surname" as typed
    date_of_birth: date | None = None
    postcode: str | None = None


@dataclass(frozen=True)
class Match:
    score: float  # 0..1
    level: str  # "high" (link automatically) | "medium" (offer to coordinator) | "none"
    reasons: tuple[str, ...]  # short, human-readable, no names or personal data


HIGH, MEDIUM, NONE = "high", "medium", "none"

# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------

# Letters that NFKD does not decompose into a base letter plus marks.
_SPECIAL_LETTERS = str.maketrans(
    {
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "ł": "l",
        "ŀ": "l",
        "ħ": "h",
        "ı": "i",
        "ŧ": "t",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
        "ß": "ss",
        "ĸ": "k",
        "ŋ": "n",
        "ſ": "s",
    }
)
# Apostrophes and similar marks join the parts of a name: O'Brien -> obrien, D'Arcy -> darcy.
_JOINERS = frozenset("'’‘ʼ`´′ʹ")

# Particles that belong to the following word: "Mc" always ("Mc Donald"); "O" and "Mac"
# unless they open a two-word name (someone may be called "Mac Smith").
_ALWAYS_JOIN = frozenset({"mc"})
_JOIN_UNLESS_OPENING_PAIR = frozenset({"o", "mac"})
# Particles joined to the following word only inside a name (never the first or last word),
# so "Ludwig van Beethoven" == "Ludwig Van-Beethoven" == "Ludwig Vanbeethoven", while a
# given name such as "Al" or "Ben" at the start is left alone.
_INNER_JOIN = frozenset(
    {
        "van",
        "von",
        "der",
        "den",
        "de",
        "da",
        "di",
        "du",
        "del",
        "della",
        "dos",
        "das",
        "le",
        "la",
        "st",
        "al",
        "el",
        "ter",
        "ten",
        "bin",
        "ibn",
        "ben",
        "abu",
    }
)


def _clean(name: str) -> str:
    text = unicodedata.normalize("NFKD", name.casefold())
    out: list[str] = []
    for ch in text:
        if ch in _JOINERS:
            continue
        if ch.isalpha():
            if unicodedata.category(ch).startswith("M"):
                continue  # combining marks (diacritics)
            out.append(ch)
        elif unicodedata.category(ch).startswith("M"):
            continue
        else:
            out.append(" ")  # hyphens, dots, commas, digits, spaces...
    tokens = "".join(out).translate(_SPECIAL_LETTERS).split()
    # Join particles, right to left so "de la Cruz" -> "delacruz".
    changed = True
    while changed:  # joining shortens the name, which can enable an opening "O"/"Mac" join
        changed = False
        i = len(tokens) - 2
        while i >= 0:
            tok = tokens[i]
            if (
                tok in _ALWAYS_JOIN
                or (tok in _INNER_JOIN and 0 < i)
                or (tok in _JOIN_UNLESS_OPENING_PAIR and (0 < i or len(tokens) > 2))
            ):
                tokens[i : i + 2] = [tok + tokens[i + 1]]
                changed = True
            i -= 1
    return " ".join(tokens)


@lru_cache(maxsize=65536)
def normalise_name(name: str) -> str:
    """Casefold, strip diacritics, drop apostrophes, turn other punctuation (hyphens, dots,
    commas) into spaces, join surname particles (O'Brien == OBrien == O Brien), collapse spaces.

    >>> normalise_name("  José  O'Brien-Smith ")
    'jose obrien smith'
    """
    # A few characters only settle after a second pass (e.g. a casefold that produces a
    # combining mark); iterate to a fixed point so the function is idempotent.
    current = name
    for _ in range(10):
        cleaned = _clean(current)
        if cleaned == current:
            break
        current = cleaned
    return current


_POSTCODE_RE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}|GIR0AA")


def normalise_postcode(postcode: str | None) -> str | None:
    """UK postcode, upper case without spaces ("sw1a 1aa" -> "SW1A1AA").

    None, blank, and anything that is not a full UK postcode ("NFA", "unknown", an outward
    code only) -> None, so that placeholders never count as a shared address.
    """
    if postcode is None:
        return None
    cleaned = "".join(postcode.split()).upper()
    if not cleaned or not _POSTCODE_RE.fullmatch(cleaned):
        return None
    return cleaned


# --------------------------------------------------------------------------------------------
# Name knowledge: spelling variants and short forms
# --------------------------------------------------------------------------------------------

# canonical spelling -> other spellings of the same name (given names and surnames).
_VARIANTS: dict[str, tuple[str, ...]] = {
    "muhammad": (
        "mohammed",
        "mohammad",
        "mohamed",
        "muhammed",
        "mohamad",
        "muhamed",
        "muhamad",
        "mohammod",
        "mahomed",
        "mohamud",
        "mohummed",
        "mohd",
    ),
    "ahmed": ("ahmad", "ahmet"),
    "katherine": (
        "catherine",
        "kathryn",
        "katharine",
        "kathrine",
        "catharine",
        "cathryn",
        "katheryn",
        "catherin",
        "katherin",
    ),
    "stephen": ("steven", "stephan", "stevan"),
    "sean": ("shaun", "shawn", "shaune", "shawne"),
    "aisha": ("ayesha", "aysha", "aishah", "ayisha", "aesha", "ayshah"),
    "john": ("jon", "jhon"),
    "ann": ("anne",),
    "sarah": ("sara",),
    "mark": ("marc",),
    "philip": ("phillip", "phillipe", "philipp"),
    "geoffrey": ("jeffrey", "jeffery", "geoffery"),
    "alistair": ("alasdair", "alastair", "alister"),
    "rebecca": ("rebekah", "rebekka"),
    "claire": ("clare",),
    "lindsay": ("lindsey", "linsey", "lyndsey"),
    "lee": ("leigh",),
    "jayden": ("jaden", "jaiden", "jaydon"),
    "yusuf": ("yousef", "yusef", "youssef", "yousuf", "yosef"),
    "ibrahim": ("ebrahim", "ibraheem"),
    "mustafa": ("mostafa", "mustapha"),
    "fatima": ("fatimah", "fatma"),
    "maryam": ("mariam", "miriam", "maryum"),
    "nicola": ("nichola",),
    "theresa": ("teresa",),
    "isabel": ("isobel", "isabelle", "isabella"),
    "natalie": ("nathalie",),
    "megan": ("meghan", "meagan"),
    "caitlin": ("kaitlyn", "katelyn", "caitlyn", "kaitlin"),
    "gary": ("garry",),
    "neil": ("neal",),
    "brian": ("bryan",),
    "alan": ("allan", "allen"),
    "carl": ("karl",),
    "eric": ("erik",),
    "frederick": ("frederic", "fredrick"),
    "graham": ("graeme",),
    "ian": ("iain",),
    "michelle": ("michele",),
    "nicholas": ("nicolas",),
    "rachel": ("rachael",),
    "christine": ("christina", "kristina", "kristine"),
    "christopher": ("kristopher", "christofer"),
    "zoe": ("zoey",),
    "abdul": ("abdool", "abdal"),
    "hussain": ("husain", "hussein", "husein", "hossain", "hosein"),
    "smith": ("smyth", "smithe"),
    "thompson": ("thomson",),
    "davies": ("davis",),
}

# canonical formal name -> its short forms. A short form may belong to several formal names.
_NICKNAMES: dict[str, tuple[str, ...]] = {
    "robert": ("bob", "bobby", "rob", "robbie", "robby", "bert"),
    "william": ("bill", "billy", "will", "willie", "willy", "liam"),
    "elizabeth": ("liz", "lizzie", "lizzy", "beth", "betty", "bess", "eliza", "libby", "elsie"),
    "margaret": ("maggie", "meg", "peggy", "maggy", "madge", "mags"),
    "katherine": ("kate", "katie", "katy", "kathy", "kath", "cath", "cathy", "kat", "kitty"),
    "michael": ("mike", "mick", "mickey", "micky", "mikey"),
    "anthony": ("tony", "ant"),
    "thomas": ("tom", "tommy"),
    "james": ("jim", "jimmy", "jamie"),
    "richard": ("rich", "richie", "rick", "ricky", "dick"),
    "edward": ("ed", "eddie", "ted", "ned"),
    "charles": ("charlie", "chas", "chuck"),
    "david": ("dave", "davey"),
    "daniel": ("dan", "danny"),
    "joseph": ("joe", "joey"),
    "jonathan": ("jon", "jonny", "jonty"),
    "john": ("jack", "johnny", "jonny"),
    "christopher": ("chris", "kit"),
    "christine": ("chris", "chrissy"),
    "alexander": ("alex", "sandy", "xander"),
    "alexandra": ("alex", "lexi"),
    "samuel": ("sam", "sammy"),
    "samantha": ("sam", "sammie"),
    "patrick": ("pat", "paddy"),
    "patricia": ("pat", "trish", "tricia", "patsy"),
    "jennifer": ("jen", "jenny"),
    "victoria": ("vicky", "vicki", "tori"),
    "rebecca": ("becky", "becca"),
    "deborah": ("debbie", "deb", "debra"),
    "susan": ("sue", "susie"),
    "jacqueline": ("jackie",),
    "stephen": ("steve", "stevie"),
    "matthew": ("matt",),
    "andrew": ("andy", "drew"),
    "benjamin": ("ben", "benny"),
    "nicholas": ("nick", "nicky"),
    "timothy": ("tim",),
    "peter": ("pete",),
    "kenneth": ("ken", "kenny"),
    "ronald": ("ron", "ronnie"),
    "donald": ("don",),
    "gerald": ("gerry",),
    "terence": ("terry",),
    "lawrence": ("larry",),
    "leonard": ("len", "lenny"),
    "frederick": ("fred", "freddie"),
    "henry": ("harry", "hal"),
    "amanda": ("mandy",),
    "josephine": ("jo", "josie"),
    "joanne": ("jo",),
    "ann": ("annie",),
    "abdullah": ("abdul",),
    "gillian": ("gill", "jill"),
    "pamela": ("pam",),
    "barbara": ("barb", "babs"),
    "dorothy": ("dot", "dotty"),
    "philip": ("phil",),
    "gregory": ("greg",),
    "douglas": ("doug",),
    "raymond": ("ray",),
    "stuart": ("stu",),
    "nathan": ("nate",),
    "zachary": ("zach", "zack"),
}


def _variant_map() -> dict[str, str]:
    mapping: dict[str, str] = {}
    for canon, others in _VARIANTS.items():
        for spelling in others:
            mapping[spelling] = canon
    return mapping


_VARIANT_OF = _variant_map()


def _canon(token: str) -> str:
    if token.startswith("mc") and len(token) > 3:
        token = "mac" + token[2:]
    return _VARIANT_OF.get(token, token)


def _nickname_tables() -> tuple[dict[str, frozenset[str]], dict[str, str]]:
    """short form -> the formal names it stands for; token -> root of its nickname cluster."""
    formals: dict[str, set[str]] = {}
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for formal, shorts in _NICKNAMES.items():
        formal = _canon(formal)
        for short in shorts:
            short = _canon(normalise_name(short).replace(" ", ""))
            formals.setdefault(short, set()).add(formal)
            a, b = find(short), find(formal)
            if a != b:
                parent[max(a, b)] = min(a, b)
    # Name each cluster after its (alphabetically first) formal name, so that its code is a
    # real name's code: Stefan then sounds like Stephen, not like "steve".
    formal_names = {_canon(f) for f in _NICKNAMES}
    label: dict[str, str] = {}
    for token in parent:
        if token in formal_names:
            r = find(token)
            label[r] = min(label.get(r, token), token)
    root = {token: label.get(find(token), find(token)) for token in parent}
    return {k: frozenset(v) for k, v in formals.items()}, root


_FORMALS_OF, _CLUSTER_ROOT = _nickname_tables()


# Spellings that metaphone keeps apart but that are written interchangeably in names:
# Khan/Kahn, Thomas/Tomas (metaphone reads every "th" as in "thin"), Thompson/Thomson.
_PRE_PHONETIC = (("kh", "k"), ("th", "t"), ("mps", "ms"))


_MAX_CODE = 12  # keeps every key short (<= 27 characters); truncation only merges blocks


def _phonetic(token: str) -> str:
    if not token.isascii():  # non-Latin scripts: an opaque digest, so no name is stored in clear
        return "U" + hashlib.blake2b(token.encode(), digest_size=5).hexdigest()
    for old, new in _PRE_PHONETIC:
        token = token.replace(old, new)
    return (jellyfish.metaphone(token) or token)[:_MAX_CODE]  # or token: metaphone drops "w", "y"


class _Token:
    """One normalised word of a name. Interned per text (see `_token`); identity-hashed."""

    __slots__ = ("text", "canon", "code", "in_cluster", "formals")

    def __init__(self, text: str) -> None:
        canon = _canon(text)
        root = _CLUSTER_ROOT.get(canon)
        self.text = text  # normalised
        self.canon = canon  # canonical spelling
        self.code = _phonetic(root or canon)  # blocking code: phonetic code of the cluster root
        self.in_cluster = root is not None  # part of a nickname cluster
        self.formals = _FORMALS_OF.get(canon, frozenset())  # formal names this is a short form of

    def __repr__(self) -> str:
        return f"_Token({self.text!r})"


@lru_cache(maxsize=65536)
def _token(text: str) -> _Token:
    return _Token(text)


# A reading of a name: (given name, middle names, surname, read surname-first?).
# Given name or surname is None for a one-word name.
_Reading = tuple["_Token | None", tuple[_Token, ...], "_Token | None", bool]

_TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "rev", "revd", "sir", "dame", "master"})
_SUFFIXES = frozenset({"jr", "jnr", "junior", "sr", "snr", "senior", "ii", "iii", "iv"})


class _Name:
    """A parsed name: its tokens, both readings, and what blocking and exact matching need."""

    __slots__ = ("tokens", "readings", "texts", "exact_forms", "role_codes", "pair_keys")

    def __init__(self, tokens: tuple[_Token, ...]) -> None:
        self.tokens = tokens
        n = len(tokens)
        self.texts = tuple(t.text for t in tokens)
        # The same name typed surname-first ("Smith John Paul") counts as exact too.
        self.exact_forms = frozenset({self.texts, self.texts[1:] + self.texts[:1], self.texts[-1:] + self.texts[:-1]})
        if n == 1:
            t = tokens[0]
            self.readings: tuple[_Reading, ...] = ((t, (), None, False), (None, (), t, True))
            self.role_codes = frozenset({t.code})
            self.pair_keys = frozenset({"n:" + t.code})
        else:
            forward = (tokens[0], tokens[1:-1], tokens[-1], False)  # Firstname Middle Surname
            backward = (tokens[1], tokens[2:], tokens[0], True)  # Surname Firstname Middle
            self.readings = (forward, backward)
            # Codes of every token that is a given name or surname in some reading.
            self.role_codes = frozenset({tokens[0].code, tokens[1].code, tokens[-1].code})
            # One unordered {given, surname} code pair per reading.
            self.pair_keys = frozenset("n:" + "|".join(sorted({g.code, s.code})) for g, _m, s, _b in self.readings)


@lru_cache(maxsize=65536)
def _parse(name: str) -> _Name | None:
    """A name without titles ("Mrs") and generational suffixes ("Jnr"); None if no words."""
    words = normalise_name(name).split()
    while len(words) > 2 and words[0] in _TITLES:
        words.pop(0)
    while len(words) > 2 and words[-1] in _SUFFIXES:
        words.pop()
    return _Name(tuple(_token(w) for w in words)) if words else None


# --------------------------------------------------------------------------------------------
# Token comparison
# --------------------------------------------------------------------------------------------

# Categories of agreement between two tokens. The first four imply equal blocking codes.
IDENTICAL, VARIANT, SHORT, SOUNDS = "identical", "variant", "short form", "sounds alike"
TYPO, INITIAL, MISSING, MIDDLE, DIFFERENT = "typo", "initial", "missing", "middle", "different"
_STRONG = frozenset({IDENTICAL, VARIANT, SHORT, SOUNDS})
_MIDDLE_OK = _STRONG | {INITIAL}

_SOUNDS_MIN_SIMILARITY = 0.80  # same phonetic code AND at least this Jaro-Winkler similarity
_TYPO_MIN_SIMILARITY = 0.88  # different code but spelling this close: a probable typo

_AGREE_CACHE: dict[tuple[_Token, _Token], str] = {}
_AGREE_CACHE_MAX = 200_000


def _agree(a: _Token, b: _Token) -> str:
    """How two tokens agree; symmetric in a and b."""
    if a is b:
        return IDENTICAL
    cached = _AGREE_CACHE.get((a, b))
    if cached is None:
        cached = _agree_uncached(a, b)
        if len(_AGREE_CACHE) >= _AGREE_CACHE_MAX:
            _AGREE_CACHE.clear()
        _AGREE_CACHE[(a, b)] = cached
    return cached


def _agree_uncached(a: _Token, b: _Token) -> str:
    if a.text == b.text:
        return IDENTICAL
    if len(a.text) == 1 or len(b.text) == 1:  # an initial agrees with nothing more than a letter
        return INITIAL if a.text[0] == b.text[0] else DIFFERENT
    if a.canon == b.canon:
        return VARIANT
    if b.canon in a.formals or a.canon in b.formals or (a.formals & b.formals):
        return SHORT
    similarity = JaroWinkler.normalized_similarity(a.text, b.text)
    # Two different names of one nickname cluster (Christopher / Christine) share a code
    # but are not the same name: only a short-form relation (above) links them.
    if a.code == b.code and not (a.in_cluster and b.in_cluster) and similarity >= _SOUNDS_MIN_SIMILARITY:
        return SOUNDS
    if similarity >= _TYPO_MIN_SIMILARITY and min(len(a.text), len(b.text)) >= 3:
        return TYPO
    return DIFFERENT


# --------------------------------------------------------------------------------------------
# Date of birth and evidence
# --------------------------------------------------------------------------------------------

DOB_SAME, DOB_SWAP, DOB_NEAR, DOB_PLACEHOLDER, DOB_UNKNOWN, DOB_CONFLICT = (
    "same",
    "swap",
    "near",
    "placeholder",
    "unknown",
    "conflict",
)


def _dob_relation(a: date | None, b: date | None) -> str:
    if a is None or b is None:
        return DOB_UNKNOWN
    if a == b:
        return DOB_SAME
    if a.year != b.year:
        return DOB_CONFLICT
    if a.day == b.month and a.month == b.day:
        return DOB_SWAP
    if a.day == b.day or a.month == b.month:
        return DOB_NEAR  # same year and one of day/month: a one-field typo
    if (a.month, a.day) == (1, 1) or (b.month, b.day) == (1, 1):
        return DOB_PLACEHOLDER  # 1 January is the usual stand-in for "year known, date not"
    return DOB_CONFLICT


def _dob_key(d: date) -> str:
    """The same for a date and its day/month swap."""
    lo, hi = sorted((d.month, d.day))
    return f"{d.year:04d}{lo:02d}{hi:02d}"


_DOB_REASON = {
    DOB_SAME: "same date of birth",
    DOB_SWAP: "date of birth day/month swapped",
    DOB_NEAR: "date of birth: same year, day or month differs",
    DOB_PLACEHOLDER: "date of birth: same year, one may be a first-of-January placeholder",
    DOB_UNKNOWN: "date of birth missing on one or both sides",
    DOB_CONFLICT: "date of birth differs",
}
_DOB_WEIGHT = {
    DOB_SAME: 1.0,
    DOB_SWAP: 0.75,
    DOB_NEAR: 0.5,
    DOB_PLACEHOLDER: 0.45,
    DOB_UNKNOWN: 0.3,
    DOB_CONFLICT: 0.0,
}

# Name classes, strongest first.
N_EXACT, N_STRONG, N_PARTIAL, N_GIVEN_ONLY, N_NONE = "exact", "strong", "partial", "given only", "none"
_NAME_WEIGHT = {N_EXACT: 1.0, N_STRONG: 0.85, N_PARTIAL: 0.6, N_GIVEN_ONLY: 0.45, N_NONE: 0.0}
_RANK = {HIGH: 2, MEDIUM: 1, NONE: 0}

_SURNAME_REASON = {
    IDENTICAL: "surname identical",
    VARIANT: "surname spelling variant",
    SOUNDS: "surname sounds alike",
    SHORT: "surname sounds alike",
    TYPO: "surname spelt similarly (possible typo)",
    INITIAL: "surname initial matches",
    MISSING: "surname missing on one side",
    DIFFERENT: "surname differs (possible change of name)",
}
_GIVEN_REASON = {
    IDENTICAL: "given name identical",
    VARIANT: "given name spelling variant",
    SHORT: "given name is a known short form",
    SOUNDS: "given name sounds alike",
    TYPO: "given name spelt similarly (possible typo)",
    INITIAL: "given name initial matches",
    MISSING: "given name missing on one side",
    MIDDLE: "given name matches a middle name",
    DIFFERENT: "given names differ",
}


def _level(name_class: str, dob: str, same_postcode: bool, middle_conflict: bool) -> str:
    """The decision table. Every path to "medium"/"high" is covered by a blocking key:
    exact/strong names by the name-pair key, partial / given-only names by the
    date-of-birth key (same or swapped dob) or the postcode key (same postcode)."""
    if name_class == N_NONE:
        return NONE
    if dob == DOB_CONFLICT:  # veto
        return MEDIUM if name_class == N_EXACT else NONE
    if dob == DOB_SAME:
        if name_class in (N_EXACT, N_STRONG):
            level = HIGH
        else:  # partial or given only (e.g. surname changed)
            level = MEDIUM
    elif dob == DOB_SWAP:
        if name_class == N_EXACT or (name_class == N_STRONG and same_postcode):
            level = HIGH
        elif name_class in (N_STRONG, N_PARTIAL):
            level = MEDIUM
        else:
            level = NONE
    else:  # near, placeholder, unknown: the names (and postcode) decide
        if name_class == N_EXACT:
            level = HIGH if same_postcode else MEDIUM
        elif name_class == N_STRONG:
            level = MEDIUM
        elif name_class == N_PARTIAL and same_postcode:
            level = MEDIUM
        else:
            level = NONE
    if middle_conflict and level == HIGH:
        level = MEDIUM
    return level


def _middle_relation(ma: tuple[_Token, ...], mb: tuple[_Token, ...]) -> str:
    if not ma and not mb:
        return ""
    if not ma or not mb:
        return "one side"
    for x in ma:
        for y in mb:
            if _agree(x, y) in _MIDDLE_OK:
                return "match"
    return "conflict"


def _given_agreement(ra: _Reading, rb: _Reading) -> str:
    ga, gb = ra[0], rb[0]
    if ga is None or gb is None:
        return MISSING
    cat = _agree(ga, gb)
    if cat != DIFFERENT:
        return cat
    # Known by a middle name: "John Paul Smith" vs "Paul Smith".
    for m in rb[1]:
        if _agree(ga, m) in _STRONG:
            return MIDDLE
    for m in ra[1]:
        if _agree(gb, m) in _STRONG:
            return MIDDLE
    return DIFFERENT


def _name_class(s_cat: str, g_cat: str) -> str:
    if s_cat in _STRONG:
        if g_cat in _STRONG:
            return N_STRONG
        if g_cat in (TYPO, INITIAL, MISSING, MIDDLE):
            return N_PARTIAL
        return N_NONE  # surname alone (siblings, twins) is not enough
    if g_cat in _STRONG:
        if s_cat == TYPO:
            return N_PARTIAL
        if s_cat in (DIFFERENT, MISSING):
            return N_GIVEN_ONLY
    return N_NONE


_BANDS = {HIGH: (0.8, 1.0), MEDIUM: (0.5, 0.79), NONE: (0.0, 0.49)}
_LEVEL_OF_RANK = {2: HIGH, 1: MEDIUM, 0: NONE}


def compare(a: PersonFacts, b: PersonFacts) -> Match:
    """Compare two people: any name of `a` against any name of `b`, both name orders.

    Symmetric: compare(a, b) == compare(b, a).
    """
    dob = _dob_relation(a.date_of_birth, b.date_of_birth)
    pa, pb = normalise_postcode(a.postcode), normalise_postcode(b.postcode)
    same_postcode = pa is not None and pa == pb
    evidence = 0.35 * _DOB_WEIGHT[dob] + 0.10 * same_postcode
    names_a = [x for x in map(_parse, a.names) if x is not None]
    names_b = [x for x in map(_parse, b.names) if x is not None]

    best: tuple | None = None
    for ia, na in enumerate(names_a):
        for ib, nb in enumerate(names_b):
            exact = nb.texts in na.exact_forms
            single = len(na.tokens) == 1 and len(nb.tokens) == 1
            alias = ia > 0 or ib > 0
            for ra in na.readings:
                for rb in nb.readings:
                    if single:
                        if ra[3] != rb[3]:
                            continue
                        s_cat, g_cat = _agree(na.tokens[0], nb.tokens[0]), MISSING
                        name_class = N_EXACT if exact else (N_STRONG if s_cat in _STRONG else N_NONE)
                        swapped = False
                    else:
                        sa, sb = ra[2], rb[2]
                        s_cat = MISSING if sa is None or sb is None else _agree(sa, sb)
                        g_cat = _given_agreement(ra, rb)
                        name_class = _name_class(s_cat, g_cat)
                        if name_class == N_GIVEN_ONLY and (ra[3] or rb[3]):
                            # Read surname-first, the "given name" may be the surname: a
                            # shared surname alone is not enough.
                            name_class = N_NONE
                        elif exact and name_class == N_STRONG and s_cat == g_cat == IDENTICAL:
                            name_class = N_EXACT
                        swapped = ra[3] != rb[3] and len(na.tokens) > 1 and len(nb.tokens) > 1
                    middle = _middle_relation(ra[1], rb[1])
                    level = _level(name_class, dob, same_postcode, middle == "conflict")
                    raw = 0.55 * _NAME_WEIGHT[name_class] + evidence - (0.05 if middle == "conflict" else 0.0)
                    # Ties go to the plain reading (both forward), then to a fixed order of the
                    # categories, so that the result does not depend on argument order.
                    candidate = (
                        _RANK[level],
                        raw,
                        -ra[3] - rb[3],
                        name_class,
                        s_cat,
                        g_cat,
                        middle,
                        not alias,
                        not swapped,
                    )
                    if best is None or candidate > best:
                        best = candidate
    if best is None:
        return Match(score=0.0, level=NONE, reasons=("no usable name",))
    rank, raw, _orientation, name_class, s_cat, g_cat, middle, not_alias, not_swapped = best
    level = _LEVEL_OF_RANK[rank]
    lo, hi = _BANDS[level]
    score = round(lo + (hi - lo) * min(1.0, max(0.0, raw)), 3)
    reasons = _reasons(
        name_class,
        s_cat,
        g_cat,
        middle,
        dob,
        same_postcode,
        alias=not not_alias,
        swapped=not not_swapped,
        postcodes_known=pa is not None and pb is not None,
    )
    return Match(score=score, level=level, reasons=reasons)


def _reasons(
    name_class: str,
    s_cat: str,
    g_cat: str,
    middle: str,
    dob: str,
    same_postcode: bool,
    *,
    alias: bool,
    swapped: bool,
    postcodes_known: bool,
) -> tuple[str, ...]:
    out: list[str] = []
    if name_class == N_EXACT:
        out.append("names identical")
    else:
        out.append(_SURNAME_REASON.get(s_cat, "surname differs"))
        out.append(_GIVEN_REASON.get(g_cat, "given names differ"))
    if middle == "one side":
        out.append("middle name on one side only")
    elif middle == "conflict":
        out.append("middle names differ")
    elif middle == "match":
        out.append("middle names agree")
    if swapped:
        out.append("name order swapped")
    if alias:
        out.append("matched on an alias")
    out.append(_DOB_REASON[dob])
    if same_postcode:
        out.append("same postcode")
    elif postcodes_known:
        out.append("different postcode (not counted against)")
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Blocking keys
# --------------------------------------------------------------------------------------------


def blocking_keys(person: PersonFacts) -> set[str]:
    """Index keys; two people are compared only if they share one.

    For each name (main and aliases):
      "n:<code>|<code>"          phonetic codes of {given name, surname}, unordered, for the
                                 forward and the surname-first reading (1-2 keys)
      "d:<dob>:<code>"           date of birth with day/month sorted (so a swap gives the same
                                 key) + the code of each token that can be a given name or
                                 surname (2-3 keys; only with a dob)
      "p:<postcode>:<code>"      postcode + the same codes (2-3 keys; only with a postcode)
    Codes are metaphone codes of the canonical spelling's nickname-cluster root (no names
    in clear; non-Latin scripts get a digest). A two-word name with dob and postcode gives
    5 keys, a three-word one 8; aliases add theirs (shared codes deduplicate).
    """
    keys: set[str] = set()
    dob_key = _dob_key(person.date_of_birth) if person.date_of_birth else None
    postcode = normalise_postcode(person.postcode)
    for name in person.names:
        parsed = _parse(name)
        if parsed is None:
            continue
        keys |= parsed.pair_keys
        for code in parsed.role_codes:
            if dob_key:
                keys.add(f"d:{dob_key}:{code}")
            if postcode:
                keys.add(f"p:{postcode}:{code}")
    return keys
