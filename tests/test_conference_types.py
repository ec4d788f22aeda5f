"""The shipped conference types and risk instruments load, and every kind of wrong key stops
loading with a message naming the file and the key."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import pytest

from marac.conference_types import AGENDAS_DIR, ConferenceTypeError, conference_types, instruments, load_types

SECTIONS = [
    "opening",
    "attendance",
    "outstanding_actions",
    "new_cases",
    "repeat_cases",
    "transfers",
    "lapsed_reviews",
    "aob",
]


def test_the_shipped_types_and_instruments_load():
    types = conference_types()
    assert set(types) == {"domestic-abuse", "hate-crime"}
    da, hc = types["domestic-abuse"], types["hate-crime"]
    assert (da["kind"], da["instrument"], da["monitoring_only_without_consent"]) == ("domestic_abuse", "dash", False)
    assert (hc["kind"], hc["instrument"], hc["monitoring_only_without_consent"]) == ("hate_crime", "hate-crime", True)
    # partner agencies' 24-question checklist first (the form's default), then the police DASH
    assert da["instruments"] == ["dash", "dash-police"] and hc["instruments"] == ["hate-crime"]
    assert list(da["instrument_definitions"]) == ["dash", "dash-police"]
    assert da["criteria"]["visible_high_risk"] == {} and hc["criteria"]["visible_high_risk"] == {}
    assert da["duplicate_days"] == hc["duplicate_days"] == 7
    assert da["repeat"]["match"] == ["victim", "perpetrator"] and hc["repeat"]["match"] == ["victim"]
    assert da["strands"] == []
    assert [s["key"] for s in hc["strands"] if not s["local"]] == [
        "race",
        "religion",
        "disability",
        "sexual_orientation",
        "transgender",
    ]
    assert [s["key"] for s in hc["strands"] if s["local"]] == ["sex_gender", "age", "alternative_subculture"]
    religion = next(s for s in hc["strands"] if s["key"] == "religion")
    assert {"anti_muslim", "antisemitic"} <= {c["key"] for c in religion["subcategories"]}
    # Domestic abuse hears new and repeat cases together in the SafeLives order (the default case_order);
    # hate crime keeps them apart, repeats first.
    assert [s["key"] for s in hc["sections"]] == SECTIONS
    assert [s["key"] for s in da["sections"]] == [
        "cases" if k == "new_cases" else k for k in SECTIONS if k != "repeat_cases"
    ]
    assert da["case_order"] == ["children", "risk", "received"] and hc["case_order"] == ["repeat", "risk", "received"]

    found = instruments()
    assert set(found) == {"dash", "dash-police", "hate-crime"}
    assert found["dash"]["id"] == "dash" and found["dash"]["kind"] == "score"
    assert len(found["dash"]["questions"]) == 24 and found["dash"]["score_range"] == [0, 24]
    # Both DASH forms: 14 or more "yes" is visible high risk, each file saying so itself.
    assert found["dash"]["thresholds"] == found["dash-police"]["thresholds"] == {"visible_high_risk": 14}
    police = found["dash-police"]
    assert police["kind"] == "score" and len(police["questions"]) == 27 and police["score_range"] == [0, 27]
    groups = [q["group"] for q in police["questions"]]
    assert list(dict.fromkeys(groups)) == [
        "Current situation",
        "Children/dependants",
        "Domestic violence history",
        "Abuser",
    ]
    assert [groups.count(g) for g in dict.fromkeys(groups)] == [8, 4, 10, 5]
    hate = found["hate-crime"]
    assert hate["levels"] == ["low", "medium", "high"] and hate["thresholds"]["visible_high_risk"] == "high"
    assert 0 < hate["thresholds"]["medium"] < hate["thresholds"]["high"] <= len(hate["questions"])
    # no national hate crime tool exists: the shipped one says it is an example to replace
    assert hate["example"] is True and "example" in hate["name"].lower()
    assert "example" not in found["dash"] and "example" not in police


def _leaf_keys(value: object) -> set[str]:
    if isinstance(value, dict):
        # the keys of `thresholds` are level names (data), not keys the README must explain
        return set(value) | {k for key, v in value.items() if key != "thresholds" for k in _leaf_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _leaf_keys(v)}
    return set()


def test_the_readme_explains_every_key_the_files_use():
    readme = (AGENDAS_DIR / "README.md").read_text()
    files = [*AGENDAS_DIR.glob("*.toml"), *(AGENDAS_DIR / "instruments").glob("*.toml")]
    keys = {k for path in files for k in _leaf_keys(tomllib.loads(path.read_text()))}
    missing = sorted(k for k in keys if f"`{k}`" not in readme and f".{k}`" not in readme)
    assert not missing, f"agendas/README.md does not explain {missing}"


@pytest.fixture
def agendas(tmp_path: Path) -> Path:
    shutil.copytree(AGENDAS_DIR, tmp_path / "agendas")
    return tmp_path / "agendas"


def _edit(directory: Path, file: str, old: str, new: str) -> None:
    path = directory / file
    text = path.read_text()
    assert old in text, f"{old!r} is not in {file}"
    path.write_text(text.replace(old, new, 1))


TYPE_CASES = [
    # (file, old text, new text, key the error must name)
    (
        "domestic-abuse.toml",
        "strands = []\n",
        'strands = []\ndocuments = { bilingual = "yes" }\n',
        "documents.bilingual",
    ),
    ("domestic-abuse.toml", "strands = []\n", "strands = []\ndocuments = { welsh = true }\n", "documents.welsh"),
    ("domestic-abuse.toml", "strands = []\n", "strands = []\ndocuments = true\n", "documents"),
    ("domestic-abuse.toml", "Mae'r wybodaeth a rennir yn y MARAC hwn", "x" * 3001, "confidentiality_statement_cy"),
    ("domestic-abuse.toml", 'name = "Domestic', 'nation = "england"\nname = "Domestic', "nation"),
    ("domestic-abuse.toml", "capacity = 20\n", "", "capacity"),
    ("domestic-abuse.toml", 'kind = "domestic_abuse"', 'kind = "stalking"', "kind"),
    ("domestic-abuse.toml", 'instruments = ["dash", "dash-police"]', 'instruments = ["dash-2019"]', "instruments"),
    (
        "domestic-abuse.toml",
        'instruments = ["dash", "dash-police"]',
        'instruments = ["dash", "hate-crime"]',
        "instruments",
    ),
    ("domestic-abuse.toml", 'instruments = ["dash", "dash-police"]', 'instrument = "dash"', "instrument"),
    ("domestic-abuse.toml", "duplicate_days = 7", "duplicate_days = -1", "duplicate_days"),
    (
        "domestic-abuse.toml",
        "monitoring_only_without_consent = false",
        'monitoring_only_without_consent = "no"',
        "monitoring_only_without_consent",
    ),
    ("domestic-abuse.toml", "strands = []", 'strands = "none"', "strands"),
    ("domestic-abuse.toml", "[criteria.repeat]\n", "[criteria.repeat]\n\n[criteria.stalking]\n", "criteria.stalking"),
    (
        "domestic-abuse.toml",
        "[criteria.repeat]\n",
        "[criteria.repeat]\nwindow_months = 6\n",
        "criteria.repeat.window_months",
    ),
    # the threshold lives in the instrument file now; the type's criterion is an empty table
    (
        "domestic-abuse.toml",
        "[criteria.visible_high_risk]\n",
        "[criteria.visible_high_risk]\nmin_score = 14\n",
        "criteria.visible_high_risk.min_score",
    ),
    (
        "domestic-abuse.toml",
        "requires_reason = true",
        'requires_reason = "yes"',
        "criteria.professional_judgement.requires_reason",
    ),
    ("domestic-abuse.toml", "incidents = 3", "incidents = 0", "criteria.escalation.incidents"),
    (
        "domestic-abuse.toml",
        "incidents = 3\nwindow_months = 12",
        "incidents = 3\nwindow_months = 1200",
        "criteria.escalation.window_months",
    ),
    ("domestic-abuse.toml", "[repeat]\nwindow_months = 12", "[repeat]\nwindow_months = 0", "repeat.window_months"),
    ("domestic-abuse.toml", 'match = ["victim", "perpetrator"]', 'match = ["victim", "neighbour"]', "repeat.match"),
    ("hate-crime.toml", 'key = "disability"', 'key = "race"', "strands[2].key"),
    ("hate-crime.toml", 'key = "age"', 'key = "Age"', "strands[6].key"),
    ("hate-crime.toml", "local = false", 'local = "no"', "strands[0].local"),
    ("hate-crime.toml", 'label = "Disability"', 'label = ""', "strands[2].label"),
    ("hate-crime.toml", '{ key = "other_disability"', '{ key = "other_race"', "strands[2].subcategories[3].key"),
    ("hate-crime.toml", 'label = "Anti-Sikh"', 'label = ""', "strands[1].subcategories[3].label"),
    ("domestic-abuse.toml", 'key = "aob"', 'key = "opening"', "sections[6].key"),
    ("domestic-abuse.toml", 'title = "Cases"', 'title = " "', "sections[3].title"),
    ("hate-crime.toml", 'case_order = ["repeat", "risk", "received"]', 'case_order = ["repeat", "age"]', "case_order"),
    ("hate-crime.toml", 'case_order = ["repeat", "risk", "received"]', 'case_order = ["risk", "risk"]', "case_order"),
    (
        "domestic-abuse.toml",
        'title = "Any other business"',
        'title = "Any other business"\nminutes = 5',
        "sections[6].minutes",
    ),
]

INSTRUMENT_CASES = [
    ("dash.toml", 'kind = "score"', 'kind = "points"', "kind"),
    ("dash.toml", 'kind = "score"', 'kind = "score"\nlevels = ["low", "high"]', "levels"),
    ("dash.toml", 'name = "SafeLives', 'name = "" #', "name"),
    ("dash.toml", 'answers = ["yes", "no", "not known"]', 'answers = ["no", "not known"]', "answers"),
    ("dash.toml", 'answers = ["yes", "no", "not known"]', 'answers = ["Yes", "no", "not known"]', "answers"),
    ("dash.toml", 'key = "weapons"', 'key = "injury"', "questions[12].key"),
    ("dash.toml", 'text = "Are you very frightened?"', 'text = ""', "questions[1].text"),
    ("hate-crime.toml", 'levels = ["low", "medium", "high"]', 'levels = ["high"]', "levels"),
    ("hate-crime.toml", "medium = 4\n", "", "thresholds.medium"),
    ("hate-crime.toml", "high = 7", "high = 3", "thresholds.high"),
    ("hate-crime.toml", "high = 7", "high = 7\nsevere = 9", "thresholds.severe"),
    ("hate-crime.toml", 'visible_high_risk = "high"', 'visible_high_risk = "severe"', "thresholds.visible_high_risk"),
    ("hate-crime.toml", "example = true", 'example = "yes"', "example"),
    ("hate-crime.toml", "score_range = [0, 12]", "score_range = [0, 11]", "score_range"),
    ("dash.toml", "visible_high_risk = 14", "visible_high_risk = 25", "thresholds.visible_high_risk"),
    ("dash.toml", "visible_high_risk = 14", "visible_high_risk = 14\nmedium = 4", "thresholds.medium"),
    ("dash.toml", "score_range = [0, 24]", "score_range = [1, 24]", "score_range"),
    ("dash-police.toml", 'group = "Abuser"', 'group = ""', "questions[22].group"),
    ("dash-police.toml", 'key = "hurt_children"', 'key = "injury"', "questions[10].key"),
]


@pytest.mark.parametrize(("file", "old", "new", "key"), TYPE_CASES, ids=[c[3] for c in TYPE_CASES])
def test_a_bad_type_key_names_the_file_and_the_key(agendas: Path, file, old, new, key):
    _edit(agendas, file, old, new)
    with pytest.raises(ConferenceTypeError, match=rf"^{re.escape(file)}: key '{re.escape(key)}' "):
        load_types(agendas)


@pytest.mark.parametrize(("file", "old", "new", "key"), INSTRUMENT_CASES, ids=[c[3] for c in INSTRUMENT_CASES])
def test_a_bad_instrument_key_names_the_file_and_the_key(agendas: Path, file, old, new, key):
    _edit(agendas / "instruments", file, old, new)
    with pytest.raises(ConferenceTypeError, match=rf"^instruments/{re.escape(file)}: key '{re.escape(key)}' "):
        load_types(agendas)


def test_an_instrument_that_is_not_toml_names_the_file(agendas: Path):
    (agendas / "instruments" / "dash.toml").write_text("name = [")
    with pytest.raises(ConferenceTypeError, match=r"^instruments/dash\.toml: not valid TOML"):
        load_types(agendas)


def test_a_type_without_its_instrument_file_is_refused(agendas: Path):
    (agendas / "instruments" / "hate-crime.toml").unlink()
    with pytest.raises(ConferenceTypeError, match=r"^hate-crime\.toml: key 'instruments' .*found: dash"):
        load_types(agendas)
