"""Benchmark: matching one referral's person against the person index (docs/benchmarks.md#person-matching).

Target: ≤ 20 ms per match against an index of 500,000 people on PostgreSQL. Prints a
table with p50/p95 against a baseline measured in the same run (one primary-key query
through the same ORM), and the query plan of the blocking-key lookup.

Run with bench/run (starts a throwaway PostgreSQL); PEOPLE=50000 for a quicker run.
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

from marac import db, sealed
from marac.agencies.models import Conference
from marac.referrals import names, people
from marac.referrals.models import Person

PEOPLE = int(os.environ.get("PEOPLE", "500000"))
PROBES = 300
rng = random.Random(20261121)

# Common names appear far more often than rare ones (a Zipf-like weighting), as in life.
GIVEN = (
    "Mohammed Muhammad Oliver Noah George Leo Arthur Oscar Harry Jack Jacob Charlie Thomas James William "
    "Olivia Amelia Isla Ava Ivy Freya Lily Florence Mia Willow Rosie Sophia Isabella Grace Daisy Sienna "
    "Aisha Fatima Maryam Zara Priya Anika Kwame Kofi Chidi Ngozi Wojciech Agnieszka Piotr Katarzyna Sean "
    "Siobhan Aoife Ciaran Catherine Katherine Stephen Steven John Jon Jane Joan Robert Elizabeth Margaret "
    "Michael Anthony Sarah David Daniel Emma Chloe Hannah Lucy Ruby Ellie Jessica Samuel Joseph Benjamin"
).split()
SURNAMES = (
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson Wright "
    "Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Martin Cooper Hill "
    "Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott Phillips Watson Davis Parker "
    "Price Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy "
    "Miller Cox Richards Khan Marshall Anderson Simpson Ellis Adams Singh Begum Chapman Kaur Hussain Ali "
    "Ahmed Nowak Kowalski Okafor Mensah Osei Obi Ibrahim Rahman Chowdhury Shah Mahmood Iqbal Akhtar "
    "O'Brien McDonald Macdonald Murray Campbell Stewart Reid Ross Kennedy Doyle Byrne Ryan Walsh Lynch"
).split()
GIVEN_W = [1 / (i + 1) ** 0.8 for i in range(len(GIVEN))]
SURNAME_W = [1 / (i + 1) ** 0.8 for i in range(len(SURNAMES))]
AREAS = ["NS", "SE", "M", "B", "LS", "CF", "G", "BS", "L", "NE"]


# The long tail: in the UK the 100 commonest surnames cover about a fifth of people; the
# rest are spread over tens of thousands. Made-up names stand in for that tail.
ONSETS = "b br c ch cl d dr f g gr h j k l m n p pr r s sh st t th tr v w y z".split()
VOWELS = "a e i o u ai ea ou ay".split()
CODAS = "n r l s th m nd rt ck ll ng ss".split()
ENDINGS = "ton son ley field wood worth by well ham more ford er en ski ova ez ian".split()


def made_up(parts: int) -> str:
    word = "".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(parts))
    return (word + rng.choice(ENDINGS)).capitalize()


def person() -> names.PersonFacts:
    given = rng.choices(GIVEN, GIVEN_W)[0] if rng.random() < 0.7 else made_up(1)
    surname = rng.choices(SURNAMES, SURNAME_W)[0] if rng.random() < 0.25 else made_up(rng.randint(1, 2))
    extra = (f"{rng.choices(GIVEN, GIVEN_W)[0]} {surname}",) if rng.random() < 0.2 else ()  # an alias
    dob = date(1940, 1, 1) + timedelta(days=rng.randrange(70 * 365)) if rng.random() < 0.9 else None
    unit = "".join(rng.choice("ABDEFGHJLNPQRSTUWXYZ") for _ in range(2))
    postcode = f"{rng.choice(AREAS)}{rng.randint(1, 30)} {rng.randint(1, 9)}{unit}"
    return names.PersonFacts(
        names=(f"{given} {surname}", *extra), date_of_birth=dob, postcode=postcode if rng.random() < 0.8 else None
    )


def variant(facts: names.PersonFacts) -> names.PersonFacts:
    """How the same person arrives in a later referral: case, spacing, a swapped date, a moved home."""
    name = facts.names[0]
    choice = rng.random()
    if choice < 0.3:
        name = name.upper()
    elif choice < 0.6:
        given, _, surname = name.partition(" ")
        name = f"{surname}, {given}"
    dob = facts.date_of_birth
    if dob and dob.day <= 12 and rng.random() < 0.3:
        dob = date(dob.year, dob.day, dob.month)
    return names.PersonFacts(names=(name,), date_of_birth=dob, postcode=None if rng.random() < 0.5 else facts.postcode)


async def load(conference_id: str, url: str) -> list[names.PersonFacts]:
    started = time.perf_counter()
    sample: list[names.PersonFacts] = []
    person_rows, key_rows = [], []
    now = datetime.now(UTC)
    version = people.index_version()
    for n in range(PEOPLE):
        facts = person()
        pid = uuid.uuid4().hex
        # Sealed and hashed exactly as the service stores them (marac.sealed, people.index_keys).
        postcode = names.normalise_postcode(facts.postcode)
        person_rows.append(
            (
                pid,
                conference_id,
                sealed.seal("person", "names", pid, json.dumps(list(facts.names))),
                facts.date_of_birth and sealed.seal("person", "date_of_birth", pid, facts.date_of_birth.isoformat()),
                postcode and sealed.seal("person", "postcode", pid, postcode),
                now,
            )
        )
        key_rows.extend((conference_id, pid, key, version) for key in people.index_keys(facts))
        if n % (PEOPLE // PROBES) == 0 and len(sample) < PROBES:
            sample.append(facts)
    generated = time.perf_counter()
    conn = await asyncpg.connect(url)
    await conn.copy_records_to_table(
        "person",
        records=person_rows,
        columns=["id", "conference_id", "names", "date_of_birth", "postcode", "created_at"],
    )
    await conn.copy_records_to_table(
        "person_key", records=key_rows, columns=["conference_id", "person_id", "key", "key_version"]
    )
    await conn.execute("ANALYZE person; ANALYZE person_key")
    await conn.close()
    print(
        f"loaded {PEOPLE:,} people and {len(key_rows):,} keys "
        f"(generate {generated - started:.1f} s, copy {time.perf_counter() - generated:.1f} s)"
    )
    return sample


def summary(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1], ordered[-1]


async def main() -> None:
    url = os.environ["MARAC_DATABASE_URL"]
    assert url.startswith("postgres"), "this benchmark is for PostgreSQL"
    await db.migrate()
    await db.init()
    conference = await Conference.create(
        name="Bench",
        slug=f"bench-{uuid.uuid4().hex[:6]}",
        type="domestic-abuse",
        weekday="tuesday",
        start_time="10:00",
        first_date=date(2026, 1, 6),
        type_settings={},
    )
    sample = await load(conference.id, url.replace("postgres://", "postgresql://", 1))
    ids = [p for p in await Person.filter(conference=conference).limit(PROBES).values_list("id", flat=True)]

    baseline, matching, found, candidates = [], [], 0, []
    for _ in range(2):  # first pass warms caches; keep the second
        baseline, matching, found, candidates = [], [], 0, []
        for pid, facts in zip(ids, sample, strict=True):
            t = time.perf_counter()
            await Person.get(id=pid)
            baseline.append((time.perf_counter() - t) * 1000)
            probe = variant(facts)
            t = time.perf_counter()
            result = await people.candidates(conference.id, probe)
            matching.append((time.perf_counter() - t) * 1000)
            candidates.append(len(result))
            found += any(m.level in ("high", "medium") for _, m in result)
    b50, b95, _ = summary(baseline)
    m50, m95, mmax = summary(matching)
    print(f"\nMatching one person against {PEOPLE:,} people (PostgreSQL, {len(matching)} probes)\n")
    print(f"| {'what':<44} | {'p50 ms':>7} | {'p95 ms':>7} | {'max ms':>7} | {'p50 / baseline':>14} |")
    print(f"|{'-' * 46}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 16}|")
    print(
        f"| {'baseline: one primary-key query (Tortoise)':<44} | {b50:7.2f} | {b95:7.2f} "
        f"| {max(baseline):7.2f} | {1:14.1f} |"
    )
    print(
        f"| {'people.candidates(): keys, fetch, compare':<44} | {m50:7.2f} | {m95:7.2f} "
        f"| {mmax:7.2f} | {m50 / b50:14.1f} |"
    )
    print(
        f"\nvariants found again: {found}/{len(matching)}; candidates compared per probe: "
        f"median {statistics.median(candidates):.0f}, max {max(candidates)}; target p95 <= 20 ms: "
        f"{'met' if m95 <= 20 else 'NOT met'}"
    )
    keys = people.probe_keys(variant(sample[0]))
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    plan = await conn.fetch(
        "EXPLAIN ANALYZE SELECT person_id, count(id) AS shared FROM person_key "
        "WHERE conference_id = $1 AND key = ANY($2::text[]) GROUP BY person_id ORDER BY shared DESC LIMIT 200",
        conference.id,
        keys,
    )
    await conn.close()
    print("\nEXPLAIN ANALYZE (blocking-key lookup):")
    for row in plan:
        print("   " + row[0])
    await db.close()


if __name__ == "__main__":
    asyncio.run(main())
