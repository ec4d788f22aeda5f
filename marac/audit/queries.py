"""The audit trail's hand-written SQL. Each query answers what an ORM query would, only cheaper on a path
every audited change takes; tests/test_queries.py compares the two on the same data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from marac import db

LAST_EVENT = 'SELECT "seq", "hash" FROM "audit_event" ORDER BY "seq" DESC LIMIT 1'

# What a waiting event holds, in this order (audit_pending's columns but its id).
PENDING_COLUMNS = (
    "at",
    "user_id",
    "agency_id",
    "action",
    "object_type",
    "object_id",
    "conference_id",
    "outcome",
    "request_id",
    "case_id",
)
# At most this many rows a statement (PostgreSQL takes 32,767 values).
PENDING_BATCH = 1000

# The chain's head and the oldest waiting events, in one round trip: always one row, whose audit_pending
# columns are empty when nothing waits (and head_seq when the trail is empty).
HEAD_AND_PENDING = (
    'SELECT "h"."seq" AS "head_seq", "h"."hash" AS "head_hash", "p".* FROM (SELECT 1 AS "one") AS "o" '
    'LEFT JOIN (SELECT "seq", "hash" FROM "audit_event" ORDER BY "seq" DESC LIMIT 1) AS "h" ON 1 = 1 '
    'LEFT JOIN (SELECT * FROM "audit_pending" ORDER BY "id" LIMIT $1) AS "p" ON 1 = 1 '
    'ORDER BY "p"."id"'
)


async def last_event(conn: BaseDBAsyncClient | None = None) -> dict[str, Any] | None:
    """The newest event's seq and hash (what the next event chains to), or None for an empty trail."""
    rows = await db.fetch(LAST_EVENT, conn=conn)
    return dict(rows[0]) if rows else None


async def head_and_pending(
    limit: int, conn: BaseDBAsyncClient | None = None
) -> tuple[tuple[int, str] | None, list[dict[str, Any]]]:
    """(the newest event's seq and hash, or None), and up to `limit` waiting events, oldest first, as stored."""
    rows = await db.fetch(HEAD_AND_PENDING, [limit], conn=conn)
    first = rows[0]
    head = (int(first["head_seq"]), str(first["head_hash"])) if first["head_seq"] is not None else None
    return head, [dict(row) for row in rows if row["id"] is not None]


async def add_pending(rows: Sequence[Sequence[Any]], conn: BaseDBAsyncClient | None = None) -> list[int]:
    """Insert waiting events (values in PENDING_COLUMNS order); their ids, in the same order."""
    conn = conn or connections.get("default")
    width, ids = len(PENDING_COLUMNS), []
    columns = ", ".join(f'"{c}"' for c in PENDING_COLUMNS)
    for start in range(0, len(rows), PENDING_BATCH):
        batch = rows[start : start + PENDING_BATCH]
        values = ", ".join(f"({db.marks(1 + n * width, width)})" for n in range(len(batch)))
        sql = f'INSERT INTO "audit_pending" ({columns}) VALUES {values} RETURNING "id"'
        if conn.capabilities.dialect == "sqlite":
            sql = db.PLACEHOLDER.sub(r"?\1", sql)
        # Not db.fetch: Tortoise's execute_query drops what an INSERT returns on PostgreSQL.
        found = await conn.execute_query_dict(sql, [value for row in batch for value in row])
        ids += [int(row["id"]) for row in found]
    return ids
