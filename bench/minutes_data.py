"""A realistic frozen minutes content for a 16-case meeting (the shape minutes.service._content
freezes), with recipients in the usual mix: most agencies full tier, some actions-only, a few
named in restricted notes. Shared by bench/minutes_render.py and its test."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from marac.conference_types import DEFAULT_CONFIDENTIALITY

WORDS = (
    "risk safety contact police report incident children school housing refuge advocate "
    "support plan review history alcohol threat injury court order bail condition visit "
    "referral assessment concern disclosed worker appointment tenancy health"
).split()


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(sentence(rng, rng.randint(8, 18)) for _ in range(sentences))


def recipients(full: int = 14, actions_only: int = 6) -> list[dict[str, str]]:
    agencies = [
        {"agency_id": f"agency-{n:02d}", "name": f"Agency {n:02d} safeguarding team", "tier": "full"}
        for n in range(full)
    ]
    agencies += [
        {"agency_id": f"agency-{n:02d}", "name": f"Agency {n:02d} support service", "tier": "actions_only"}
        for n in range(full, full + actions_only)
    ]
    return agencies


def content(
    cases: int = 16, seed: int = 6, restricted_to: tuple[str, ...] = ("agency-01", "agency-02", "agency-03")
) -> dict[str, Any]:
    rng = random.Random(seed)
    agencies = recipients()
    day = date(2026, 11, 24)
    case_list = []
    for n in range(cases):
        notes = [
            {"stage": "research", "text": paragraph(rng, rng.randint(2, 3)), "visibility": "all", "agencies": []}
            for _ in range(rng.randint(2, 3))
        ]
        notes.append(
            {"stage": "discussion", "text": paragraph(rng, rng.randint(2, 3)), "visibility": "all", "agencies": []}
        )
        if n % 4 == 0:  # a few restricted notes, each to one agency
            notes.append(
                {
                    "stage": "discussion",
                    "text": paragraph(rng, 2),
                    "visibility": "restricted",
                    "agencies": [restricted_to[n // 4 % len(restricted_to)]],
                }
            )
        actions = []
        for _ in range(rng.randint(3, 5)):
            owner = rng.choice(agencies)
            actions.append(
                {
                    "id": f"a{n}-{len(actions)}",
                    "owner_agency_id": owner["agency_id"],
                    "owner": owner["name"],
                    "description": sentence(rng, rng.randint(12, 28)),
                    "due_date": (day + timedelta(days=14)).isoformat(),
                    "status": "open",
                }
            )
        case_list.append(
            {
                "case_id": f"case-{n}",
                "label": f"NS-{day:%Y%m%d}-{n + 1:02d}",
                "kind": rng.choice(["new", "repeat", "transfer"]),
                "review": False,
                "risk": f"DASH score {rng.randint(14, 24)}",
                "outcome": "heard",
                "outcome_reason": "",
                "notes": notes,
                "actions": actions,
            }
        )
    return {
        "conference_name": "Northshire domestic abuse MARAC",
        "date": day.isoformat(),
        "venue": "Civic Centre, Room 2",
        "chair": "Detective Inspector Chair",
        "confidentiality": DEFAULT_CONFIDENTIALITY,
        "present": [
            {"agency": a["name"], "name": f"Officer {i}", "confidentiality_signed": True}
            for i, a in enumerate(agencies[:16])
        ],
        "apologies": [
            {
                "agency": a["name"],
                "name": f"Worker {i}",
                "information_sent": i % 2 == 0,
                "information_sent_on": (day - timedelta(days=1)).isoformat() if i % 2 == 0 else None,
            }
            for i, a in enumerate(agencies[16:19])
        ],
        "observers": [{"name": "Student social worker", "confidentiality_signed": True}],
        "reviews": [
            {
                "case_label": f"NS-20261110-{n + 1:02d}",
                "owner_agency_id": agencies[n]["agency_id"],
                "owner": agencies[n]["name"],
                "description": sentence(rng, 16),
                "due_date": day.isoformat(),
                "outcome": "completed",
                "note": sentence(rng, 10),
            }
            for n in range(12)
        ],
        "cases": case_list,
        "any_other_business": paragraph(rng, 3),
    }
