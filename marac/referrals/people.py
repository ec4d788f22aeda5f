"""The person index: find, link and merge the people named in referrals.

Rules (docs/domain.md#recognising-the-same-person): candidates come from blocking keys through an
index, never from a scan; a high-confidence match links automatically; a medium one is
offered to the coordinator, whose decision is remembered.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.functions import Count

from marac import settings
from marac.referrals import names
from marac.referrals.models import MatchSuggestion, Person, PersonKey

# Beyond this many candidates a block is too common to be evidence (e.g. "John Smith"
# with no date of birth): only the candidates sharing the most keys are compared.
MAX_CANDIDATES = 200
MAX_SUGGESTIONS = 5


@dataclass(frozen=True)
class Resolved:
    person: Person
    linked: bool  # True: an existing person, matched with high confidence
    suggestions: list[tuple[Person, names.Match]]


def index_key(blocking_key: str) -> str:
    # Blocking keys hold a date of birth, a postcode and name codes: the index stores a keyed
    # digest of each, so the table says nothing without the secret key.
    return hmac.new(settings.get().derived_key("person-index"), blocking_key.encode(), hashlib.sha256).hexdigest()


def index_keys(facts: names.PersonFacts) -> list[str]:
    return sorted(index_key(key) for key in names.blocking_keys(facts))


def facts_of(person: Person) -> names.PersonFacts:
    return names.PersonFacts(names=tuple(person.names), date_of_birth=person.date_of_birth, postcode=person.postcode)


async def candidates(conference_id: str, facts: names.PersonFacts, conn: BaseDBAsyncClient | None = None) -> list[tuple[Person, names.Match]]:
    """Everyone in the conference's index sharing a blocking key with `facts`, best match first, 'none' dropped."""
    keys = index_keys(facts)
    if not keys:
        return []
    # Rank by keys shared before limiting: in a huge "John Smith" block the right person
    # also shares the date-of-birth and postcode keys, so comes first and is never cut off.
    ids = await (
        PersonKey.filter(conference_id=conference_id, key__in=keys).using_db(conn)
        .annotate(shared=Count("id")).group_by("person_id").order_by("-shared").limit(MAX_CANDIDATES)
        .values_list("person_id", flat=True)
    )
    # Model objects, not plain rows: names, date of birth and postcode are sealed and open
    # only with the row they belong to.
    people = await Person.filter(id__in=list(ids)).using_db(conn)
    scored = [(person, names.compare(facts, facts_of(person))) for person in people]
    return sorted(((p, match) for p, match in scored if match.level != "none"), key=lambda pm: -pm[1].score)


async def store_keys(person: Person, conn: BaseDBAsyncClient | None) -> None:
    existing = set(await PersonKey.filter(person=person).using_db(conn).values_list("key", flat=True))
    for key in sorted(set(index_keys(facts_of(person))) - existing):
        await PersonKey.create(conference_id=person.conference_id, person=person, key=key, using_db=conn)


def merge_facts(person: Person, facts: names.PersonFacts) -> None:
    known = {names.normalise_name(n) for n in person.names}
    person.names = list(person.names) + [n for n in facts.names if names.normalise_name(n) not in known]
    if person.date_of_birth is None and facts.date_of_birth:
        person.date_of_birth = facts.date_of_birth
    if facts.postcode:
        person.postcode = names.normalise_postcode(facts.postcode)  # people move: keep the latest


async def resolve(conference_id: str, facts: names.PersonFacts, conn: BaseDBAsyncClient | None = None, *, index: bool = True) -> Resolved:
    """Link to an existing person on a high-confidence match; otherwise a new person,
    with the medium-confidence candidates returned as suggestions.

    index=False (monitoring-only reports): a person of its own, never matched, never
    findable, so nothing of the report can surface on anyone's screen."""
    if not index:
        person = await Person.create(conference_id=conference_id, names=list(facts.names), date_of_birth=facts.date_of_birth,
                                     postcode=names.normalise_postcode(facts.postcode), using_db=conn)
        return Resolved(person=person, linked=False, suggestions=[])
    found = await candidates(conference_id, facts, conn)
    if found and found[0][1].level == "high":
        person = found[0][0]
        merge_facts(person, facts)
        await person.save(using_db=conn)
        await store_keys(person, conn)
        return Resolved(person=person, linked=True, suggestions=[])
    person = await Person.create(
        conference_id=conference_id, names=list(facts.names), date_of_birth=facts.date_of_birth,
        postcode=names.normalise_postcode(facts.postcode), using_db=conn,
    )
    await store_keys(person, conn)
    return Resolved(person=person, linked=False, suggestions=[pm for pm in found if pm[1].level == "medium"][:MAX_SUGGESTIONS])


async def suggest(conference_id: str, resolved: Resolved, conn: BaseDBAsyncClient | None = None) -> None:
    for candidate, match in resolved.suggestions:
        already = await MatchSuggestion.filter(person=resolved.person, candidate=candidate).using_db(conn).exists()
        if not already:
            await MatchSuggestion.create(
                conference_id=conference_id, person=resolved.person, candidate=candidate,
                score=match.score, reasons=list(match.reasons), using_db=conn,
            )


def person_facts(name: str, aliases: list[str], date_of_birth: date | None, postcode: str | None) -> names.PersonFacts:
    return names.PersonFacts(
        names=tuple([name.strip()] + [a.strip() for a in aliases if a.strip()]),
        date_of_birth=date_of_birth, postcode=postcode,
    )


async def forget(person_ids: set[str], conn: BaseDBAsyncClient) -> int:
    """Empty these index entries for good (retention): names, date of birth, postcode, blocking
    keys and match suggestions. The rows stay, blank, because referral rows still point at
    them. Entries merged into one of them (a "same" decision keeps the merged entry, keyless
    but with its names) are emptied too. Returns how many entries were emptied."""
    pending, done = set(person_ids), set()
    while pending:
        merged = await MatchSuggestion.filter(candidate_id__in=list(pending), status="same").using_db(conn).values_list("person_id", flat=True)
        done |= pending
        pending = set(merged) - done
    for person in await Person.filter(id__in=list(done)).using_db(conn):
        person.names, person.date_of_birth, person.postcode = [], None, None
        await person.save(using_db=conn, update_fields=["names", "date_of_birth", "postcode"])
    await PersonKey.filter(person_id__in=list(done)).using_db(conn).delete()
    await MatchSuggestion.filter(Q(person_id__in=list(done)) | Q(candidate_id__in=list(done))).using_db(conn).delete()
    return len(done)
