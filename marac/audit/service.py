"""Recording and verifying audit events.

Each event is chained to the one before it with an HMAC, so a row edited, deleted or moved
with raw SQL breaks the chain at that point, and someone with database access but without
the key cannot forge a replacement. The key is versioned like the data keys it derives
from: each event names the version that signed it and is checked with that version, so
adding a key (marac keys rotate) leaves every earlier event verifiable.

Writers do not queue on the chain (docs/security.md#the-audit-chain). A transaction that records an event takes
the chain if it is free and keeps it to its end, chaining its own events after those that wait; if another
transaction holds it, the events wait in audit_pending, committed with their change, and the next holder chains
them: the next audited write, or this process's chainer a moment after the commit (_chain_later), or verify().
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.transactions import in_transaction

from marac import db, settings
from marac.audit import queries
from marac.audit.models import AuditEvent, AuditPending, Disclosure

log = logging.getLogger(__name__)
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
    # Events committed but not yet chained when the walk ended (recorded during it): checked by the next one.
    waiting: int = 0


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


CHAIN_LOCK = 727274  # the PostgreSQL advisory lock whose holder may add to the chain
# How long this process's chainer waits for a transaction whose events wait to commit (then the next holder of
# the chain takes them): a rolled-back transaction's events never appear.
PATIENCE_SECONDS = 10.0


async def _hold_chain(conn: BaseDBAsyncClient, wait: bool) -> bool:
    """Take the chain for the rest of `conn`'s transaction; with wait=False only if it is free at once.
    PostgreSQL: the holder reads the head and appends, so two events never claim the same predecessor.
    SQLite has one connection and one transaction at a time: the chain is always free."""
    if conn.capabilities.dialect != "postgres":
        return True
    if wait:
        await conn.execute_query(f"SELECT pg_advisory_xact_lock({CHAIN_LOCK})")
        return True
    rows = await db.fetch(f"SELECT pg_try_advisory_xact_lock({CHAIN_LOCK}) AS held", conn=conn)
    return bool(rows[0]["held"])


class _Fields(NamedTuple):
    """One event before the chain gives it a seq and hashes (queries.PENDING_COLUMNS, in order)."""

    at: datetime
    user_id: str | None
    agency_id: str | None
    action: str
    object_type: str | None
    object_id: str | None
    conference_id: str | None
    outcome: str
    request_id: str | None
    case_id: str | None


def _waiting_fields(row: dict[str, Any]) -> _Fields:
    at = AuditPending._meta.fields_map["at"].to_python_value(row["at"])  # SQLite gives text
    return _Fields(at, *(row[column] for column in queries.PENDING_COLUMNS[1:]))


async def _chain(conn: BaseDBAsyncClient, fresh: Sequence[_Fields]) -> tuple[int, list[AuditEvent]]:
    """With the chain held: append the waiting events (oldest first, a batch), then `fresh`. How many waiting
    events were chained, and `fresh` as chained."""
    head, waiting = await queries.head_and_pending(queries.PENDING_BATCH, conn)
    prev_hash, seq = head[1] if head else GENESIS, head[0] if head else 0
    key_version, key = settings.get().current_key("audit-chain")
    events = []
    entries = [(int(row["id"]), _waiting_fields(row)) for row in waiting] + [(None, one) for one in fresh]
    for pending_id, one in entries:
        seq += 1
        event = AuditEvent(
            seq=seq, prev_hash=prev_hash, key_version=key_version, pending_id=pending_id, **one._asdict()
        )
        event.hash = prev_hash = _digest(key, prev_hash, seq, one.at, _event_fields(event))
        events.append(event)
    if len(events) == 1:
        await events[0].save(using_db=conn)
    elif events:
        await AuditEvent.bulk_create(events, using_db=conn)
    if waiting:
        # Only now may they go: PostgreSQL refuses to remove a waiting event that is not in audit_event (0031).
        await AuditPending.filter(id__in=[entry[0] for entry in entries[: len(waiting)]]).using_db(conn).delete()
    return len(waiting), events[len(waiting) :]


async def seal(wait: bool = True) -> int:
    """Chain every committed event that waits, waiting for the chain if another transaction holds it (with
    wait=False: stopping); how many were chained."""
    chained = 0
    while True:
        async with in_transaction() as conn:
            if not await _hold_chain(conn, wait):
                return chained
            count, _ = await _chain(conn, [])
        chained += count
        if count < queries.PENDING_BATCH:
            return chained


# Ids of audit_pending rows this process wrote that are not yet chained, and the task that chains them.
_expected: set[int] = set()
_chainer: asyncio.Task[None] | None = None


def _chain_later(ids: list[int], conn: BaseDBAsyncClient) -> None:
    """Have this process chain these waiting events once `conn`'s transaction has committed."""
    global _chainer
    _expected.update(ids)
    if _chainer is None or _chainer.done():
        pool = conn
        while isinstance(pool, TransactionalDBClient):  # Tortoise's transaction wrappers name their pool so
            pool = pool._parent
        _chainer = asyncio.create_task(_chain_expected(pool))


async def _chain_expected(pool: BaseDBAsyncClient) -> None:
    # This task's copy of the context names the writer's transaction, which ends before this looks: use the pool.
    connections.set(pool.connection_name, pool)
    # The writer's transaction is still open when it asks (record() runs inside it), so look again, sooner
    # at first: the next audited write usually chains them before this does.
    loop = asyncio.get_running_loop()
    deadline, pause = loop.time() + PATIENCE_SECONDS, 0.002
    while _expected and loop.time() < deadline:
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.25)
        try:
            # Only once they have committed: taken for nothing, the chain would only make writers leave events waiting.
            if await AuditPending.filter(id__in=list(_expected)).exists():
                await seal(wait=False)  # held: its holder may have chained them, else the next look will
            chained = await AuditEvent.filter(pending_id__in=list(_expected)).values_list("pending_id", flat=True)
            _expected.difference_update(int(str(one)) for one in chained)
        except Exception:  # the next holder of the chain takes them; ids only in the log
            log.warning("audit chain: waiting events not chained yet", exc_info=True)
    _expected.clear()


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
    that shows many records costs the statements of one (tests/test_query_counts.py). Events that wait for the
    chain (see the module's doc) come back without a seq."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}")
    if not about:
        return []
    if conn is None:
        async with in_transaction() as own:
            return await record_each(action, about, user_id=user_id, agency_id=agency_id, outcome=outcome, conn=own)
    cases = [await _case(one, conn) for one in about]
    at, request_id = datetime.now(UTC), request_id_var.get()
    fresh = [
        _Fields(
            at,
            user_id,
            agency_id,
            action,
            one.object_type,
            one.object_id,
            one.conference_id,
            outcome,
            request_id,
            case_id,
        )
        for one, case_id in zip(about, cases, strict=True)
    ]
    # Free: chain what waits and these, holding the chain to the end of this transaction. Held by another
    # transaction: these wait, committed or rolled back with this one, and never make it wait.
    if await _hold_chain(conn, wait=False):
        return (await _chain(conn, fresh))[1]
    _chain_later(await queries.add_pending(fresh, conn), conn)
    return [AuditEvent(**one._asdict()) for one in fresh]  # not chained yet: no seq


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
    "transfer_package": ("A case transferred to another area's MARAC: its referral, minutes extracts and open actions"),
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
    recipient: str | None = None,
) -> Disclosure:
    """Enter one sharing in the disclosure log (in the caller's transaction with `conn`). `recipient`: who
    received it outside the service (a transfer's area)."""
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
        recipient=recipient,
        using_db=conn,
    )


async def verify(batch_size: int = 5000) -> VerifyResult:
    """Chain what waits, then walk the whole chain in order; name the first event that does not follow from
    the one before. `waiting`: events committed during the walk, not yet chained (the next walk checks them)."""
    await seal()
    keys = settings.get().versioned_keys("audit-chain")
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    after = 0
    while True:
        batch = await AuditEvent.filter(seq__gt=after).order_by("seq").limit(batch_size)
        if not batch:
            return VerifyResult(ok=True, checked=checked, first_bad_seq=None, waiting=await AuditPending.all().count())
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
