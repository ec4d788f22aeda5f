"""Benchmark: building one meeting's agenda at national scale (docs/benchmarks.md#agenda-build).

Target: p50 ≤ 50 ms on PostgreSQL, and no more than 1.5× slower with ten times the
history. History is heard referrals of past meetings across many conferences (national:
~290 conferences, ~110,000 cases a year, 5 years). The measured meeting has a realistic
pipeline of accepted referrals waiting; each build starts from an empty agenda so it does
the full work (select, rank, write ~16 cases). Baseline in the same run: one primary-key
query through the same ORM.

Run with bench/run; HISTORY=55000 sets the base history (ten times that follows).
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
from marac.meetings import agenda, schedule
from marac.meetings.models import AgendaItem, Meeting
from marac.sealed import seal

HISTORY = int(os.environ.get("HISTORY", "55000"))
CONFERENCES = 290
PENDING = 20
RUNS = 40
rng = random.Random(4)


async def make_conference(n: int) -> Conference:
    conference = await Conference.create(
        name=f"Bench {n}",
        slug=f"bench-{n}-{uuid.uuid4().hex[:4]}",
        type="domestic-abuse",
        weekday="tuesday",
        start_time="10:00",
        first_date=date(2021, 1, 5),
        type_settings=frozen_type("domestic-abuse"),
    )
    return conference


async def copy(conn: asyncpg.Connection, people: list[tuple], referrals: list[tuple]) -> None:
    # Sealed as the service stores them, so the build pays for opening them as it would.
    people = [(p[0], p[1], seal("person", "names", p[0], p[2]), *p[3:]) for p in people]
    referrals = [
        (*r[:8], seal("referral", "victim", r[0], r[8]), *r[9:13], seal("referral", "summary", r[0], r[13]), *r[14:])
        for r in referrals
    ]
    await conn.copy_records_to_table(
        "person", records=people, columns=["id", "conference_id", "names", "date_of_birth", "postcode", "created_at"]
    )
    await conn.copy_records_to_table(
        "referral",
        records=referrals,
        columns=[
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
            "created_at",
        ],
    )


async def add_history(
    conn: asyncpg.Connection, conferences: list[Conference], count: int, agency: Agency, user: User
) -> None:
    """`count` heard referrals spread over the conferences and the last five years."""
    people, referrals = [], []
    now = datetime.now(UTC)
    for _ in range(count):
        conference = rng.choice(conferences)
        pid, rid = uuid.uuid4().hex, uuid.uuid4().hex
        received = date(2021, 1, 1) + timedelta(days=rng.randrange(5 * 365 - 30))
        people.append((pid, conference.id, json.dumps(["Someone Heard"]), None, None, now))
        referrals.append(
            (
                rid,
                conference.id,
                agency.id,
                user.id,
                received,
                "[]",
                '["visible_high_risk"]',
                json.dumps({"instrument": "dash", "score": rng.randint(14, 24)}),
                "{}",
                pid,
                "[]",
                "[]",
                0,
                "history",
                "{}",
                False,
                False,
                "heard",
                now,
            )
        )
    await copy(conn, people, referrals)
    await conn.execute("ANALYZE referral; ANALYZE person")


async def add_pending(
    conn: asyncpg.Connection, conference: Conference, meeting: Meeting, agency: Agency, user: User
) -> None:
    people, referrals = [], []
    now = datetime.now(UTC)
    for n in range(PENDING):
        pid, rid = uuid.uuid4().hex, uuid.uuid4().hex
        people.append((pid, conference.id, json.dumps([f"Waiting {n}"]), None, None, now))
        referrals.append(
            (
                rid,
                conference.id,
                agency.id,
                user.id,
                meeting.cut_off - timedelta(days=rng.randint(0, 12)),
                "[]",
                '["visible_high_risk"]',
                json.dumps({"instrument": "dash", "score": rng.randint(14, 24)}),
                "{}",
                pid,
                "[]",
                "[]",
                0,
                "waiting",
                "{}",
                rng.random() < 0.3,
                False,
                "accepted",
                now,
            )
        )
    await copy(conn, people, referrals)


async def measure(meeting: Meeting) -> tuple[list[float], list[float]]:
    builds, baseline = [], []
    for run in range(RUNS + 5):
        await AgendaItem.filter(meeting=meeting).delete()
        t = time.perf_counter()
        await Meeting.get(id=meeting.id)
        base = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        await agenda.build(meeting)
        took = (time.perf_counter() - t) * 1000
        if run >= 5:  # warm-up
            builds.append(took)
            baseline.append(base)
    return builds, baseline


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(int(len(ordered) * q) - 1, 0)]


async def main() -> None:
    url = os.environ["MARAC_DATABASE_URL"]
    assert url.startswith("postgres"), "this benchmark is for PostgreSQL"
    await db.migrate()
    await db.init()
    agency = await Agency.create(name=f"Bench agency {uuid.uuid4().hex[:6]}", kind="police")
    user = await User.create(
        email=f"bench-{uuid.uuid4().hex[:6]}@example.org", name="Bench", agency=agency, role="coordinator"
    )
    conferences = [await make_conference(n) for n in range(CONFERENCES)]
    target = conferences[0]
    meeting = (await schedule.upcoming(target, date(2026, 11, 1), 1))[0]
    meeting = await Meeting.get(id=meeting.id).prefetch_related("conference")
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    await add_pending(conn, target, meeting, agency, user)
    rows = []
    loaded = 0
    for history in (HISTORY, HISTORY * 10):
        t = time.perf_counter()
        await add_history(conn, conferences, history - loaded, agency, user)
        loaded = history
        print(
            f"history: {history:,} heard referrals over {CONFERENCES} conferences "
            f"(loaded in {time.perf_counter() - t:.0f} s)"
        )
        builds, baseline = await measure(meeting)
        rows.append((history, statistics.median(baseline), statistics.median(builds), p(builds, 0.95)))
    items = await AgendaItem.filter(meeting=meeting, state="listed").count()
    print(
        f"\nBuilding one meeting's agenda ({PENDING} referrals waiting, capacity 20, {items} listed; "
        f"PostgreSQL, {RUNS} builds)\n"
    )
    print(
        f"| {'history (heard referrals)':>26} | {'baseline p50 ms':>15} | {'build p50 ms':>12} "
        f"| {'build p95 ms':>12} | {'p50 / baseline':>14} |"
    )
    print(f"|{'-' * 28}|{'-' * 17}|{'-' * 14}|{'-' * 14}|{'-' * 16}|")
    for history, base, b50, b95 in rows:
        print(f"| {history:>26,} | {base:15.2f} | {b50:12.2f} | {b95:12.2f} | {b50 / base:14.1f} |")
    ratio = rows[1][2] / rows[0][2]
    print(
        f"\nten times the history: {ratio:.2f}× the build time (target ≤ 1.5×); p50 target ≤ 50 ms: "
        f"{'met' if rows[1][2] <= 50 and ratio <= 1.5 else 'NOT met'}"
    )
    plan = await conn.fetch(
        "EXPLAIN ANALYZE SELECT r.id FROM referral r LEFT JOIN meeting m ON m.id = r.meeting_id "
        "WHERE r.conference_id = $1 AND r.status = 'accepted' AND r.received_at <= $2 "
        "AND (r.meeting_id IS NULL OR r.meeting_id = $3 OR m.date > $4 OR m.status = 'cancelled')",
        target.id,
        meeting.cut_off,
        meeting.id,
        meeting.date,
    )
    print("\nEXPLAIN ANALYZE (the referrals waiting for this meeting):")
    for row in plan:
        print("   " + row[0])
    await conn.close()
    await db.close()


if __name__ == "__main__":
    asyncio.run(main())
