"""Micro-benchmark for marac.referrals.names: per-call time of compare() and blocking_keys().

Run: .venv/bin/python bench/names_micro.py [N]   (default N = 100,000 generated pairs)

Pairs are a person and a re-typed version of them (case, order, typos, short forms, aliases,
dob swaps/typos, moved postcode) or of someone else. A printed benchmark, not a test.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from marac.referrals import names as N
from marac.referrals.names import PersonFacts, blocking_keys, compare

GIVEN = (
    "John Jon Jonathan Jack Mohammed Muhammad Mohamed Catherine Katherine Kathryn Kate Stephen "
    "Steven Sean Shaun Aisha Ayesha Ann Anne Robert Bob Rob William Bill Elizabeth Liz Beth "
    "Margaret Maggie Michael Mike Anthony Tony Thomas Tom Amir Samir Aaron Adam Christopher "
    "Christine Chris Sarah Emma Priya Zoë José Siobhán Grace Olusegun Wojciech Li Jane Jean Sam "
    "Alex Gemma Kelly Lisa Dean Connor Leah Imran Fatima Yusuf Tariq Nadia Ewan Callum Kirsty"
).split()
SURNAMES = (
    "Smith Smyth Jones Khan Kahn Hussain Hussein Patel O'Brien Macdonald McDonald Murphy Begum "
    "Williams Nowak Kowalski Okafor Müller Wright Thompson Thomson Ali Taylor Brown Evans Walker "
    "Green Hall Wood King Moore Clarke Hughes Ward Price Carter Baker Stone Robinson Campbell "
    "Stewart Anderson Scott Morrison Mahmood Akhtar Shah Iqbal Ahmed Rahman Nguyen Lee Wilson"
).split()
MIDDLES = ["", "", "", "", "Paul", "Jane", "Louise", "Ali", "Marie", "James"]
POSTCODES = [None, "SW1A 1AA", "M1 1AE", "LS1 4AP", "B33 8TH", "CR2 6XH", "E1 6AN", "NFA"]


def person(rng: random.Random) -> PersonFacts:
    def name() -> str:
        parts = (rng.choice(GIVEN), rng.choice(MIDDLES), rng.choice(SURNAMES))
        return " ".join(p for p in parts if p)

    names = tuple(name() for _ in range(1 if rng.random() < 0.8 else rng.choice((2, 3))))
    dob = None if rng.random() < 0.3 else date(1940, 1, 1) + timedelta(days=rng.randrange(29000))
    return PersonFacts(names, dob, rng.choice(POSTCODES))


def typo(rng: random.Random, word: str) -> str:
    if len(word) < 3:
        return word
    i = rng.randrange(len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def retyped(rng: random.Random, p: PersonFacts) -> PersonFacts:
    names = []
    for n in p.names:
        words = n.split()
        op = rng.randrange(6)
        if op == 0:
            words = [w.upper() for w in words]
        elif op == 1:
            words = [words[-1] + ","] + words[:-1]
        elif op == 2:
            words[-1] = typo(rng, words[-1])
        elif op == 3:
            words[0] = rng.choice(GIVEN)
        elif op == 4:
            words[-1] = rng.choice(SURNAMES)
        names.append(" ".join(words))
    dob = p.date_of_birth
    if dob is not None:
        op = rng.randrange(6)
        if op == 0:
            dob = None
        elif op == 1 and dob.day <= 12:
            dob = dob.replace(day=dob.month, month=dob.day)
        elif op == 2:
            dob = dob.replace(year=dob.year + 1, day=min(dob.day, 28))
    postcode = p.postcode if rng.random() < 0.5 else rng.choice(POSTCODES)
    return PersonFacts(tuple(names), dob, postcode)


def pairs(n: int, seed: int = 20240501) -> list[tuple[PersonFacts, PersonFacts]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a = person(rng)
        b = retyped(rng, a) if rng.random() < 0.7 else person(rng)
        out.append((a, b))
    return out


def clear_caches() -> None:
    for fn in (N.normalise_name, N._token, N._parse):
        fn.cache_clear()
    N._AGREE_CACHE.clear()


def per_call_us(fn, args_list) -> float:
    start = time.perf_counter()
    for args in args_list:
        fn(*args)
    return (time.perf_counter() - start) / len(args_list) * 1e6


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    data = pairs(n)
    people = [(a,) for a, _ in data] + [(b,) for _, b in data]

    clear_caches()
    cold_compare = per_call_us(compare, data)
    warm_compare = statistics.median(per_call_us(compare, data) for _ in range(3))
    clear_caches()
    cold_keys = per_call_us(blocking_keys, people)
    warm_keys = statistics.median(per_call_us(blocking_keys, people) for _ in range(3))

    levels = Counter(compare(a, b).level for a, b in data)
    key_counts = [len(blocking_keys(p)) for (p,) in people]
    missed = sum(1 for a, b in data if compare(a, b).level != "none" and not (blocking_keys(a) & blocking_keys(b)))

    print(f"marac.referrals.names micro-benchmark: {n:,} generated pairs, {len(people):,} people")
    print(f"{'function':<16}{'first pass (caches cold)':>28}{'warm (median of 3)':>22}")
    print(f"{'compare()':<16}{cold_compare:>25.2f} us{warm_compare:>19.2f} us")
    print(f"{'blocking_keys()':<16}{cold_keys:>25.2f} us{warm_keys:>19.2f} us")
    print()
    print("levels: " + ", ".join(f"{k} {v:,}" for k, v in sorted(levels.items())))
    print(
        f"keys per person: mean {statistics.mean(key_counts):.1f}, "
        f"median {statistics.median(key_counts):.0f}, max {max(key_counts)}"
    )
    print(f"matches (medium/high) sharing no blocking key: {missed}")


if __name__ == "__main__":
    main()
