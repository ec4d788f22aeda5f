"""The benchmark data generator (bench/generate.py) makes the data set of
docs/benchmarks.md#the-national-data-set: about a third of referrals repeats, multi-strand
hate cases, names arriving as variants, and sealed columns the service can open. Pure
generation, no database: one conference."""

from __future__ import annotations

import json
from datetime import date

from bench.generate import ConferencePlan, Rows, conference
from marac.actions.models import UNDONE
from marac.agencies.service import frozen_type
from marac.sealed import unseal

MEMBERS = {k: f"{i:032x}" for i, k in enumerate(("police", "idva", "health", "housing", "local_authority", "fire"))}


def one_conference(kind: str, index: int) -> dict[str, list[tuple]]:
    plan = ConferencePlan(
        index, f"{index + 99:032x}", kind, MEMBERS, {a: "u" * 32 for a in MEMBERS.values()}, "c" * 32, "h" * 32
    )
    rows = Rows()
    conference(plan, {"conferences": 1, "meetings": 83, "referrals": 400, "actions": 1200}, date(2026, 11, 21), rows)
    return rows.tables


def test_a_third_repeats_and_variants_of_the_same_names() -> None:
    tables = one_conference("domestic-abuse", 0)
    referrals = tables["referral"]
    repeats = [r for r in referrals if r[17]]
    assert 0.25 <= len(repeats) / len(referrals) <= 0.4
    assert all(r[18] for r in repeats)  # a repeat names the referral it repeats
    # The same victim person, typed differently in a later referral.
    victims = {}
    for row in tables["referral_person"]:
        if row[3] == "victim":
            victims.setdefault(row[2], set()).add(unseal("referral_person", "name", row[0], row[4]))
    assert any(len(typed) > 1 for typed in victims.values())
    assert len(tables["action"]) == 1200 and {r[7] for r in tables["action"]} >= {"open", "done", "not_done_by_agency"}


def test_hate_crime_cases_on_several_strands_and_sealed_rows_open() -> None:
    tables = one_conference("hate-crime", 1)
    strands = [json.loads(r[11]) for r in tables["referral"]]
    assert all(strands) and sum(len(s) > 1 for s in strands) / len(strands) > 0.1
    row = tables["referral"][0]
    assert json.loads(unseal("referral", "victim", row[0], row[9]))["name"]
    person = tables["person"][0]
    assert isinstance(json.loads(unseal("person", "names", person[0], person[2])), list)


def test_agenda_items_sit_in_the_case_sections_their_conference_type_lists() -> None:
    # The section is read by the meeting page and the minutes; one the type does not list leaves the case unheard.
    for kind, index in (("domestic-abuse", 0), ("hate-crime", 1)):
        listed = {s["key"] for s in frozen_type(kind)["sections"]}
        sections = {row[4] for row in one_conference(kind, index)["agenda_item"]}
        assert sections and sections <= listed, (kind, sections - listed)


def test_old_actions_closed_as_undone_have_had_their_one_review() -> None:
    # Otherwise every meeting's outstanding actions would list years of them (docs/domain.md#outstanding-actions).
    actions = one_conference("domestic-abuse", 0)["action"]
    old_undone = [r for r in actions if r[7] in UNDONE and (date(2026, 11, 21) - r[6]).days > 120]
    assert old_undone and all(r[12] for r in old_undone)
    assert all(r[12] is None for r in actions if r[7] not in UNDONE)
