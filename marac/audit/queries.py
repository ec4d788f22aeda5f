"""The audit trail's hand-written SQL. Each query answers what an ORM query would, only cheaper on a path
every audited change takes; tests/test_queries.py compares the two on the same data."""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from marac import db

LAST_EVENT = 'SELECT "seq", "hash" FROM "audit_event" ORDER BY "seq" DESC LIMIT 1'


async def last_event(conn: BaseDBAsyncClient | None = None) -> dict[str, Any] | None:
    """The newest event's seq and hash (what the next event chains to), or None for an empty trail."""
    rows = await db.fetch(LAST_EVENT, conn=conn)
    return dict(rows[0]) if rows else None
