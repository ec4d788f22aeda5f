"""Domain events: what happened, written in the transaction of the change, for people and agency systems to be told.

A use case that changes something worth telling calls emit() with its own transaction (`conn`), so a rolled-back
change tells nobody and a committed one is never lost, whatever happens to the queue afterwards. Jobs fan events
out later: to people as in-app notifications and e-mail (each marks `notified_at`), and to agency systems as signed
webhooks (each marks `hooked_at`). An event names records by id and holds small facts in `data` (a decision, a due
date), never names or case text; every reader decides what it may see through its own access check.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from marac import db
from marac.clock import now
from marac.notices.models import Event

# Kinds, named as webhooks name them. Fan-out decides who is told about each (docs/notifications.md).
KINDS = (
    "referral.received",
    "referral.decided",  # data: {"decision": "accepted" | "rejected"}
    "referral.repeat",  # a repeat was detected
    "referral.duplicate",  # a possible duplicate of a referral not yet heard
    "agenda.published",  # published or re-issued; data: {"research_due": "YYYY-MM-DD", "reissued": bool}
    "action.assigned",
    "action.updated",  # reworded, or its owner or due date changed
    "action.due",  # due within 3 days (the daily reminders); data: {"day": "YYYY-MM-DD", "due_date": "YYYY-MM-DD"}
    "action.overdue",  # past its due date and not closed (the daily reminders); data as action.due
    "minutes.ready",  # data: {"version": n}
    "minutes.late",  # not circulated 3 working days after the meeting
)


# The kinds emitted while a request runs, so the web layer starts the fan-out once the request is answered (and its
# changes committed) instead of waiting for the next sweep. A list, so the request sees what its handler appended.
_emitted: ContextVar[list[str] | None] = ContextVar("marac_events_emitted", default=None)


def watch() -> list[str]:
    """Start collecting the kinds emitted in this context (a request); returns the list they go into."""
    emitted: list[str] = []
    _emitted.set(emitted)
    return emitted


async def emit(
    kind: str,
    *,
    conn: BaseDBAsyncClient | None,
    conference_id: str | None = None,
    referral_id: str | None = None,
    meeting_id: str | None = None,
    action_id: str | None = None,
    agency_id: str | None = None,
    at: datetime | None = None,
    dedupe_key: str | None = None,
    **data: Any,
) -> Event:
    """Record one event in the caller's transaction. ``data`` holds ids, dates and decisions only. A
    ``dedupe_key`` already used raises IntegrityError: what a scheduled run emits, it emits once."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    emitted = _emitted.get()
    if emitted is not None:
        emitted.append(kind)
    return await Event.create(
        kind=kind,
        at=at or now(),
        conference_id=conference_id,
        referral_id=referral_id,
        meeting_id=meeting_id,
        action_id=action_id,
        agency_id=agency_id,
        data=data,
        dedupe_key=dedupe_key,
        using_db=conn,
    )


@dataclass(frozen=True)
class Scheduled:
    """One event of a scheduled run (emit_once): its kind, what it names and the key that makes it happen once."""

    kind: str
    dedupe_key: str
    conference_id: str | None = None
    meeting_id: str | None = None
    action_id: str | None = None
    agency_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


EMIT_ONCE_SQL = (
    'INSERT INTO "event" ("kind", "at", "conference_id", "meeting_id", "action_id", "agency_id", "data", '
    '"dedupe_key") VALUES {rows} ON CONFLICT ("dedupe_key") DO NOTHING RETURNING "id"'
)


async def emit_once(events: Sequence[Scheduled], conn: BaseDBAsyncClient | None = None) -> int:
    """Record a scheduled run's events in one statement, each once: an event whose dedupe_key is already used (an
    earlier run, or one running at the same time) is left out. Returns how many were new. A run emits thousands
    (docs/benchmarks.md#background-work): one statement a batch, not a transaction an event."""
    if not events:
        return 0
    for event in events:
        if event.kind not in KINDS:
            raise ValueError(f"unknown event kind {event.kind!r}")
    emitted = _emitted.get()
    if emitted is not None:
        emitted.extend(e.kind for e in events)
    at, values = now(), []
    for e in events:
        data = json.dumps(e.data, separators=(",", ":"))
        values += [e.kind, at, e.conference_id, e.meeting_id, e.action_id, e.agency_id, data, e.dedupe_key]
    rows = ", ".join(f"({db.marks(1 + 8 * n, 8)})" for n in range(len(events)))
    return len(await db.returning(EMIT_ONCE_SQL.format(rows=rows), values, conn))
