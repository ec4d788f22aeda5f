"""Demo data: two conferences (domestic abuse, hate crime), their agencies, one user per role,
and a few made-up referrals waiting for triage.

For MARAC_ENV=demo only. Idempotent: running it again changes nothing that exists.
The demo passwords are printed by `marac demo`; they are public, like the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from marac.agencies import service
from marac.agencies.models import Agency, Conference, User

AGENCIES = [
    ("Northshire Police", "police"),
    ("Northshire IDVA Service", "idva"),
    ("Northshire Probation", "probation"),
    ("Northshire Children's Services", "childrens_social_care"),
    ("Northshire NHS Foundation Trust", "health"),
    ("Northshire Council Community Safety", "local_authority"),
    ("Stop Hate Northshire", "voluntary"),
    ("Riverside Housing Association", "housing"),
]
# Keyword arguments of service.create_conference, the members as (agency name, tier).
CONFERENCES: list[dict[str, Any]] = [
    {
        "name": "Northshire Domestic Abuse MARAC",
        "slug": "northshire-da",
        "type": "domestic-abuse",
        "weekday": "tuesday",
        "start_time": "10:00",
        "first_date": date(2026, 1, 6),
        "members": [
            ("Northshire Police", "full"),
            ("Northshire IDVA Service", "full"),
            ("Northshire Probation", "full"),
            ("Northshire NHS Foundation Trust", "full"),
            ("Northshire Council Community Safety", "full"),
            ("Northshire Children's Services", "actions_only"),
        ],
    },
    {
        "name": "Northshire Hate Crime MARAC",
        "slug": "northshire-hc",
        "type": "hate-crime",
        "weekday": "thursday",
        "start_time": "14:00",
        "first_date": date(2026, 1, 8),
        "members": [
            ("Northshire Police", "full"),
            ("Stop Hate Northshire", "full"),
            ("Northshire Council Community Safety", "full"),
            ("Riverside Housing Association", "full"),
            ("Northshire NHS Foundation Trust", "actions_only"),
        ],
    },
]
BOTH = ["northshire-da", "northshire-hc"]
# The victims' advocates: each conference's referrals reach them as they arrive (docs/domain.md#receiving-agencies).
RECEIVING = {"northshire-da": "Northshire IDVA Service", "northshire-hc": "Stop Hate Northshire"}
# (email, name, agency, role, conferences, password)
USERS = [
    ("admin@demo.example.org", "Ada Admin", "Northshire Council Community Safety", "admin", [], "demo-admin-2026"),
    (
        "coordinator@demo.example.org",
        "Cora Coordinator",
        "Northshire Council Community Safety",
        "coordinator",
        BOTH,
        "demo-coordinator-2026",
    ),
    ("chair@demo.example.org", "Inspector Charlie Chair", "Northshire Police", "chair", BOTH, "demo-chair-2026"),
    ("police@demo.example.org", "PC Pat Police", "Northshire Police", "member", BOTH, "demo-police-2026"),
    ("idva@demo.example.org", "Ivy IDVA", "Northshire IDVA Service", "member", ["northshire-da"], "demo-idva-2026"),
    (
        "health@demo.example.org",
        "Dr Harriet Health",
        "Northshire NHS Foundation Trust",
        "member",
        BOTH,
        "demo-health-2026",
    ),
    (
        "advocate@demo.example.org",
        "Sam Hate Crime Advocate",
        "Stop Hate Northshire",
        "member",
        ["northshire-hc"],
        "demo-advocate-2026",
    ),
    (
        "auditor@demo.example.org",
        "Audrey Auditor",
        "Northshire Council Community Safety",
        "auditor",
        BOTH,
        "demo-auditor-2026",
    ),
]


def _dash(yes: int, questions: int = 24) -> list[str]:
    return ["yes"] * yes + ["no"] * (questions - yes)


# Made-up people at made-up addresses (NS is not a real postcode area).
REFERRALS: list[tuple[str, dict[str, Any]]] = [
    (
        "police@demo.example.org",
        {
            "conference": "northshire-da",
            "criteria": ["visible_high_risk"],
            # Police use the 27-question police DASH.
            "risk": {"instrument": "dash-police", "answers": _dash(16, 27)},
            "referrer": {"name": "Demo Police Officer", "phone": "01632 960000", "email": "police@demo.example.org"},
            "victim": {
                "name": "Demo Victim One",
                "date_of_birth": "1991-04-12",
                "gender": "female",
                "address": {"line1": "1 Example Road", "town": "Northshire", "postcode": "NS1 1AA"},
                "language": "English",
                "safe_ways_to_contact": "Demo: text first, weekdays before 3pm",
            },
            "perpetrators": [
                {
                    "name": "Demo Perpetrator One",
                    "date_of_birth": "1988-09-30",
                    "relationship": "ex-partner",
                    "address": {"line1": "9 Example Lane", "town": "Northshire", "postcode": "NS1 9ZZ"},
                }
            ],
            "children": [
                {
                    "name": "Demo Child One",
                    "date_of_birth": "2019-02-01",
                    "relationship_to_victim": "daughter",
                    "relationship_to_perpetrator": "daughter",
                    "school": "Demo Primary School",
                }
            ],
            "summary": "Demo: threats to kill after separation; breach of a non-molestation order.",
            "consent": {"victim_aware": True, "consented": True},
        },
    ),
    (
        "idva@demo.example.org",
        {
            "conference": "northshire-da",
            "criteria": ["professional_judgement"],
            "risk": {"instrument": "dash", "answers": _dash(11)},
            "judgement_reason": "Demo: victim very frightened, recent strangulation.",
            "victim": {
                "name": "Demo Victim Two",
                "date_of_birth": "1984-11-03",
                "gender": "female",
                "address": {"line1": "2 Example Road", "town": "Northshire", "postcode": "NS1 2AB"},
                "language": "Polish",
                "interpreter_needed": True,
            },
            "previously_known": {"area": "Demo Riverside MARAC", "date": "2024-03-12"},
            "perpetrators": [{"name": "Demo Perpetrator Two", "relationship": "partner"}],
            "summary": "Demo: escalating control and jealousy.",
            "consent": {"victim_aware": True, "consented": False, "reason_if_not": "Demo: risk of serious harm"},
        },
    ),
    (
        "advocate@demo.example.org",
        {
            "conference": "northshire-hc",
            "criteria": ["visible_high_risk"],
            "risk": {"instrument": "hate-crime", "level": "high"},
            "victim": {
                "name": "Demo Victim Three",
                "date_of_birth": "1966-06-06",
                "address": {"line1": "3 Example Road", "town": "Northshire", "postcode": "NS2 3CD"},
            },
            "strands": ["religion:anti_muslim", "race"],
            "incident_kind": "crime",
            "summary": "Demo: repeated abuse and damage at the victim's home.",
            "consent": {"victim_aware": True, "consented": True},
        },
    ),
]


async def _load_referrals() -> None:
    from marac.agencies.access import viewer_for
    from marac.clock import today
    from marac.meetings import schedule
    from marac.referrals import service as referrals
    from marac.referrals.models import Referral

    if await Referral.exists():
        return
    for email, body in REFERRALS:
        user = await User.get(email=email)
        # Received in time for the next meeting, so its agenda has cases to show.
        conference = await Conference.get(slug=body["conference"])
        next_meeting = (await schedule.upcoming(conference, today(), 1))[0]
        received = min(today(), next_meeting.cut_off)
        await referrals.submit(await viewer_for(user), {**body, "received_at": received.isoformat()}, today())


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    role: str
    agency: str


async def load() -> list[DemoAccount]:
    ids: dict[str, str] = {}
    for name, kind in AGENCIES:
        made = await Agency.get_or_none(name=name) or await service.create_agency(None, name, kind)
        ids[name] = made.id
    for spec in CONFERENCES:
        if not await Conference.filter(slug=spec["slug"]).exists():
            receiver = RECEIVING.get(str(spec["slug"]))
            members = [service.MemberSpec(ids[name], tier, name == receiver) for name, tier in spec["members"]]
            await service.create_conference(None, **{**spec, "members": members})
    accounts = []
    for email, name, agency, role, conferences, password in USERS:
        if not await User.filter(email=email).exists():
            await service.add_user(
                None,
                email=email,
                name=name,
                agency_id=ids[agency],
                role=role,
                conference_slugs=conferences,
                password=password,
                demo=True,
            )
        accounts.append(DemoAccount(email=email, password=password, role=role, agency=agency))
    await _load_referrals()
    return accounts
