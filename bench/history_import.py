"""Benchmark: loading a 50,000-row history file (docs/benchmarks.md#history-import).

The file is generated here (never checked in), with the names of bench/match_referral.py (common
names far more often than rare ones, a long tail of made-up ones, 10 % without a date of birth):
70 % of rows name a new victim with a new perpetrator, 30 % a victim of an earlier row again,
typed as a later referral would type them (case, "Surname, Given", a swapped date), with the same
perpetrator, heard on a later date. The conference is new and its index empty, as on a MARAC's
first day; the file is then loaded through the use case the page and `marac import history` call
(history.start, history.run): every row checked, every person resolved against the index and
the file's earlier rows, people, blocking keys and cases written in one transaction, audited.

Baselines measured in the same run: reading the file with the csv module alone, and Tortoise's
bulk insert of as many plain rows (jobs) as the file has cases, the floor of any bulk write here.
Afterwards a variant of imported victims is looked for through people.candidates, as a later
referral would, to show the blocking keys were written.

Target: under 60 s for 50,000 rows on SQLite and on PostgreSQL. Run with bench/run (both), or
directly with MARAC_DATABASE_URL set (the database is migrated; the conference is left in it).
ROWS=N for another size.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import platform
import random
import time
import uuid
from datetime import date, timedelta

from bench import match_referral as names_of
from marac import db, settings
from marac.agencies import service as directory
from marac.jobs.models import Job
from marac.referrals import history, people
from marac.referrals.models import EarlierCase, PersonKey

ROWS = int(os.environ.get("ROWS", "50000"))
TARGET_S = 60.0
LAST = date(2026, 11, 30)  # no case is heard after it (the import refuses dates in the future)
rng = random.Random(20261206)


def history_file(rows: int) -> tuple[bytes, list[dict[str, str]]]:
    """The CSV and the victims it names (each row's victim and the date heard)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=history.COLUMNS)
    writer.writeheader()
    written: list[dict[str, str]] = []
    first = date(2019, 1, 1)
    for _ in range(rows):
        heard_on = first + timedelta(days=rng.randrange(7 * 365))
        if written and rng.random() < 0.3:
            earlier = rng.choice(written)
            facts = names_of.variant(names_of.names.PersonFacts((earlier["victim_name"],), _day(earlier), None))
            row = {
                **earlier,
                "victim_name": facts.names[0],
                "victim_date_of_birth": facts.date_of_birth.isoformat() if facts.date_of_birth else "",
                "heard_on": min(LAST, date.fromisoformat(earlier["heard_on"]) + timedelta(days=rng.randint(1, 700))),
            }
        else:
            victim, perpetrator = names_of.person(), names_of.person()
            row = {
                "victim_name": victim.names[0],
                "victim_date_of_birth": victim.date_of_birth.isoformat() if victim.date_of_birth else "",
                "perpetrator_name": perpetrator.names[0],
                "perpetrator_date_of_birth": perpetrator.date_of_birth.isoformat() if perpetrator.date_of_birth else "",
                "heard_on": heard_on.isoformat(),
            }
        # A case is heard after both were born.
        born = [row["victim_date_of_birth"], row["perpetrator_date_of_birth"]]
        latest = max((date.fromisoformat(b) for b in born if b), default=first)
        heard = date.fromisoformat(str(row["heard_on"]))
        row["heard_on"] = (min(latest + timedelta(days=16 * 365), LAST) if heard < latest else heard).isoformat()
        writer.writerow(row)
        written.append(row)
    return out.getvalue().encode(), written


def _day(row: dict[str, str]) -> date | None:
    return date.fromisoformat(row["victim_date_of_birth"]) if row["victim_date_of_birth"] else None


async def main() -> None:
    url = settings.get().database_url
    kind = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    await db.migrate()
    await db.init()
    slug = f"bench-history-{uuid.uuid4().hex[:6]}"
    conference = await directory.create_conference(
        None,
        name="Bench history",
        slug=slug,
        type="domestic-abuse",
        weekday="tuesday",
        start_time="10:00",
        first_date=date(2026, 1, 6),
        members=[],
    )
    started = time.perf_counter()
    content, rows = history_file(ROWS)
    generated = time.perf_counter() - started
    print(f"{kind}: a history file of {ROWS:,} rows, {len(content) / 1e6:.1f} MB (generated in {generated:.1f} s)")

    def clocks() -> tuple[float, float]:
        # Wall time, and the CPU time of this process (every thread: SQLite's included, not
        # PostgreSQL's server): the work itself, whatever else shares the cores.
        return time.perf_counter(), time.process_time()

    t = clocks()
    read = sum(1 for _ in csv.DictReader(io.StringIO(content.decode())))
    csv_s = (clocks()[0] - t[0], clocks()[1] - t[1])
    t = clocks()
    await Job.bulk_create([Job(name="bench") for _ in range(read)], batch_size=history.CHUNK)
    insert_s = (clocks()[0] - t[0], clocks()[1] - t[1])
    await Job.filter(name="bench").delete()

    phases: list[tuple[int, tuple[float, float]]] = []

    async def progress(percent: int) -> None:
        phases.append((percent, clocks()))

    started_at = clocks()
    upload = await history.start(None, conference, content)
    upload = await history.run(upload.id, progress)
    ended_at = clocks()
    total_s = (ended_at[0] - started_at[0], ended_at[1] - started_at[1])
    assert upload.status == "done", upload.problems[:5]
    mark = {p: at for p, at in reversed(phases)}  # the first time each percentage was reached

    def between(a: int, b: int | None) -> tuple[float, float]:
        end = mark[b] if b is not None else ended_at
        return end[0] - mark[a][0], end[1] - mark[a][1]

    cases = await EarlierCase.filter(conference_id=conference.id).count()
    keys = await PersonKey.filter(conference_id=conference.id).count()
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"\nLoading {ROWS:,} earlier cases ({kind}, {python})\n")
    print(f"| {'what':<62} | {'wall s':>7} | {'CPU s':>7} | {'rows / s':>9} | {'/ baseline':>10} |")
    print(f"|{'-' * 64}|{'-' * 9}|{'-' * 9}|{'-' * 11}|{'-' * 12}|")

    def line(what: str, seconds: tuple[float, float]) -> None:
        wall, cpu = seconds
        print(f"| {what:<62} | {wall:7.2f} | {cpu:7.2f} | {ROWS / wall:9,.0f} | {wall / insert_s[0]:10.1f} |")

    line("baseline: Tortoise bulk insert of as many plain rows", insert_s)
    line("baseline: csv.DictReader over the file", csv_s)
    line("import: check every row (parse)", between(1, 20))
    line("import: load the index entries the file may link to", between(20, 30))
    line("import: resolve every person (names.compare, in memory)", between(30, 80))
    line("import: write people, keys and cases, audit (one transaction)", between(80, None))
    line("import, whole (history.start + history.run)", total_s)
    print(
        f"\n{cases:,} cases added, {upload.skipped:,} rows skipped as already loaded, {keys:,} blocking keys; "
        f"target under {TARGET_S:.0f} s: {'met' if total_s[0] < TARGET_S else 'NOT met'} "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end)"
    )

    # The keys are there: a later referral's variant of an imported victim finds them.
    probes = [r for r in rows[:: max(1, ROWS // 200)] if r["victim_date_of_birth"]][:100]
    found = 0
    t = time.perf_counter()
    for row in probes:
        facts = names_of.variant(names_of.names.PersonFacts((row["victim_name"],), _day(row), None))
        found += any(m.level == "high" for _, m in await people.candidates(conference.id, facts))
    per_probe = (time.perf_counter() - t) / len(probes) * 1000
    print(f"imported victims found again by people.candidates: {found}/{len(probes)} ({per_probe:.1f} ms each)")
    await db.close()


if __name__ == "__main__":
    asyncio.run(main())
