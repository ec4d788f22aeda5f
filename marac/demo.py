"""Demo data: two conferences (domestic abuse, hate crime), their agencies, one user per role.

For MARAC_ENV=demo only. Idempotent: running it again changes nothing that exists.
The demo passwords are printed by `marac demo`; they are public, like the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

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
CONFERENCES = [
    {
        "name": "Northshire Domestic Abuse MARAC", "slug": "northshire-da", "type": "domestic-abuse",
        "weekday": "tuesday", "start_time": "10:00", "first_date": date(2026, 1, 6),
        "members": [
            ("Northshire Police", "full"), ("Northshire IDVA Service", "full"), ("Northshire Probation", "full"),
            ("Northshire NHS Foundation Trust", "full"), ("Northshire Council Community Safety", "full"),
            ("Northshire Children's Services", "actions_only"),
        ],
    },
    {
        "name": "Northshire Hate Crime MARAC", "slug": "northshire-hc", "type": "hate-crime",
        "weekday": "thursday", "start_time": "14:00", "first_date": date(2026, 1, 8),
        "members": [
            ("Northshire Police", "full"), ("Stop Hate Northshire", "full"),
            ("Northshire Council Community Safety", "full"), ("Riverside Housing Association", "full"),
            ("Northshire NHS Foundation Trust", "actions_only"),
        ],
    },
]
BOTH = ["northshire-da", "northshire-hc"]
# (email, name, agency, role, conferences, password)
USERS = [
    ("admin@demo.example.org", "Ada Admin", "Northshire Council Community Safety", "admin", [], "demo-admin-2026"),
    ("coordinator@demo.example.org", "Cora Coordinator", "Northshire Council Community Safety", "coordinator", BOTH, "demo-coordinator-2026"),
    ("chair@demo.example.org", "Inspector Charlie Chair", "Northshire Police", "chair", BOTH, "demo-chair-2026"),
    ("police@demo.example.org", "PC Pat Police", "Northshire Police", "member", BOTH, "demo-police-2026"),
    ("idva@demo.example.org", "Ivy IDVA", "Northshire IDVA Service", "member", ["northshire-da"], "demo-idva-2026"),
    ("health@demo.example.org", "Dr Harriet Health", "Northshire NHS Foundation Trust", "member", BOTH, "demo-health-2026"),
    ("advocate@demo.example.org", "Sam Hate Crime Advocate", "Stop Hate Northshire", "member", ["northshire-hc"], "demo-advocate-2026"),
    ("auditor@demo.example.org", "Audrey Auditor", "Northshire Council Community Safety", "auditor", BOTH, "demo-auditor-2026"),
]


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    role: str
    agency: str


async def load() -> list[DemoAccount]:
    ids: dict[str, str] = {}
    for name, kind in AGENCIES:
        agency = await Agency.get_or_none(name=name) or await service.create_agency(None, name, kind)
        ids[name] = agency.id
    for spec in CONFERENCES:
        if not await Conference.filter(slug=spec["slug"]).exists():
            members = [service.MemberSpec(ids[name], tier) for name, tier in spec["members"]]
            await service.create_conference(None, **{**spec, "members": members})
    accounts = []
    for email, name, agency, role, conferences, password in USERS:
        if not await User.filter(email=email).exists():
            await service.add_user(
                None, email=email, name=name, agency_id=ids[agency], role=role,
                conference_slugs=conferences, password=password, demo=True,
            )
        accounts.append(DemoAccount(email=email, password=password, role=role, agency=agency))
    return accounts
