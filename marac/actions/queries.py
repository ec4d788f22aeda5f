"""The action list and update's hand-written SQL: the API's busiest calls, each one round trip
(docs/benchmarks.md). Each query answers what an ORM query would; tests/test_queries.py compares the
two on the same data. Who may see which actions is decided by the caller (actions/service.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from marac import db
from marac.actions.models import OPEN

# An action with its case number and meeting date (never the meeting's sealed agenda snapshot),
# looked up by primary key for the rows returned only: a join let the planner read the whole
# meeting table instead.
_ROW_COLUMNS = (
    'a."id", a."version", a."status", a."description", a."conference_id", a."owner_agency_id", '
    'a."due_date", a."created_at", a."meeting_id", a."item_id"'
)
_ROW_SELECT = (
    f"SELECT {_ROW_COLUMNS}, "
    '(SELECT i."number" FROM "agenda_item" i WHERE i."id" = a."item_id") AS "number", '
    '(SELECT m."date" FROM "meeting" m WHERE m."id" = a."meeting_id") AS "meeting_date"'
)
_OWNER_NAME = ', (SELECT ag."name" FROM "agency" ag WHERE ag."id" = a."owner_agency_id") AS "owner_agency_name"'
# The statuses still open, not "anything but closed": with status in the index this reads the open
# actions only, never the owner's years of closed ones. Written out (they are constants) so the
# planner knows them even in a prepared statement's plan.
_OPEN_SQL = ", ".join(f"'{status}'" for status in OPEN)


async def page(
    conference_ids: list[str],
    *,
    owner_agency_ids: tuple[str, ...] = (),
    open_only: bool = False,
    due_before: date | None = None,
    due_from: date | None = None,
    due_to: date | None = None,
    after: tuple[date, datetime, str] | None = None,
    limit: int = 500,
    named: bool = False,
) -> list[dict[str, Any]]:
    """Actions of these conferences (and owner agencies), ordered by due date, creation and id, after
    the (due_date, created_at, id) ``after``: each row's columns, ``number`` (its agenda item's),
    ``meeting_date`` and, when ``named``, ``owner_agency_name``."""
    values: list[Any] = list(conference_ids)
    where = [f'p."conference_id" IN ({db.marks(1, len(values))})']

    def bind(condition: str, *given: object) -> None:
        # condition names its values ?, ?...: each becomes the next $n
        for value in given:
            values.append(value)
            condition = condition.replace("?", f"${len(values)}", 1)
        where.append(condition)

    for owner in owner_agency_ids:
        bind('p."owner_agency_id" = ?', owner)
    if open_only:
        where.append(f'p."status" IN ({_OPEN_SQL})')
    if due_before is not None:
        bind('p."due_date" < ?', due_before)
    if due_from is not None:
        bind('p."due_date" >= ?', due_from)
    if due_to is not None:
        bind('p."due_date" <= ?', due_to)
    if after is not None:
        bind('(p."due_date", p."created_at", p."id") > (?, ?, ?)', *after)
    # The page's ids from the index alone (see Action.Meta.indexes), then only its rows and labels.
    ids = (
        f'SELECT p."id" FROM "action" p WHERE {" AND ".join(where)} '
        f'ORDER BY p."due_date", p."created_at", p."id" LIMIT {int(limit)}'
    )
    sql = (
        f'{_ROW_SELECT}{_OWNER_NAME if named else ""} FROM ({ids}) page JOIN "action" a ON a."id" = page."id" '
        'ORDER BY a."due_date", a."created_at", a."id"'
    )
    return [dict(row) for row in await db.fetch(sql, values)]


async def one(action_id: str) -> dict[str, Any] | None:
    """One action's row, as ``page`` gives it (without the owner's name), and ``case_id`` (its agenda item's
    referral: the case its audit events name); None when there is none."""
    case = ', (SELECT i."referral_id" FROM "agenda_item" i WHERE i."id" = a."item_id") AS "case_id"'
    rows = await db.fetch(f'{_ROW_SELECT}{case} FROM "action" a WHERE a."id" = $1', [action_id])
    return dict(rows[0]) if rows else None


async def bump_version(
    action_id: str, expected_version: int, status: str, at: datetime, conn: BaseDBAsyncClient | None = None
) -> bool:
    """Set the status and the next version if the action is still at ``expected_version``: of two
    writers holding the same version, one wins. Whether this one did. A new status ends the review
    of the old one (`end_reviewed_meeting_id`: the new status has not been reviewed)."""
    changed = await db.execute(
        'UPDATE "action" SET "status" = $1, "version" = $2, "updated_at" = $3, "end_reviewed_meeting_id" = '
        'CASE WHEN "status" = $6 THEN "end_reviewed_meeting_id" END WHERE "id" = $4 AND "version" = $5',
        # The status again as $6: PostgreSQL deduces one type per parameter, and SET and = deduce two.
        [status, expected_version + 1, at, action_id, expected_version, status],
        conn,
    )
    return bool(changed)


async def bump_and_log(
    action_id: str,
    expected_version: int,
    status: str,
    at: datetime,
    text: str,
    user_id: str,
    agency_id: str,
    conn: BaseDBAsyncClient,
) -> bool:
    """bump_version, and when it won, the update's row in the action's history (action_update) as
    ActionUpdate.create writes it: on PostgreSQL in one statement, the update's API call having no round trip
    to spare (docs/benchmarks.md); SQLite has no UPDATE inside WITH, so two there."""
    if conn.capabilities.dialect == "sqlite":
        if not await bump_version(action_id, expected_version, status, at, conn):
            return False
        await db.execute(
            'INSERT INTO "action_update" ("action_id", "status", "text", "version", "user_id", "agency_id", "at") '
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [action_id, status, text, expected_version + 1, user_id, agency_id, at],
            conn,
        )
        return True
    logged = await db.fetch(
        'WITH "bumped" AS (UPDATE "action" SET "status" = $1, "version" = $2, "updated_at" = $3, '
        '"end_reviewed_meeting_id" = CASE WHEN "status" = $6 THEN "end_reviewed_meeting_id" END '
        'WHERE "id" = $4 AND "version" = $5 RETURNING "id") '
        'INSERT INTO "action_update" ("action_id", "status", "text", "version", "user_id", "agency_id", "at") '
        'SELECT "id", $6, $7, $2, $8, $9, $3 FROM "bumped" RETURNING "id"',
        [status, expected_version + 1, at, action_id, expected_version, status, text, user_id, agency_id],
        conn,
    )
    return bool(logged)


async def bump_reviewed(
    action_id: str,
    expected_version: int,
    status: str,
    at: datetime,
    end_reviewed_meeting_id: str | None,
    conn: BaseDBAsyncClient | None = None,
) -> bool:
    """bump_version for a review at a meeting, which also records whether (and where) the action's undone
    end was reviewed: the same compare-and-set, so a review and an update never overwrite each other."""
    changed = await db.execute(
        'UPDATE "action" SET "status" = $1, "version" = $2, "updated_at" = $3, "end_reviewed_meeting_id" = $4 '
        'WHERE "id" = $5 AND "version" = $6',
        [status, expected_version + 1, at, end_reviewed_meeting_id, action_id, expected_version],
        conn,
    )
    return bool(changed)
