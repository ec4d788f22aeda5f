"""Benchmark: one conference's quarterly report at national scale (docs/benchmarks.md#quarterly-report).

Target: ≤ 500 ms on PostgreSQL. The measured conference has five years at the national
average (~1,900 referrals heard at 130 fortnightly meetings, ~5,700 people named, ~9,500
actions with their history); OTHERS conferences of the same size sit beside it, so a query
that is not confined to one conference by an index reads every other conference's rows and
shows it. Baseline in the same run: one primary-key query through the same ORM.

The measured conference's sealed columns are sealed as the service seals them, so the report
pays for opening them. The other conferences' sealed columns hold a token that opens nowhere:
a report that loaded one of their rows would fail, not just slow down.

Run with bench/run; OTHERS=N sets how many other conferences (default 40).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg

from marac import db
from marac.agencies.models import Agency, Conference, User
from marac.agencies.service import frozen_type
from marac.meetings.models import Meeting
from marac.reports import export
from marac.reports.figures import Quarter, quarterly
from marac.sealed import seal

OTHERS = int(os.environ.get("OTHERS", "40"))
MEETINGS = 130
REFERRALS = 1900
ACTIONS_PER_REFERRAL = 5
RUNS = 40
QUARTER = Quarter(2024, 2)
TODAY = date(2026, 1, 1)
NOWHERE = "v1:1:" + "A" * 40  # shaped like a sealed token; opens under no row
KINDS = ("police", "idva", "health", "childrens_social_care", "housing", "probation")
rng = random.Random(8)


def rows_for(conference_id: str, agencies: list[str], user_id: str, sealed: bool) -> dict[str, list[tuple]]:
    """Five years of one conference: meetings, referrals heard at them, people, agenda items, actions."""

    def lock(table: str, column: str, row_id: str, value: object) -> str:
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        return seal(table, column, row_id, text) if sealed else NOWHERE

    now = datetime.now(UTC)
    out: dict[str, list[tuple]] = {
        k: [] for k in ("meeting", "person", "referral", "referral_person", "agenda_item", "action", "action_update")
    }
    first = date(2021, 1, 5)
    meetings = []
    for n in range(MEETINGS):
        day = first + timedelta(days=14 * n)
        mid = uuid.uuid4().hex
        meetings.append((mid, day))
        out["meeting"].append((mid, conference_id, day, day, day - timedelta(days=7), "scheduled", "held", "", now))
    per_meeting = REFERRALS / MEETINGS
    for number in range(REFERRALS):
        mid, day = meetings[min(int(number / per_meeting), MEETINGS - 1)]
        rid, victim = uuid.uuid4().hex, uuid.uuid4().hex
        received = day - timedelta(days=rng.randint(8, 30))
        monitoring = {
            "racially_minoritised": rng.random() < 0.15,
            "lgbt": rng.random() < 0.05,
            "disabled": rng.random() < 0.1,
        }
        victim_section = {
            "name": "Bench victim",
            "gender": "male" if rng.random() < 0.05 else "female",
            "monitoring": monitoring,
        }
        named = [("victim", victim, date(1990, 1, 1))]
        named += [("perpetrator", uuid.uuid4().hex, date(1985, 1, 1) if rng.random() < 0.95 else date(2008, 6, 1))]
        named += [("child", uuid.uuid4().hex, date(2018, 1, 1)) for _ in range(rng.choice([0, 1, 1, 2]))]
        for role, pid, born in named:
            out["person"].append((pid, conference_id, lock("person", "names", pid, ["Bench person"]), now))
            rpid = uuid.uuid4().hex
            out["referral_person"].append(
                (
                    rpid,
                    rid,
                    pid,
                    role,
                    lock("referral_person", "name", rpid, "Bench person"),
                    lock("referral_person", "aliases", rpid, []),
                    lock("referral_person", "date_of_birth", rpid, born.isoformat()),
                    0,
                )
            )
        out["referral"].append(
            (
                rid,
                conference_id,
                rng.choice(agencies),
                user_id,
                received,
                "[]",
                '["visible_high_risk"]',
                json.dumps({"instrument": "dash", "score": rng.randint(14, 24)}),
                lock("referral", "victim", rid, victim_section),
                victim,
                "[]",
                "[]",
                0,
                lock("referral", "summary", rid, "Bench summary"),
                "{}",
                rng.random() < 0.3,
                False,
                "heard",
                mid,
                now,
            )
        )
        item = uuid.uuid4().hex
        out["agenda_item"].append((item, mid, rid, number, "new_cases", number, "listed", False, "heard", now))
        for _ in range(ACTIONS_PER_REFERRAL):
            aid = uuid.uuid4().hex
            due = day + timedelta(days=14)
            status = rng.choice(
                ["done", "done", "done", "open", "not_possible_changed_circumstances", "not_done_by_agency"]
            )
            out["action"].append(
                (
                    aid,
                    item,
                    mid,
                    conference_id,
                    rng.choice(agencies),
                    lock("action", "description", aid, "Bench action"),
                    due,
                    status,
                    2,
                    user_id,
                    now,
                    now,
                )
            )
            if status == "done":
                done = datetime.combine(due + timedelta(days=rng.randint(-10, 5)), datetime.min.time(), tzinfo=UTC)
                out["action_update"].append((aid, status, "", 2, user_id, rng.choice(agencies), done))
    return out


COLUMNS = {
    "meeting": [
        "id",
        "conference_id",
        "slot_date",
        "date",
        "cut_off",
        "kind",
        "status",
        "any_other_business",
        "created_at",
    ],
    "person": ["id", "conference_id", "names", "created_at"],
    "referral": [
        "id",
        "conference_id",
        "referring_agency_id",
        "referrer_id",
        "received_at",
        "criteria_claimed",
        "criteria_met",
        "risk",
        "victim",
        "victim_person_id",
        "strands",
        "incidents",
        "incidents_in_window",
        "summary",
        "consent",
        "is_repeat",
        "monitoring_only",
        "status",
        "meeting_id",
        "created_at",
    ],
    "referral_person": ["id", "referral_id", "person_id", "role", "name", "aliases", "date_of_birth", "position"],
    "agenda_item": [
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
    ],
    "action": [
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
    ],
    "action_update": ["action_id", "status", "text", "version", "user_id", "agency_id", "at"],
}


async def load(conn: asyncpg.Connection, rows: dict[str, list[tuple]]) -> None:
    for table in COLUMNS:  # parents first
        await conn.copy_records_to_table(table, records=rows[table], columns=COLUMNS[table])


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(int(len(ordered) * q) - 1, 0)]


async def main() -> None:
    url = os.environ["MARAC_DATABASE_URL"]
    assert url.startswith("postgres"), "this benchmark is for PostgreSQL"
    await db.migrate()
    await db.init()
    tag = uuid.uuid4().hex[:6]
    agencies = [(await Agency.create(name=f"Bench {kind} {tag}", kind=kind)).id for kind in KINDS]
    user = await User.create(
        email=f"bench-report-{tag}@example.org", name="Bench", agency_id=agencies[0], role="coordinator"
    )
    conferences = [
        await Conference.create(
            name=f"Bench report {n}",
            slug=f"bench-report-{n}-{tag}",
            type="domestic-abuse",
            weekday="tuesday",
            start_time="10:00",
            first_date=date(2021, 1, 5),
            type_settings=frozen_type("domestic-abuse"),
            adult_female_population=150_000,
        )
        for n in range(OTHERS + 1)
    ]
    target = conferences[0]
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    t = time.perf_counter()
    for n, conference in enumerate(conferences):
        await load(conn, rows_for(conference.id, agencies, user.id, sealed=n == 0))
    await conn.execute("ANALYZE")
    counts = {
        table: await conn.fetchval(f'SELECT count(*) FROM "{table}"')
        for table in ("referral", "referral_person", "action", "action_update")
    }
    print(
        f"loaded {OTHERS + 1} conferences in {time.perf_counter() - t:.0f} s: "
        + ", ".join(f"{table} {count:,}" for table, count in counts.items())
    )

    reports, baseline = [], []
    meeting = await Meeting.filter(conference_id=target.id).first()
    for run in range(RUNS + 5):
        t = time.perf_counter()
        await Meeting.get(id=meeting.id)
        base = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        figures = await quarterly(target, QUARTER, TODAY)
        export.to_csv(figures)
        took = (time.perf_counter() - t) * 1000
        if run >= 5:  # warm-up
            reports.append(took)
            baseline.append(base)
    cases, actions = figures["cases"]["heard"], figures["actions_total"]["total"]
    print(
        f"\nOne conference's quarterly report ({QUARTER}: {len(figures['meetings'])} meetings, "
        f"{cases} cases, {actions} actions; "
        f"figures and CSV; PostgreSQL, {RUNS} runs)\n"
    )
    print(
        f"| {'other conferences':>17} | {'baseline p50 ms':>15} | {'report p50 ms':>13} "
        f"| {'report p95 ms':>13} | {'p50 / baseline':>14} |"
    )
    print(f"|{'-' * 19}|{'-' * 17}|{'-' * 15}|{'-' * 15}|{'-' * 16}|")
    b50, r50, r95 = statistics.median(baseline), statistics.median(reports), p(reports, 0.95)
    print(f"| {OTHERS:>17} | {b50:15.2f} | {r50:13.2f} | {r95:13.2f} | {r50 / b50:14.1f} |")
    print(f"\ntarget ≤ 500 ms: {'met' if r95 <= 500 else 'NOT met'} (p95)")
    ids = await conn.fetch("SELECT id FROM referral WHERE conference_id = $1 LIMIT 100", target.id)
    for title, sql, args in (
        (
            "the people of the quarter's referrals",
            "SELECT * FROM referral_person WHERE referral_id = ANY($1::varchar[])",
            [[r["id"] for r in ids]],
        ),
        (
            "the actions of the quarter's meetings",
            "SELECT id, owner_agency_id, status, due_date FROM action WHERE meeting_id = $1",
            [meeting.id],
        ),
    ):
        print(f"\nEXPLAIN ANALYZE ({title}):")
        for row in await conn.fetch(f"EXPLAIN ANALYZE {sql}", *args):
            print("   " + row[0][:160])
    await conn.close()
    await db.close()


if __name__ == "__main__":
    asyncio.run(main())
