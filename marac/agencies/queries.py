"""The directory's hand-written SQL. Each query answers what ORM queries would, in one round trip on a
path every request takes; tests/test_queries.py compares the two on the same data."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from marac import db
from marac.agencies.models import ConferenceRole, User


@functools.cache  # the user table's columns are fixed once Tortoise is up
def _token_sql() -> str:
    user_columns = ", ".join(f'u."{column}"' for column in User._meta.db_fields)
    # One row per conference given to the user (one row with NULLs for none), each saying the
    # user's role there (NULL: their own), whether the user's agency is a member there and
    # whether it receives the conference's referrals: the token, its user and everything the
    # caller's entitlements need, in one round trip.
    return (
        f'SELECT t."id" AS "token_id", t."last_used_at" AS "token_used_at", t."expires_at" AS "token_expires_at", '
        'uc."conference_id" AS "assigned", cr."role" AS "conference_role", '
        f'm."id" AS "membership_id", m."receives_referrals" AS "receives_referrals", {user_columns} '
        'FROM "api_token" t JOIN "user" u ON u."id" = t."user_id" '
        'LEFT JOIN "user_conference" uc ON uc."user_id" = u."id" '
        'LEFT JOIN "membership" m ON m."conference_id" = uc."conference_id" AND m."agency_id" = u."agency_id" '
        'LEFT JOIN "conference_role" cr ON cr."conference_id" = uc."conference_id" AND cr."user_id" = u."id" '
        'WHERE t."token_hash" = $1 AND t."revoked_at" IS NULL'
    )


async def token_rows(token_hash: str) -> list[dict[str, Any]]:
    """For an unrevoked token: its id and times, its user's columns, and one row per conference given to
    the user (``assigned``) with the user's role there (``conference_role``, None: their own), the membership
    of the user's agency there (``membership_id``, or None) and whether it receives referrals there."""
    return [dict(row) for row in await db.fetch(_token_sql(), [token_hash])]


async def holding_role(role: str, conference_ids: Iterable[Any], conn: Any = None, active: bool = True) -> list[str]:
    """The ids (sorted) of the users whose role in one of these conferences is `role`: their own role
    there, or the one given them in that conference alone (agencies.models.ConferenceRole)."""
    ids = [c for c in conference_ids if c]
    if not ids:
        return []
    given = (
        await User.filter(active=active, conferences__id__in=ids)
        .using_db(conn)
        .values_list("id", "role", "conferences__id")
    )
    other = {
        (user_id, conference_id): their_role
        for user_id, conference_id, their_role in await ConferenceRole.filter(conference_id__in=ids)
        .using_db(conn)
        .values_list("user_id", "conference_id", "role")
    }
    return sorted(
        {user_id for user_id, own, conference_id in given if other.get((user_id, conference_id), own) == role}
    )
