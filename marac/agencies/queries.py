"""The directory's hand-written SQL. Each query answers what ORM queries would, in one round trip on a
path every request takes; tests/test_queries.py compares the two on the same data."""

from __future__ import annotations

import functools
from typing import Any

from marac import db
from marac.agencies.models import User


@functools.cache  # the user table's columns are fixed once Tortoise is up
def _token_sql() -> str:
    user_columns = ", ".join(f'u."{column}"' for column in User._meta.db_fields)
    # One row per conference given to the user (one row with NULLs for none), each saying
    # whether the user's agency is a member there: the token, its user and everything the
    # caller's entitlements need, in one round trip.
    return (
        f'SELECT t."id" AS "token_id", t."last_used_at" AS "token_used_at", t."expires_at" AS "token_expires_at", '
        'uc."conference_id" AS "assigned", '
        f'm."id" AS "membership_id", {user_columns} '
        'FROM "api_token" t JOIN "user" u ON u."id" = t."user_id" '
        'LEFT JOIN "user_conference" uc ON uc."user_id" = u."id" '
        'LEFT JOIN "membership" m ON m."conference_id" = uc."conference_id" AND m."agency_id" = u."agency_id" '
        'WHERE t."token_hash" = $1 AND t."revoked_at" IS NULL'
    )


async def token_rows(token_hash: str) -> list[dict[str, Any]]:
    """For an unrevoked token: its id and times, its user's columns, and one row per conference given to
    the user (``assigned``) with the membership of the user's agency there (``membership_id``, or None)."""
    return [dict(row) for row in await db.fetch(_token_sql(), [token_hash])]
