"""Conference types and risk instruments: the data files in agendas/, loaded and checked at start-up.

Every key is checked here so that a wrong file stops start-up with a message naming the file
and the key (dotted paths such as `criteria.escalation.incidents` or `strands[2].key`),
instead of failing later inside a referral. agendas/README.md explains every key.
"""

from __future__ import annotations

import functools
import logging
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from marac import i18n
from marac.settings import PROJECT_DIR

logger = logging.getLogger(__name__)

AGENDAS_DIR = PROJECT_DIR / "agendas"
INSTRUMENTS_SUBDIR = "instruments"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TIME_RE = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
KEY_RE = re.compile(r"[a-z_]+")
KINDS = ("domestic_abuse", "hate_crime")
INSTRUMENT_KINDS = ("score", "level")
CRITERIA = ("visible_high_risk", "professional_judgement", "escalation", "repeat")
# What a repeat is matched on: hate crime cases may centre on a victim, a perpetrator or a location.
REPEAT_MATCH = ("victim", "perpetrator", "location")

# key → (lowest, highest) for the whole-number settings of a type
_INT_RANGES = {
    "cadence_days": (1, 92),
    "cutoff_working_days": (0, 30),
    "capacity": (1, 100),
    "minutes_per_case": (1, 60),
    "action_due_days": (1, 365),
    "retention_years": (1, 100),
    "duplicate_days": (0, 60),
}
# How the cases in each case section of an agenda are ordered, first key first (docs/domain.md#the-agenda):
# cases with children first, repeats first, highest risk first, earliest received first.
CASE_ORDER_KEYS = ("children", "repeat", "risk", "received")
# The SafeLives order, when a type says nothing: cases with children first, then adult-only cases (each by
# risk, then date received); repeats are flagged where they fall, not moved.
DEFAULT_CASE_ORDER = ("children", "risk", "received")
# Optional whole-number settings and the value a type file that leaves them out gets.
_INT_DEFAULTS = {"duplicate_days": 7}
# The Welsh beside an English label: `<key>_cy` (agendas/README.md, "Welsh"). Optional, so a file
# without it still loads; missing_welsh() lists each one left out.
WELSH = "_cy"
TYPE_KEYS = (
    "name",
    "name_cy",
    "kind",
    "instruments",
    "default_weekday",
    "default_time",
    *_INT_RANGES,
    "monitoring_only_without_consent",
    "criteria",
    "repeat",
    "strands",
    "sections",
    "confidentiality_statement",
    "confidentiality_statement_cy",
    "case_order",
    "documents",
)
# What a conference created before types had their own statement reads at its meetings.
DEFAULT_CONFIDENTIALITY = (
    "Information shared at this meeting is confidential. It is shared only to keep people at high "
    "risk safe, and must not be shared outside this meeting without the agreement of the agency that "
    "provided it. These minutes must not be forwarded."
)
MAX_STATEMENT = 3000
_CRITERION_KEYS = {
    "professional_judgement": ("requires_reason",),
    "escalation": ("incidents", "window_months"),
    "repeat": (),  # an empty table: its presence means the type accepts repeats
    # empty too: the threshold is each instrument's own (thresholds.visible_high_risk)
    "visible_high_risk": (),
}
INSTRUMENT_KEYS = {
    "score": ("name", "name_cy", "kind", "example", "answers", "answers_cy", "score_range", "questions", "thresholds"),
    "level": (
        "name",
        "name_cy",
        "kind",
        "example",
        "answers",
        "answers_cy",
        "score_range",
        "questions",
        "levels",
        "levels_cy",
        "thresholds",
    ),
}

Fail = Callable[[str, str], "ConferenceTypeError"]


class ConferenceTypeError(ValueError):
    """A conference type or instrument file is wrong; the message names the file and the key."""


def _failer(label: str) -> Fail:
    return lambda key, why: ConferenceTypeError(f"{label}: key '{key}' {why}")


def _at(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _only(fail: Fail, table: dict[str, Any], prefix: str, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        known = ", ".join(allowed) or "none: leave the table empty"
        raise fail(_at(prefix, unknown[0]), f"is not a known key (known keys: {known})")


def _text(fail: Fail, table: dict[str, Any], prefix: str, key: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise fail(_at(prefix, key), "must be a non-empty string")
    return value


def _label(fail: Fail, table: dict[str, Any], prefix: str, key: str) -> str:
    """An English label people read, and its Welsh `<key>_cy` beside it when the file gives one."""
    english = _text(fail, table, prefix, key)
    if key + WELSH in table:
        _text(fail, table, prefix, key + WELSH)
    return english


def _welsh_words(fail: Fail, table: dict[str, Any], prefix: str, key: str) -> None:
    """`answers_cy` or `levels_cy`: the Welsh of each word of the list, in the same order."""
    if key + WELSH not in table:
        return
    value = table[key + WELSH]
    if (
        not isinstance(value, list)
        or len(value) != len(table[key])
        or not all(isinstance(item, str) and item.strip() for item in value)
    ):
        raise fail(_at(prefix, key + WELSH), f"must list the Welsh of each of {key}, in the same order")


def _whole(fail: Fail, table: dict[str, Any], prefix: str, key: str, low: int, high: int) -> int:
    value = table.get(key)
    # bool is an int in Python; `true` is never a sensible count
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise fail(_at(prefix, key), f"must be a whole number from {low} to {high}")
    return value


def _flag(fail: Fail, table: dict[str, Any], prefix: str, key: str) -> bool:
    if not isinstance(table.get(key), bool):
        raise fail(_at(prefix, key), "must be true or false")
    return table[key]


def _table(fail: Fail, table: dict[str, Any], prefix: str, key: str) -> dict[str, Any]:
    if not isinstance(table.get(key), dict):
        raise fail(_at(prefix, key), "must be a table")
    return table[key]


def _words(fail: Fail, table: dict[str, Any], prefix: str, key: str) -> list[str]:
    """A non-empty list of distinct lower-case strings (answers, levels, repeat.match)."""
    value = table.get(key)
    path = _at(prefix, key)
    if not isinstance(value, list) or not value:
        raise fail(path, "must be a non-empty list of strings")
    for item in value:
        # stored answers and levels are compared after lower-casing and squeezing spaces
        if not isinstance(item, str) or not item or item != " ".join(item.lower().split()):
            raise fail(path, "must hold lower-case strings without extra spaces")
    if len(set(value)) != len(value):
        raise fail(path, "must not repeat a value")
    return value


def _keyed_tables(
    fail: Fail,
    table: dict[str, Any],
    prefix: str,
    key: str,
    fields: tuple[str, ...],
    *,
    seen: set[str] | None = None,
    empty_ok: bool = False,
) -> list[dict[str, Any]]:
    """A list of tables, each with a unique `key` (KEY_RE) and the other `fields`."""
    value = table.get(key)
    path = _at(prefix, key)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise fail(path, "must be a list of tables")
    if not value and not empty_ok:
        raise fail(path, "must not be empty")
    seen = set() if seen is None else seen
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        _only(fail, item, where, ("key", *fields))
        item_key = item.get("key")
        if not isinstance(item_key, str) or not KEY_RE.fullmatch(item_key):
            raise fail(f"{where}.key", "must be lower-case letters and underscores")
        if item_key in seen:
            raise fail(f"{where}.key", f"repeats '{item_key}': keys must be unique")
        seen.add(item_key)
    return value


# ---- risk instruments -------------------------------------------------------------------------


def _check_instrument(label: str, data: dict[str, Any]) -> dict[str, Any]:
    fail = _failer(label)
    if data.get("kind") not in INSTRUMENT_KINDS:
        raise fail("kind", f"must be one of {', '.join(INSTRUMENT_KINDS)}")
    _only(fail, data, "", INSTRUMENT_KEYS[data["kind"]])
    _label(fail, data, "", "name")
    if "yes" not in _words(fail, data, "", "answers"):
        raise fail("answers", 'must include "yes": scores and levels count the yes answers')
    _welsh_words(fail, data, "", "answers")
    if "example" in data:
        _flag(fail, data, "", "example")
    questions = _keyed_tables(fail, data, "", "questions", ("text", "text_cy", "group", "group_cy"))
    for index, question in enumerate(questions):
        _label(fail, question, f"questions[{index}]", "text")
        if "group" in question:
            _label(fail, question, f"questions[{index}]", "group")
        elif "group_cy" in question:
            raise fail(f"questions[{index}].group_cy", "needs the English group beside it")
    # The score is the count of yes answers, so its range is 0 to the number of questions;
    # the file says so to be read on its own.
    if data.get("score_range") != [0, len(questions)]:
        raise fail("score_range", f"must be [0, {len(questions)}]: a score counts the yes answers")
    thresholds = _table(fail, data, "", "thresholds")
    if data["kind"] == "score":
        _only(fail, thresholds, "thresholds", ("visible_high_risk",))
        _whole(fail, thresholds, "thresholds", "visible_high_risk", 1, len(questions))
        return data
    levels = _words(fail, data, "", "levels")
    if len(levels) < 2:
        raise fail("levels", "must list at least two levels, lowest first")
    _welsh_words(fail, data, "", "levels")
    # the lowest level needs no threshold: it is what no threshold reached gives
    _only(fail, thresholds, "thresholds", (*levels[1:], "visible_high_risk"))
    previous = 0  # each level needs more yes answers than the one below it
    for level in levels[1:]:
        previous = _whole(fail, thresholds, "thresholds", level, previous + 1, len(questions))
    if thresholds.get("visible_high_risk") not in levels:
        raise fail("thresholds.visible_high_risk", f"must be one of {', '.join(levels)}")
    return data


def load_instruments(directory: Path = AGENDAS_DIR / INSTRUMENTS_SUBDIR) -> dict[str, dict[str, Any]]:
    """Instrument files by name (file name without .toml); the name is added as `id`."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.toml")) if directory.is_dir() else []:
        label = f"{directory.name}/{path.name}"
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConferenceTypeError(f"{label}: not valid TOML ({exc})") from exc
        # `id` is what a risk result records; it is not a key of the file (the file name is)
        found[path.stem] = {**_check_instrument(label, data), "id": path.stem}
    return found


# ---- conference types -------------------------------------------------------------------------


def _check_criteria(fail: Fail, data: dict[str, Any]) -> None:
    criteria = _table(fail, data, "", "criteria")
    if not criteria:
        raise fail("criteria", f"must accept at least one of {', '.join(CRITERIA)}")
    _only(fail, criteria, "criteria", CRITERIA)
    for name in criteria:
        _table(fail, criteria, "criteria", name)
    for name, keys in _CRITERION_KEYS.items():
        if name in criteria:
            _only(fail, criteria[name], f"criteria.{name}", keys)
    if "professional_judgement" in criteria:
        _flag(fail, criteria["professional_judgement"], "criteria.professional_judgement", "requires_reason")
    if "escalation" in criteria:
        _whole(fail, criteria["escalation"], "criteria.escalation", "incidents", 1, 100)
        _whole(fail, criteria["escalation"], "criteria.escalation", "window_months", 1, 120)


def _check(path: Path, data: dict[str, Any], found: dict[str, dict[str, Any]]) -> dict[str, Any]:
    fail = _failer(path.name)
    # unknown keys first: a misspelt key is reported as itself, not as the key it should have been
    _only(fail, data, "", TYPE_KEYS)
    _label(fail, data, "", "name")
    if data.get("default_weekday") not in WEEKDAYS:
        raise fail("default_weekday", f"must be one of {', '.join(WEEKDAYS)}")
    if not isinstance(data.get("default_time"), str) or not TIME_RE.fullmatch(data["default_time"]):
        raise fail("default_time", "must be a time written HH:MM")
    for key, default in _INT_DEFAULTS.items():
        data.setdefault(key, default)
    for key, (low, high) in _INT_RANGES.items():
        _whole(fail, data, "", key, low, high)
    if data.get("kind") not in KINDS:
        raise fail("kind", f"must be one of {', '.join(KINDS)}")
    have = ", ".join(sorted(found)) or "none"
    for name in _words(fail, data, "", "instruments"):
        if name not in found:
            raise fail("instruments", f"must name files in {INSTRUMENTS_SUBDIR}/ without .toml (found: {have})")
    # One kind per type: the criteria and the form read a score or a level, not either.
    if len({found[name]["kind"] for name in data["instruments"]}) > 1:
        raise fail("instruments", "must all be of one kind (all score or all level)")
    _flag(fail, data, "", "monitoring_only_without_consent")
    _check_criteria(fail, data)

    repeat = _table(fail, data, "", "repeat")
    _only(fail, repeat, "repeat", ("window_months", "match"))
    _whole(fail, repeat, "repeat", "window_months", 1, 120)
    if not set(_words(fail, repeat, "repeat", "match")) <= set(REPEAT_MATCH):
        raise fail("repeat.match", f"must hold only {', '.join(REPEAT_MATCH)}")
    # A case anonymised for retention can no longer be found as the earlier referral of a repeat.
    if data["retention_years"] * 12 < repeat["window_months"]:
        raise fail("retention_years", "must cover the repeat window (repeat.window_months)")

    # subcategory keys are unique across the whole type so that a recorded key is unambiguous
    strand_keys: set[str] = set()
    subcategory_keys: set[str] = set()
    strands = _keyed_tables(
        fail, data, "", "strands", ("label", "label_cy", "local", "subcategories"), seen=strand_keys, empty_ok=True
    )
    for index, strand in enumerate(strands):
        where = f"strands[{index}]"
        _label(fail, strand, where, "label")
        _flag(fail, strand, where, "local")
        subcategories = _keyed_tables(
            fail, strand, where, "subcategories", ("label", "label_cy"), seen=subcategory_keys, empty_ok=True
        )
        for number, subcategory in enumerate(subcategories):
            _label(fail, subcategory, f"{where}.subcategories[{number}]", "label")

    for key in ("confidentiality_statement", "confidentiality_statement_cy"):
        if key in data and len(_text(fail, data, "", key)) > MAX_STATEMENT:
            raise fail(key, f"must be at most {MAX_STATEMENT} characters")
    _text(fail, data, "", "confidentiality_statement")

    # [documents] bilingual = true: a Welsh-language agency's documents carry the English after the
    # Welsh (documents/bilingual in agendas/README.md).
    documents = _table(fail, data, "", "documents") if "documents" in data else data.setdefault("documents", {})
    _only(fail, documents, "documents", ("bilingual",))
    documents.setdefault("bilingual", False)
    _flag(fail, documents, "documents", "bilingual")

    sections = _keyed_tables(fail, data, "", "sections", ("title", "title_cy"))
    for index, section in enumerate(sections):
        _label(fail, section, f"sections[{index}]", "title")
    order = data.setdefault("case_order", list(DEFAULT_CASE_ORDER))
    if (
        not isinstance(order, list)
        or not order
        or not all(key in CASE_ORDER_KEYS for key in order)
        or len(set(order)) != len(order)
    ):
        raise fail("case_order", f"must be a list of different values from {', '.join(CASE_ORDER_KEYS)}")
    return data


def load_types(directory: Path = AGENDAS_DIR) -> dict[str, dict[str, Any]]:
    """Conference types by id (file name without .toml); instruments come from directory/instruments."""
    found = load_instruments(directory / INSTRUMENTS_SUBDIR)
    types: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConferenceTypeError(f"{path.name}: not valid TOML ({exc})") from exc
        checked = _check(path, data, found)
        # What the code reads: the first instrument is the form's default; a conference keeps a
        # copy of each definition (agencies.service.frozen_type), so a later edit changes no case.
        checked["instrument"] = checked["instruments"][0]
        checked["instrument_definition"] = found[checked["instrument"]]
        checked["instrument_definitions"] = {name: found[name] for name in checked["instruments"]}
        types[path.stem] = checked
    if not types:
        raise ConferenceTypeError(f"no conference types found in {directory}")
    return types


def confidentiality_statement(type_settings: dict[str, Any], language: str | None = None) -> str:
    """The statement read at the start of a conference's meetings and printed at the head of its
    minutes: its type's own wording, as frozen when the conference was created, in `language` (the
    page's when not given) where the type gives it (`confidentiality_statement_cy`), else in English."""
    if not type_settings.get("confidentiality_statement"):
        return " ".join(DEFAULT_CONFIDENTIALITY.split())
    with i18n.use(language or i18n.current()):
        return " ".join(localised(type_settings, "confidentiality_statement").split())


def bilingual(type_settings: dict[str, Any]) -> bool:
    """Whether documents in another language than English are issued with the English after them
    (`[documents] bilingual = true`; conferences created before the key existed: no)."""
    return bool(type_settings.get("documents", {}).get("bilingual"))


_loaded: dict[str, dict[str, Any]] | None = None
_instruments: dict[str, dict[str, Any]] | None = None


def conference_types() -> dict[str, dict[str, Any]]:
    global _loaded
    if _loaded is None:
        _loaded = load_types()
        missing = missing_welsh()
        if missing:  # once, at start-up: the pages show English for these until the files give the Welsh
            logger.warning("%d labels in agendas/ lack their Welsh form: %s", len(missing), "; ".join(missing))
    return _loaded


def accepted_instruments(type_settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The risk instruments a conference accepts, by id, first the form's default. A conference
    created before types named several instruments holds only `instrument_definition`."""
    return type_settings.get("instrument_definitions") or {
        type_settings["instrument"]: type_settings["instrument_definition"]
    }


def with_type_instruments(type_id: str, type_settings: dict[str, Any]) -> dict[str, Any]:
    """A conference's settings, accepting also the instruments its type file lists now. A conference
    keeps the instruments it was created with, as their definitions were then; one its type file
    has added since (the police DASH, for a domestic-abuse conference created before it existed)
    is accepted too, as the file defines it, if of the same kind (score or level). Which forms a
    referral may use changes no past meeting (agendas/README.md)."""
    held = accepted_instruments(type_settings)
    now = conference_types().get(type_id)
    if now is None:  # a type file since removed: the conference keeps what it holds
        return type_settings
    kind = next(iter(held.values())).get("kind")
    added = {
        name: definition
        for name, definition in now["instrument_definitions"].items()
        if name not in held and definition["kind"] == kind
    }
    if not added:
        return type_settings
    merged = {**held, **added}
    return {**type_settings, "instruments": list(merged), "instrument_definitions": merged}


def instruments() -> dict[str, dict[str, Any]]:
    """Risk instruments by name (`dash`, `hate-crime`), each with its `id` added."""
    global _instruments
    if _instruments is None:
        _instruments = load_instruments()
    return _instruments


# ---- Welsh ------------------------------------------------------------------------------------


def _missing_in_type(data: dict[str, Any]) -> list[str]:
    paths: list[str] = [key for key in ("name", "confidentiality_statement") if key in data]
    for index, strand in enumerate(data.get("strands", [])):
        paths.append(f"strands[{index}].label")
        paths += [f"strands[{index}].subcategories[{n}].label" for n in range(len(strand.get("subcategories", [])))]
    paths += [f"sections[{index}].title" for index in range(len(data.get("sections", [])))]
    return paths


def _missing_in_instrument(data: dict[str, Any]) -> list[str]:
    paths = ["name", "answers", *(["levels"] if "levels" in data else [])]
    for index, question in enumerate(data.get("questions", [])):
        paths += [f"questions[{index}].{key}" for key in ("text", "group") if key in question]
    return paths


def _has_welsh(data: dict[str, Any], path: str) -> bool:
    table: Any = data
    *parents, last = path.split(".")
    for part in parents:
        name, _, index = part.partition("[")
        table = table[name][int(index[:-1])] if index else table[name]
    return bool(table.get(last + WELSH))


def missing_welsh(directory: Path = AGENDAS_DIR) -> list[str]:
    """Every label of the type and instrument files without its Welsh form, as `file: dotted.path_cy`
    (instruments/dash.toml: questions[3].text_cy). A warning, not an error: English is shown instead."""
    found: list[str] = []
    folder = directory / INSTRUMENTS_SUBDIR
    for name, data in load_instruments(folder).items():
        paths = _missing_in_instrument(data)
        found += [f"{folder.name}/{name}.toml: {path}{WELSH}" for path in paths if not _has_welsh(data, path)]
    for name, data in load_types(directory).items():
        found += [f"{name}.toml: {path}{WELSH}" for path in _missing_in_type(data) if not _has_welsh(data, path)]
    return found


@functools.cache
def _translations_index(suffix: str) -> dict[tuple[str, str], str]:
    """(key, English) → the translation (`<key>_cy`), from the type and instrument files as they are now:
    what a conference's older copy of its settings lacks (made before the files had it) is found here,
    for the same English words. Words that have changed since find none and stay English."""
    index: dict[tuple[str, str], str] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                translated = value.get(key + suffix)
                if isinstance(inner, str) and isinstance(translated, str) and translated:
                    index.setdefault((key, inner), translated)
                elif isinstance(inner, list) and isinstance(translated, list):
                    for english, word in zip(inner, translated, strict=False):
                        index.setdefault((key, str(english)), str(word))
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(list(conference_types().values()))
    walk(list(instruments().values()))
    return index


def localised(item: Mapping[str, Any], key: str = "label") -> str:
    """A label from a type or instrument file in the page's language (i18n.localised), also for a
    conference's copy of its settings made before the file had the Welsh (tests/test_i18n_referrals.py)."""
    suffix = f"_{i18n.current()}"
    if i18n.current() != i18n.DEFAULT and not item.get(key + suffix):
        found = _translations_index(suffix).get((key, str(item.get(key))))
        if found:
            return found
    return i18n.localised(item, key)


def localised_word(item: Mapping[str, Any], key: str, word: str) -> str:
    """One word of an instrument's `answers` or `levels` ("high") in the page's language: its place in
    `levels_cy` (or the current file's, for an older copy); the English word where there is none."""
    if i18n.current() == i18n.DEFAULT:
        return word
    suffix = f"_{i18n.current()}"
    words, translated = list(item.get(key) or []), list(item.get(key + suffix) or [])
    if word in words and words.index(word) < len(translated):
        return str(translated[words.index(word)])
    return _translations_index(suffix).get((key, word), word)
