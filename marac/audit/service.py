"""Recording and verifying audit events.

Each event is chained to the one before it with an HMAC, so a row edited, deleted or moved
with raw SQL breaks the chain at that point, and someone with database access but without
the key cannot forge a replacement. The key is versioned like the data keys it derives
from: each event names the version that signed it and is checked with that version, so
adding a key (marac keys rotate) leaves every earlier event verifiable.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from marac import settings
from marac.audit import queries
from marac.audit.models import AuditEvent, Disclosure

GENESIS = "0" * 64
OUTCOMES = ("ok", "denied", "failed")
# Set by the web layer for each request, read here, so every event carries it.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None
    # Set when the first bad event names a key version the settings do not hold.
    missing_key_version: int | None = None


def _digest(key: bytes, prev_hash: str, seq: int, at: datetime, fields: tuple[str | None, ...]) -> str:
    parts = [prev_hash, str(seq), at.astimezone(UTC).isoformat(timespec="microseconds")]
    parts += ["" if value is None else value for value in fields]
    # A unit separator cannot appear in ids or action names, so fields cannot run together.
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def _event_fields(event: AuditEvent) -> tuple[str | None, ...]:
    fields = (
        event.user_id,
        event.agency_id,
        event.action,
        event.object_type,
        event.object_id,
        event.conference_id,
        event.outcome,
        event.request_id,
    )
    # The case is signed only when set: events from before it existed (migration 0017) verify as they were
    # signed, and setting or clearing it on any event breaks the chain there (tests/test_audit.py).
    return fields if event.case_id is None else (*fields, event.case_id)


# How to find the case (its referral's id) of a record, by object type. Each domain registers its own
# (case_of below), so every event about a case carries it whoever records it, without this package
# importing the domains above it.
CaseFinder = Callable[[str, BaseDBAsyncClient], Awaitable[str | None]]
_CASE_FINDERS: dict[str, CaseFinder] = {}


def case_of(object_type: str) -> Callable[[CaseFinder], CaseFinder]:
    """Register the function that names the case of a record of `object_type` (None if it has none)."""

    def register(finder: CaseFinder) -> CaseFinder:
        _CASE_FINDERS[object_type] = finder
        return finder

    return register


async def _lock_chain(conn: BaseDBAsyncClient) -> None:
    # PostgreSQL: writers queue here for the rest of their transaction, so two events
    # never claim the same predecessor. SQLite has one connection, already serialised.
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query("SELECT pg_advisory_xact_lock(727274)")


@dataclass(frozen=True)
class About:
    """What one event is about: a record, its conference and its case (found from the record when not given)."""

    object_type: str | None = None
    object_id: str | None = None
    conference_id: str | None = None
    case_id: str | None = None


async def record(
    action: str,
    *,
    user_id: str | None = None,
    agency_id: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    conference_id: str | None = None,
    outcome: str = "ok",
    case_id: str | None = None,
    conn: BaseDBAsyncClient | None = None,
) -> AuditEvent:
    """Append one event. Pass `conn` to write it in the transaction of the change it describes.
    The case is found from the object (case_of) unless given."""
    about = About(object_type, object_id, conference_id, case_id)
    [event] = await record_each(action, [about], user_id=user_id, agency_id=agency_id, outcome=outcome, conn=conn)
    return event


async def record_each(
    action: str,
    about: Sequence[About],
    *,
    user_id: str | None = None,
    agency_id: str | None = None,
    outcome: str = "ok",
    conn: BaseDBAsyncClient | None = None,
) -> list[AuditEvent]:
    """Append one event per record in `about`, chained in that order and written together, so a list
    that shows many records costs the statements of one (tests/test_query_counts.py)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}")
    if not about:
        return []
    if conn is None:
        async with in_transaction() as own:
            return await record_each(action, about, user_id=user_id, agency_id=agency_id, outcome=outcome, conn=own)
    cases = [await _case(one, conn) for one in about]
    await _lock_chain(conn)
    # Hand-written (audit/queries.py): every audited change waits for this under the lock above.
    last = await queries.last_event(conn)
    prev_hash, seq = (last["hash"], last["seq"] + 1) if last else (GENESIS, 1)
    key_version, key = settings.get().current_key("audit-chain")
    at = datetime.now(UTC)
    events = []
    for one, case_id in zip(about, cases, strict=True):
        event = AuditEvent(
            seq=seq,
            at=at,
            user_id=user_id,
            agency_id=agency_id,
            action=action,
            object_type=one.object_type,
            object_id=one.object_id,
            conference_id=one.conference_id,
            outcome=outcome,
            request_id=request_id_var.get(),
            case_id=case_id,
            prev_hash=prev_hash,
            key_version=key_version,
        )
        event.hash = prev_hash = _digest(key, prev_hash, seq, at, _event_fields(event))
        events.append(event)
        seq += 1
    if len(events) == 1:
        await events[0].save(using_db=conn)
    else:
        await AuditEvent.bulk_create(events, using_db=conn)
    return events


async def _case(about: About, conn: BaseDBAsyncClient) -> str | None:
    if about.case_id is None and about.object_id is not None and about.object_type in _CASE_FINDERS:
        return await _CASE_FINDERS[about.object_type](about.object_id, conn)
    return about.case_id


# Why each kind of document is shared: the disclosure log's "why" (docs/domain.md#disclosure-log).
DISCLOSURE_PURPOSES = {
    "minutes": "MARAC minutes circulated to a member agency: the part it is entitled to see",
    "research_list": "Research list released before the meeting so the agency can check its records",
    "research_list_reissue": (
        "Research list re-issued to every member agency as a new version: an urgent case was added after publication"
    ),
    "subject_access": (
        "Subject access request: everything held about one person, exported by the coordinator for redaction review"
    ),
    "quarterly_report": (
        "Quarterly figures of the conference for its steering group and partners; numbers from 1 to 5 suppressed"
    ),
    "chair_pack": "The chair's preparation pack: agencies' research and the victim's views, for the chair",
}


async def disclose(
    kind: str,
    *,
    conference_id: str,
    meeting_id: str | None,
    document_id: str | None,
    version: int | None,
    agency_id: str,
    user_id: str,
    conn: BaseDBAsyncClient | None = None,
) -> Disclosure:
    """Enter one sharing in the disclosure log (in the caller's transaction with `conn`)."""
    return await Disclosure.create(
        at=datetime.now(UTC),
        conference_id=conference_id,
        meeting_id=meeting_id,
        kind=kind,
        document_id=document_id,
        version=version,
        agency_id=agency_id,
        user_id=user_id,
        purpose=DISCLOSURE_PURPOSES[kind],
        using_db=conn,
    )


async def verify(batch_size: int = 5000) -> VerifyResult:
    """Walk the whole chain in order; name the first event that does not follow from the one before."""
    keys = settings.get().versioned_keys("audit-chain")
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    after = 0
    while True:
        batch = await AuditEvent.filter(seq__gt=after).order_by("seq").limit(batch_size)
        if not batch:
            return VerifyResult(ok=True, checked=checked, first_bad_seq=None)
        for event in batch:
            if event.key_version not in keys:
                return VerifyResult(
                    ok=False, checked=checked, first_bad_seq=event.seq, missing_key_version=event.key_version
                )
            expected = _digest(keys[event.key_version], prev_hash, event.seq, event.at, _event_fields(event))
            if (
                event.seq != expected_seq
                or event.prev_hash != prev_hash
                or not hmac.compare_digest(event.hash, expected)
            ):
                return VerifyResult(ok=False, checked=checked, first_bad_seq=event.seq)
            checked += 1
            prev_hash, expected_seq = event.hash, event.seq + 1
        after = batch[-1].seq


async def head(conn: BaseDBAsyncClient | None = None) -> tuple[int, str] | None:
    """The last event's seq and HMAC, or None for an empty trail: a backup's manifest records it, and a
    restored database must end on the same event."""
    last = await queries.last_event(conn)
    return (int(last["seq"]), str(last["hash"])) if last else None
