"""The person index: find, link and merge the people named in referrals.

Rules (docs/domain.md#recognising-the-same-person): candidates come from blocking keys through an
index, never from a scan; a high-confidence match links automatically; a medium one is
offered to the coordinator, whose decision is remembered.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Set
from dataclasses import dataclass
from datetime import date
from typing import cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from marac import settings
from marac.referrals import names
from marac.referrals.models import MatchSuggestion, Person, PersonKey, Referral

# Beyond this many candidates a block is too common to be evidence (e.g. "John Smith"
# with no date of birth): only the candidates sharing the most keys are compared.
MAX_CANDIDATES = 200
MAX_SUGGESTIONS = 5


@dataclass(frozen=True)
class Resolved:
    person: Person
    linked: bool  # True: an existing person, matched with high confidence
    suggestions: list[tuple[Person, names.Match]]


INDEX_PURPOSE = "person-index"


AGE_BANDS = ((16, "under 16"), (18, "16-17"), (25, "18-24"), (35, "25-34"), (45, "35-44"), (55, "45-54"), (65, "55-64"))


def age_band(date_of_birth: date | None, on: date) -> str | None:
    """The age band on a day: the figures count victims aged 16-17 and perpetrators of 17 or under."""
    if date_of_birth is None:
        return None
    age = on.year - date_of_birth.year - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))
    return next((band for below, band in AGE_BANDS if age < below), "65 and over")


def index_key(blocking_key: str, version: int | None = None) -> str:
    # Blocking keys hold a date of birth, a postcode and name codes: the index stores a keyed
    # digest of each, so the table says nothing without the key. Each row records the key
    # version; new rows use the newest (settings.current_key).
    s = settings.get()
    key = s.current_key(INDEX_PURPOSE)[1] if version is None else s.versioned_keys(INDEX_PURPOSE)[version]
    return hmac.new(key, blocking_key.encode(), hashlib.sha256).hexdigest()


def index_version() -> int:
    """The key version index_keys digests under, stored beside each key."""
    return settings.get().current_key(INDEX_PURPOSE)[0]


def index_keys(facts: names.PersonFacts) -> list[str]:
    """The digests to store for these facts, under the newest key."""
    return sorted(index_key(key) for key in names.blocking_keys(facts))


def probe_keys(facts: names.PersonFacts) -> list[str]:
    """The digests to look for: under every key version, so people indexed before the newest
    key was added are found while `marac keys rotate` has not yet recomputed their keys."""
    blocking = names.blocking_keys(facts)
    return sorted(
        {
            hmac.new(key, b.encode(), hashlib.sha256).hexdigest()
            for key in settings.get().versioned_keys(INDEX_PURPOSE).values()
            for b in blocking
        }
    )


def facts_of(person: Person) -> names.PersonFacts:
    return names.PersonFacts(names=tuple(person.names), date_of_birth=person.date_of_birth, postcode=person.postcode)


async def candidates(
    conference_id: str, facts: names.PersonFacts, conn: BaseDBAsyncClient | None = None
) -> list[tuple[Person, names.Match]]:
    """Everyone in the conference's index sharing a blocking key with `facts`, best match first, 'none' dropped."""
    keys = probe_keys(facts)
    if not keys:
        return []
    # Rank by keys shared before limiting: in a huge "John Smith" block the right person
    # also shares the date-of-birth and postcode keys, so comes first and is never cut off.
    ids = await (
        PersonKey.filter(conference_id=conference_id, key__in=keys)
        .using_db(conn)
        .annotate(shared=Count("id"))
        .group_by("person_id")
        .order_by("-shared")
        .limit(MAX_CANDIDATES)
        .values_list("person_id", flat=True)
    )
    # Model objects, not plain rows: names, date of birth and postcode are sealed and open
    # only with the row they belong to.
    people = await Person.filter(id__in=list(ids)).using_db(conn)
    scored = [(person, names.compare(facts, facts_of(person))) for person in people]
    return sorted(((p, match) for p, match in scored if match.level != "none"), key=lambda pm: -pm[1].score)


async def _former_postcodes(person: Person, conn: BaseDBAsyncClient) -> set[str]:
    victims = await Referral.filter(victim_person_id=person.id).only("id", "victim").using_db(conn)
    postcodes = {names.normalise_postcode((r.victim.get("address") or {}).get("postcode")) for r in victims}
    return {p for p in postcodes if p is not None}


async def store_keys(person: Person, conn: BaseDBAsyncClient | None, postcodes: Set[str] = frozenset()) -> None:
    """Index the person's facts under the newest key (and also with each of `postcodes`)."""
    version = index_version()
    existing = set(
        await PersonKey.filter(person=person, key_version=version).using_db(conn).values_list("key", flat=True)
    )
    facts = facts_of(person)
    wanted = set(index_keys(facts))
    for postcode in postcodes - {facts.postcode}:
        wanted |= set(index_keys(dataclasses.replace(facts, postcode=postcode)))
    for key in sorted(wanted - existing):
        await PersonKey.create(
            conference_id=person.conference_id, person=person, key=key, key_version=version, using_db=conn
        )


async def rekey(batch: int = 500) -> int:
    """Recompute, under the newest key, the index keys of everyone indexed under an older one,
    from the person's sealed names, date of birth and postcode, and the postcodes of the
    referrals naming them as victim (they were indexed with each; the entry keeps the latest);
    returns how many people. Each person is one transaction, locked against a referral linking
    to them meanwhile, so the command can be stopped and run again; a second run finds nobody."""
    version = index_version()
    done, last = 0, ""
    while True:
        ids: list[str] = cast(
            "list[str]",
            await PersonKey.filter(person_id__gt=last)
            .exclude(key_version=version)
            .group_by("person_id")
            .order_by("person_id")
            .limit(batch)
            .values_list("person_id", flat=True),
        )
        for person_id in ids:
            async with in_transaction() as conn:
                person = await Person.filter(id=person_id).select_for_update().using_db(conn).first()
                if person is not None:
                    await store_keys(person, conn, await _former_postcodes(person, conn))
                    await PersonKey.filter(person_id=person_id).exclude(key_version=version).using_db(conn).delete()
                    done += 1
        if len(ids) < batch:
            return done
        last = ids[-1]


def merge_facts(person: Person, facts: names.PersonFacts) -> None:
    known = {names.normalise_name(n) for n in person.names}
    person.names = list(person.names) + [n for n in facts.names if names.normalise_name(n) not in known]
    if person.date_of_birth is None and facts.date_of_birth:
        person.date_of_birth = facts.date_of_birth
    if facts.postcode:
        person.postcode = names.normalise_postcode(facts.postcode)  # people move: keep the latest


async def resolve(
    conference_id: str, facts: names.PersonFacts, conn: BaseDBAsyncClient | None = None, *, index: bool = True
) -> Resolved:
    """Link to an existing person on a high-confidence match; otherwise a new person,
    with the medium-confidence candidates returned as suggestions.

    index=False (monitoring-only reports): a person of its own, never matched, never
    findable, so nothing of the report can surface on anyone's screen."""
    if not index:
        person = await Person.create(
            conference_id=conference_id,
            names=list(facts.names),
            date_of_birth=facts.date_of_birth,
            postcode=names.normalise_postcode(facts.postcode),
            using_db=conn,
        )
        return Resolved(person=person, linked=False, suggestions=[])
    found = await candidates(conference_id, facts, conn)
    if found and found[0][1].level == "high":
        person = found[0][0]
        merge_facts(person, facts)
        await person.save(using_db=conn)
        await store_keys(person, conn)
        return Resolved(person=person, linked=True, suggestions=[])
    person = await Person.create(
        conference_id=conference_id,
        names=list(facts.names),
        date_of_birth=facts.date_of_birth,
        postcode=names.normalise_postcode(facts.postcode),
        using_db=conn,
    )
    await store_keys(person, conn)
    return Resolved(
        person=person, linked=False, suggestions=[pm for pm in found if pm[1].level == "medium"][:MAX_SUGGESTIONS]
    )


async def suggest(conference_id: str, resolved: Resolved, conn: BaseDBAsyncClient | None = None) -> None:
    for candidate, match in resolved.suggestions:
        already = await MatchSuggestion.filter(person=resolved.person, candidate=candidate).using_db(conn).exists()
        if not already:
            await MatchSuggestion.create(
                conference_id=conference_id,
                person=resolved.person,
                candidate=candidate,
                score=match.score,
                reasons=list(match.reasons),
                using_db=conn,
            )


def person_facts(name: str, aliases: list[str], date_of_birth: date | None, postcode: str | None) -> names.PersonFacts:
    return names.PersonFacts(
        names=tuple([name.strip()] + [a.strip() for a in aliases if a.strip()]),
        date_of_birth=date_of_birth,
        postcode=postcode,
    )


async def forget(person_ids: set[str], conn: BaseDBAsyncClient) -> int:
    """Empty these index entries for good (retention): names, date of birth, postcode, blocking
    keys and match suggestions. The rows stay, blank, because referral rows still point at
    them. Entries merged into one of them (a "same" decision keeps the merged entry, keyless
    but with its names) are emptied too. Returns how many entries were emptied."""
    pending, done = set(person_ids), set()
    while pending:
        merged = cast(
            "list[str]",
            await MatchSuggestion.filter(candidate_id__in=list(pending), status="same")
            .using_db(conn)
            .values_list("person_id", flat=True),
        )
        done |= pending
        pending = set(merged) - done
    for person in await Person.filter(id__in=list(done)).using_db(conn):
        person.names, person.date_of_birth, person.postcode = [], None, None
        await person.save(using_db=conn, update_fields=["names", "date_of_birth", "postcode"])
    await PersonKey.filter(person_id__in=list(done)).using_db(conn).delete()
    await MatchSuggestion.filter(Q(person_id__in=list(done)) | Q(candidate_id__in=list(done))).using_db(conn).delete()
    return len(done)
