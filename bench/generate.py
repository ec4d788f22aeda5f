"""A national-scale MARAC database for the benchmarks (docs/benchmarks.md#the-national-data-set).

National: 300 conferences, 1,000 agencies, 10,000 users, 500,000 referrals over five years,
2,500,000 actions, 25,000 meetings; `--scale 0.1` gives a tenth of each. Distributions:
about a third of referrals are repeats (the same victim within twelve months, usually the
same perpetrator and children), 15% of conferences hear hate crime with about a fifth of
those cases on several strands, and names arrive as variants (upper case, "Surname,
Given", a dropped letter, a swapped day and month).

Every past meeting is held with its cases heard and their actions (most closed, recent
ones open); the next meeting of every conference has its accepted referrals waiting, so
an agenda build does real work. Rows go in with COPY, sealed columns sealed with
marac.sealed.seal and person-index keys made with marac.referrals.people.index_keys, so
the service reads them as its own. Conferences are split between worker processes (one
a core): Python generation is the cost, and PostgreSQL's COPY overlaps it.

Not generated: notes, research, minutes, documents, audit events (the audit chain starts
empty), action reviews.

    MARAC_ENV=test MARAC_DATABASE_URL=postgres://... python -m bench.generate [--scale 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import multiprocessing
import os
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

import asyncpg

from bench.match_referral import AREAS, CODAS, ENDINGS, GIVEN, GIVEN_W, ONSETS, SURNAME_W, SURNAMES, VOWELS
from marac import db
from marac.actions.models import UNDONE
from marac.agencies.service import frozen_type
from marac.referrals import names, people
from marac.sealed import seal

NATIONAL = {
    "conferences": 300,
    "agencies": 1000,
    "users": 10_000,
    "referrals": 500_000,
    "actions": 2_500_000,
    "meetings": 25_000,
}
YEARS = 5
REPEAT_RATE = 1 / 3  # SafeLives: about three referrals in ten are repeats
HATE_SHARE = 0.15
MULTI_STRAND = 0.2
CUT_OFF_DAYS = 7
MEMBER_KINDS = (
    "police",
    "idva",
    "health",
    "mental_health",
    "childrens_social_care",
    "adult_social_care",
    "housing",
    "probation",
    "education",
    "substance_misuse",
    "local_authority",
    "victim_service",
    "fire",
    "voluntary",
)
STRANDS = (
    "race",
    "religion",
    "disability",
    "sexual_orientation",
    "transgender",
    "sex_gender",
    "age",
    "alternative_subculture",
)
RELATIONSHIPS = ("partner", "ex-partner", "husband", "wife", "son", "brother", "father", "boyfriend", "girlfriend")
ACTION_TEXTS = (
    "Police to flag the address for an urgent response and share the marker with the IDVA",
    "IDVA to contact the victim within two working days and update the safety plan",
    "Housing to fit additional locks and a sanctuary door at the property",
    "Children's services to complete a strategy discussion for the children named",
    "Health visitor to arrange a safe appointment and record the disclosure",
    "Probation to review licence conditions with the offender manager",
    "GP practice to add a safeguarding alert to the victim's record",
)
TABLES = (
    "agency",
    "conference",
    "membership",
    "user",
    "user_conference",
    "meeting",
    "person",
    "person_key",
    "referral",
    "referral_person",
    "agenda_item",
    "action",
    "action_update",
)
COLUMNS = {
    "agency": ("id", "name", "kind", "created_at"),
    "conference": (
        "id",
        "name",
        "slug",
        "type",
        "weekday",
        "start_time",
        "first_date",
        "type_settings",
        "nation",
        "move_on_bank_holiday",
        "calendar_token",
        "created_at",
    ),
    "membership": ("id", "conference_id", "agency_id", "tier"),
    "user": (
        "id",
        "email",
        "name",
        "agency_id",
        "role",
        "totp_confirmed",
        "totp_last_step",
        "active",
        "demo",
        "created_at",
    ),
    "user_conference": ("user_id", "conference_id"),
    "meeting": (
        "id",
        "conference_id",
        "slot_date",
        "date",
        "cut_off",
        "kind",
        "status",
        "published_at",
        "held_at",
        "any_other_business",
        "created_at",
    ),
    "person": ("id", "conference_id", "names", "date_of_birth", "postcode", "created_at"),
    "person_key": ("conference_id", "person_id", "key", "key_version"),
    "referral": (
        "id",
        "conference_id",
        "referring_agency_id",
        "referrer_id",
        "received_at",
        "criteria_claimed",
        "criteria_met",
        "risk",
        "judgement_reason",
        "victim",
        "victim_person_id",
        "strands",
        "incident_kind",
        "incidents",
        "incidents_in_window",
        "summary",
        "consent",
        "is_repeat",
        "previous_referral_id",
        "monitoring_only",
        "status",
        "expected_meeting_id",
        "meeting_id",
        "decided_by",
        "decided_at",
        "created_at",
    ),
    "referral_person": (
        "id",
        "referral_id",
        "person_id",
        "role",
        "name",
        "aliases",
        "date_of_birth",
        "relationship",
        "position",
    ),
    "agenda_item": (
        "id",
        "meeting_id",
        "referral_id",
        "number",
        "section",
        "position",
        "state",
        "added_manually",
        "outcome",
        "created_at",
    ),
    "action": (
        "id",
        "item_id",
        "meeting_id",
        "conference_id",
        "owner_agency_id",
        "description",
        "due_date",
        "status",
        "version",
        "created_by",
        "created_at",
        "updated_at",
        "end_reviewed_meeting_id",
    ),
    "action_update": ("action_id", "status", "text", "version", "user_id", "agency_id", "at"),
}


def counts(scale: float) -> dict[str, int]:
    return {name: max(int(value * scale), 1) for name, value in NATIONAL.items()}


def new_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, clock(hour), UTC)


# --- the directory -------------------------------------------------------------------------------


@dataclass
class ConferencePlan:
    index: int
    id: str
    type: str
    members: dict[str, str]  # kind -> agency id
    referrers: dict[str, str]  # agency id -> a user of that agency
    coordinator_id: str
    chair_id: str


def directory(n: dict[str, int], seed: int = 9) -> tuple[list[ConferencePlan], dict[str, list[tuple]]]:
    """Agencies, conferences, memberships and users. Each conference has one agency of each
    kind, taken from the agencies of its region, so an agency sits on about four conferences."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    agencies = [
        (new_id(rng), f"Bench {MEMBER_KINDS[i % len(MEMBER_KINDS)]} {i}", MEMBER_KINDS[i % len(MEMBER_KINDS)], now)
        for i in range(n["agencies"])
    ]
    per_kind = max(len(agencies) // len(MEMBER_KINDS), 1)
    rows: dict[str, list[tuple]] = {t: [] for t in ("agency", "conference", "membership", "user", "user_conference")}
    rows["agency"] = agencies
    settings = {t: frozen_type(t) for t in ("domestic-abuse", "hate-crime")}
    agency_conferences: dict[str, list[str]] = {}
    plans = []
    for c in range(n["conferences"]):
        kind = "hate-crime" if rng.random() < HATE_SHARE else "domestic-abuse"
        cid = new_id(rng)
        region = c * per_kind // n["conferences"]
        members = {
            k: agencies[min(i + len(MEMBER_KINDS) * region, len(agencies) - 1)][0] for i, k in enumerate(MEMBER_KINDS)
        }
        rows["conference"].append(
            (
                cid,
                f"Bench {kind} {c}",
                f"bench-{c}",
                kind,
                "tuesday",
                "10:00",
                date(2021, 1, 5),
                json.dumps(settings[kind]),
                "england_wales",
                True,
                new_id(rng),
                now,
            )
        )
        for k, agency_id in members.items():
            rows["membership"].append(
                (new_id(rng), cid, agency_id, "actions_only" if k in ("fire", "education") else "full")
            )
            agency_conferences.setdefault(agency_id, []).append(cid)
        coordinator, chair = new_id(rng), new_id(rng)
        rows["user"] += [
            (
                coordinator,
                f"coordinator-{c}@bench.example",
                f"Coordinator {c}",
                members["local_authority"],
                "coordinator",
                False,
                0,
                True,
                False,
                now,
            ),
            (chair, f"chair-{c}@bench.example", f"Chair {c}", members["police"], "chair", False, 0, True, False, now),
        ]
        rows["user_conference"] += [(coordinator, cid), (chair, cid)]
        plans.append(ConferencePlan(c, cid, kind, members, {}, coordinator, chair))
    # Members: the rest of the users, spread over the agencies that sit on a conference.
    seated = [a for a in agencies if a[0] in agency_conferences]
    first_user: dict[str, str] = {}
    for u in range(max(n["users"] - 2 * n["conferences"], 0)):
        agency_id = seated[u % len(seated)][0]
        uid = new_id(rng)
        first_user.setdefault(agency_id, uid)
        rows["user"].append(
            (uid, f"member-{u}@bench.example", f"Member {u}", agency_id, "member", False, 0, True, False, now)
        )
        rows["user_conference"] += [(uid, cid) for cid in agency_conferences[agency_id]]
    for plan in plans:
        plan.referrers = {a: first_user.get(a, plan.coordinator_id) for a in plan.members.values()}
    return plans, rows


# --- one conference's five years ------------------------------------------------------------------


@dataclass
class Someone:
    person_id: str
    facts: names.PersonFacts


@dataclass
class Victim(Someone):
    last_referral: str = ""
    last_date: date = date.min
    perpetrators: list[Someone] = field(default_factory=list)
    children: list[Someone] = field(default_factory=list)


def made_up(rng: random.Random, parts: int) -> str:
    word = "".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(parts))
    return (word + rng.choice(ENDINGS)).capitalize()


def facts(rng: random.Random, born_after: int, born_before: int) -> names.PersonFacts:
    given = rng.choices(GIVEN, GIVEN_W)[0] if rng.random() < 0.7 else made_up(rng, 1)
    surname = rng.choices(SURNAMES, SURNAME_W)[0] if rng.random() < 0.25 else made_up(rng, rng.randint(1, 2))
    extra = (f"{rng.choices(GIVEN, GIVEN_W)[0]} {surname}",) if rng.random() < 0.15 else ()  # an alias
    start = date(born_after, 1, 1)
    dob = start + timedelta(days=rng.randrange((born_before - born_after) * 365)) if rng.random() < 0.9 else None
    postcode = (
        (
            f"{rng.choice(AREAS)}{rng.randint(1, 30)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
            f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
        )
        if rng.random() < 0.8
        else None
    )
    return names.PersonFacts(names=(f"{given} {surname}", *extra), date_of_birth=dob, postcode=postcode)


def variant(rng: random.Random, name: str) -> str:
    """The same name as a later referral types it."""
    choice = rng.random()
    given, _, surname = name.partition(" ")
    if choice < 0.25:
        return name.upper()
    if choice < 0.5:
        return f"{surname}, {given}"
    if choice < 0.6 and len(surname) > 4:
        cut = rng.randrange(1, len(surname) - 1)
        return f"{given} {surname[:cut]}{surname[cut + 1 :]}"
    return name


def swapped(rng: random.Random, dob: date | None) -> date | None:
    if dob and dob.day <= 12 and dob.day != dob.month and rng.random() < 0.1:
        return date(dob.year, dob.day, dob.month)
    return dob


class Rows:
    """Row tuples of one batch of conferences, sealed as the models write them."""

    def __init__(self) -> None:
        self.tables: dict[str, list[tuple]] = {t: [] for t in COLUMNS}

    def person(
        self, rng: random.Random, conference_id: str, someone_facts: names.PersonFacts, now: datetime
    ) -> Someone:
        pid = new_id(rng)
        postcode = names.normalise_postcode(someone_facts.postcode)
        dob = someone_facts.date_of_birth
        self.tables["person"].append(
            (
                pid,
                conference_id,
                seal("person", "names", pid, json.dumps(list(someone_facts.names), separators=(",", ":"))),
                dob and seal("person", "date_of_birth", pid, dob.isoformat()),
                postcode and seal("person", "postcode", pid, postcode),
                now,
            )
        )
        version = people.index_version()
        self.tables["person_key"] += [(conference_id, pid, key, version) for key in people.index_keys(someone_facts)]
        return Someone(pid, someone_facts)

    def named(
        self,
        rng: random.Random,
        referral_id: str,
        someone: Someone,
        role: str,
        position: int,
        typed: str,
        dob: date | None,
        relationship: str | None,
    ) -> None:
        rid = new_id(rng)
        self.tables["referral_person"].append(
            (
                rid,
                referral_id,
                someone.person_id,
                role,
                seal("referral_person", "name", rid, typed),
                seal("referral_person", "aliases", rid, "[]"),
                dob and seal("referral_person", "date_of_birth", rid, dob.isoformat()),
                relationship and seal("referral_person", "relationship", rid, relationship),
                position,
            )
        )


def meeting_dates(n_meetings: int, today: date) -> list[date]:
    """Every three weeks, on Tuesdays, the last two still to come."""
    spacing = 7 * max(round(YEARS * 365 / n_meetings / 7), 1)
    upcoming = today + timedelta(days=(1 - today.weekday()) % 7 or 7)
    return [upcoming - timedelta(days=spacing * (n_meetings - 2 - k)) for k in range(n_meetings)]


def conference(plan: ConferencePlan, n: dict[str, int], today: date, rows: Rows) -> None:
    rng = random.Random(1000 + plan.index)
    now = datetime.now(UTC)
    per = n["conferences"]
    n_meetings, n_referrals, n_actions = n["meetings"] // per, n["referrals"] // per, n["actions"] // per
    hate = plan.type == "hate-crime"
    member_ids = list(plan.members.values())
    referring = [plan.members["police"]] * 6 + [plan.members["idva"]] * 2 + member_ids

    meetings = []
    for day in meeting_dates(n_meetings, today):
        mid, past = new_id(rng), day < today
        meetings.append((mid, day, day - timedelta(days=CUT_OFF_DAYS)))
        rows.tables["meeting"].append(
            (
                mid,
                plan.id,
                day,
                day,
                day - timedelta(days=CUT_OFF_DAYS),
                "scheduled",
                "held" if past else "scheduled",
                at(day - timedelta(days=5)) if past else None,
                at(day, 13) if past else None,
                "",
                now,
            )
        )
    cut_offs = [m[2] for m in meetings]

    first = cut_offs[0] - timedelta(days=21)
    received = sorted(first + timedelta(days=rng.randrange((today - first).days)) for _ in range(n_referrals))
    history: list[tuple[date, Victim]] = []
    history_dates: list[date] = []
    heard: list[tuple[str, int, date]] = []  # agenda item id, meeting index, meeting date
    numbers: dict[int, int] = {}
    for day in received:
        rid = new_id(rng)
        m = bisect.bisect_left(cut_offs, day)  # the first meeting whose cut-off the date meets
        meeting_id, meeting_day = (meetings[m][0], meetings[m][1]) if m < len(meetings) else (None, None)
        window = bisect.bisect_left(history_dates, day - timedelta(days=365))
        repeat = window < len(history) and rng.random() < REPEAT_RATE
        if repeat:
            victim = history[rng.randrange(window, len(history))][1]
            if victim.last_date < day - timedelta(days=365):
                repeat = False
        if not repeat:
            victim_facts = facts(rng, 1950, 2006)
            victim = Victim(**vars(rows.person(rng, plan.id, victim_facts, now)))
            if not hate or rng.random() < 0.5:
                victim.perpetrators = [
                    rows.person(rng, plan.id, facts(rng, 1950, 2006), now)
                    for _ in range(2 if rng.random() < 0.1 else 1)
                ]
            if not hate:
                victim.children = [
                    rows.person(rng, plan.id, facts(rng, 2008, 2025), now)
                    for _ in range(rng.choice((0, 0, 1, 1, 2, 3)))
                ]
        elif rng.random() < 0.2:  # a new perpetrator this time
            victim.perpetrators = [rows.person(rng, plan.id, facts(rng, 1950, 2006), now)]
        previous = victim.last_referral if repeat else None
        victim.last_referral, victim.last_date = rid, day
        history.append((day, victim))
        history_dates.append(day)

        if meeting_day is not None and meeting_day < today:
            status = (
                "monitoring_only" if hate and rng.random() < 0.1 else "rejected" if rng.random() < 0.05 else "heard"
            )
        else:
            status = "accepted" if day <= today - timedelta(days=2) or rng.random() < 0.5 else "received"
        criteria = ["visible_high_risk"] + (["repeat"] if repeat else [])
        judgement = None
        if rng.random() < 0.1:
            criteria, judgement = ["professional_judgement"], "Escalating controlling behaviour reported by the school"
        strands = (
            (rng.sample(STRANDS, rng.choice((2, 2, 3))) if rng.random() < MULTI_STRAND else [rng.choice(STRANDS)])
            if hate
            else []
        )
        risk = (
            {"instrument": "hate-crime", "level": rng.choice(("high", "high", "medium"))}
            if hate
            else {"instrument": "dash", "score": rng.randint(14, 24)}
        )
        victim_json = {
            "name": variant(rng, victim.facts.names[0]),
            "aliases": list(victim.facts.names[1:]),
            "date_of_birth": victim.facts.date_of_birth and victim.facts.date_of_birth.isoformat(),
            "gender": rng.choice(("female", "female", "female", "male")),
            "address": None,
        }
        referring_agency = rng.choice(referring)
        on_agenda = status == "heard"
        rows.tables["referral"].append(
            (
                rid,
                plan.id,
                referring_agency,
                plan.referrers[referring_agency],
                day,
                json.dumps(criteria),
                json.dumps(criteria),
                json.dumps(risk),
                judgement and seal("referral", "judgement_reason", rid, judgement),
                seal("referral", "victim", rid, json.dumps(victim_json, separators=(",", ":"))),
                victim.person_id,
                json.dumps(strands),
                "crime" if hate else None,
                "[]",
                0,
                seal(
                    "referral",
                    "summary",
                    rid,
                    f"Referral {rid[:6]}: incident reported on {day.isoformat()}, risk assessed, "
                    "children in the household, previous incidents not reported to police.",
                ),
                json.dumps({"victim_aware": True, "consented": status != "monitoring_only"}),
                repeat,
                previous,
                status == "monitoring_only",
                status,
                meeting_id,
                meeting_id if on_agenda else None,
                plan.coordinator_id if status != "received" else None,
                at(day, 15) if status != "received" else None,
                at(day),
            )
        )
        rows.named(rng, rid, victim, "victim", 0, victim_json["name"], swapped(rng, victim.facts.date_of_birth), None)
        for i, p in enumerate(victim.perpetrators):
            rows.named(
                rng,
                rid,
                p,
                "perpetrator",
                i,
                variant(rng, p.facts.names[0]) if repeat else p.facts.names[0],
                p.facts.date_of_birth,
                rng.choice(RELATIONSHIPS),
            )
        for i, child in enumerate(victim.children):
            rows.named(rng, rid, child, "child", i, child.facts.names[0], child.facts.date_of_birth, "child")
        if on_agenda:
            numbers[m] = numbers.get(m, 0) + 1
            item = new_id(rng)
            rows.tables["agenda_item"].append(
                (
                    item,
                    meeting_id,
                    rid,
                    numbers[m],
                    ("repeat_cases" if repeat else "new_cases") if hate else "cases",
                    numbers[m],
                    "listed",
                    False,
                    "heard",
                    at(meeting_day - timedelta(days=5)),
                )
            )
            heard.append((item, m, meeting_day))

    if not heard:
        return
    # Every heard case gets an action; the rest fall on cases at random (three to eight a case).
    owners = [a for k, a in plan.members.items() if k not in ("fire",)]
    share = list(heard) + rng.choices(heard, k=max(n_actions - len(heard), 0))
    for item, m, day in share[:n_actions]:
        aid = new_id(rng)
        due = day + timedelta(days=14)
        age = (today - due).days
        if age > 90:
            status = rng.choices(
                ("done", "not_possible_changed_circumstances", "not_done_by_agency", "in_progress", "open"),
                (85, 7, 7.5, 0.25, 0.25),
            )[0]  # reviewed at later meetings: few stay open
        elif age > 0:
            status = rng.choices(("open", "in_progress", "done"), (35, 25, 40))[0]
        else:
            status = rng.choices(("open", "in_progress", "done"), (70, 20, 10))[0]
        steps = ["open"] + (
            []
            if status == "open"
            else (["in_progress"] if status != "in_progress" and rng.random() < 0.5 else []) + [status]
        )
        owner = rng.choice(owners)
        # An action closed as not possible or not done is reviewed once, at a later meeting, and leaves the
        # outstanding list (docs/domain.md#outstanding-actions); the old ones have had that meeting.
        undone_reviewed = status in UNDONE and age > 90 and m + 3 < len(meetings)
        rows.tables["action"].append(
            (
                aid,
                item,
                meetings[m][0],
                plan.id,
                owner,
                seal("action", "description", aid, rng.choice(ACTION_TEXTS)),
                due,
                status,
                len(steps),
                plan.coordinator_id,
                at(day, 11),
                at(day + timedelta(days=7 * (len(steps) - 1)), 11),
                meetings[m + 3][0] if undone_reviewed else None,
            )
        )
        for version, step in enumerate(steps, start=1):
            text = "Agreed at the meeting" if version == 1 else "Update from the owner agency"
            who = plan.coordinator_id if version == 1 else plan.referrers[owner]
            rows.tables["action_update"].append(
                (
                    aid,
                    step,
                    text,
                    version,
                    who,
                    owner if version > 1 else plan.members["local_authority"],
                    at(day + timedelta(days=7 * (version - 1)), 11),
                )
            )


# --- loading ---------------------------------------------------------------------------------------


async def copy(conn: asyncpg.Connection, tables: dict[str, list[tuple]]) -> None:
    # Parents before children: the foreign keys are checked as rows arrive.
    for table in TABLES:
        if tables.get(table):
            await conn.copy_records_to_table(table, records=tables[table], columns=COLUMNS[table])


def asyncpg_url(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


async def load_conferences(url: str, plans: list[ConferencePlan], n: dict[str, int], today: date) -> dict[str, int]:
    conn = await asyncpg.connect(asyncpg_url(url))
    totals: dict[str, int] = {}
    try:
        for start in range(0, len(plans), 5):  # a few conferences a COPY: fewer round trips, bounded memory
            rows = Rows()
            for plan in plans[start : start + 5]:
                conference(plan, n, today, rows)
            await copy(conn, rows.tables)
            for table, records in rows.tables.items():
                totals[table] = totals.get(table, 0) + len(records)
    finally:
        await conn.close()
    return totals


def _worker(args: tuple) -> dict[str, int]:
    return asyncio.run(load_conferences(*args))


async def generated(url: str, n: dict[str, int]) -> bool:
    """Whether this database already holds a generated set of this size (then it is reused)."""
    conn = await asyncpg.connect(asyncpg_url(url))
    try:
        found = await conn.fetchval("SELECT count(*) FROM conference WHERE slug LIKE 'bench-%'")
        referrals = await conn.fetchval("SELECT count(*) FROM referral")
    finally:
        await conn.close()
    return found == n["conferences"] and referrals >= n["referrals"] * 0.95


async def generate(url: str, scale: float, workers: int | None = None) -> dict[str, int]:
    """Fill an empty, migrated database; returns rows per table."""
    n = counts(scale)
    today = date.today()
    plans, directory_rows = directory(n)
    conn = await asyncpg.connect(asyncpg_url(url))
    try:
        await copy(conn, directory_rows)
    finally:
        await conn.close()
    workers = workers or min(os.cpu_count() or 1, 4)
    chunks = [(url, plans[w::workers], n, today) for w in range(workers)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        results = pool.map(_worker, chunks)
    totals = {t: len(r) for t, r in directory_rows.items()}
    for result in results:
        for table, count in result.items():
            totals[table] = totals.get(table, 0) + count
    conn = await asyncpg.connect(asyncpg_url(url))
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return totals


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = national, 0.1 = a tenth")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    url = os.environ["MARAC_DATABASE_URL"]
    assert url.startswith("postgres"), "the benchmarks are for PostgreSQL"
    await db.migrate()
    if await generated(url, counts(args.scale)):
        print(f"scale {args.scale}: already generated, reused")
        return
    started = time.perf_counter()
    totals = await generate(url, args.scale, args.workers)
    print(
        f"scale {args.scale}: generated in {time.perf_counter() - started:.0f} s: "
        + ", ".join(f"{table} {count:,}" for table, count in totals.items())
    )


if __name__ == "__main__":
    asyncio.run(main())
