"""Daily reminders about actions that are due soon or overdue (docs/domain.md#action-reminders).

This module decides which actions need a reminder today and says so as events; who is told, in the app and by
e-mail as each user prefers, is the fan-out's (marac/alerts/fanout.py, docs/notifications.md), as for every
other event."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from marac.actions.models import OPEN, Action
from marac.agencies.models import Conference
from marac.notices.events import Scheduled, emit_once
from marac.notices.models import Event

log = logging.getLogger("marac.reminders")

DUE_SOON_DAYS = 3
BATCH = 500  # actions a statement: 8 values each, within SQLite's and asyncpg's limits on bound values


def dedupe_key(kind: str, action_id: str, today: date) -> str:
    return f"{kind}:{action_id}:{today.isoformat()}"


async def emit_reminders(today: date) -> int:
    """Rule (docs/domain.md#action-reminders): for every action not closed (open or in progress), one
    `action.due` event when it is due between today and today + 3 days, or one `action.overdue` event when its
    due date has passed. Once per action and day: each event carries a unique key, so running it again the same
    day, or two runs at once, emit nothing more. Returns how many events were emitted."""
    count = 0
    for conference_id in await Conference.all().order_by("id").values_list("id", flat=True):
        count += await _emit_for(str(conference_id), today)
    log.info("emit_reminders events=%d", count)
    return count


async def _emit_for(conference_id: str, today: date) -> int:
    """One conference's reminders, BATCH actions a statement: a national run holds one conference's open work at
    a time, never the country's, and no transaction spans more than one batch (docs/benchmarks.md#background-work)."""
    # Only open work up to the horizon: the (conference_id, status, due_date) index answers it, closed history is
    # never read.
    actions = (
        await Action.filter(
            conference_id=conference_id,
            status__in=OPEN,
            due_date__lte=today + timedelta(days=DUE_SOON_DAYS),
        )
        .order_by("id")
        .values_list("id", "meeting_id", "owner_agency_id", "due_date")
    )
    count = 0
    for start in range(0, len(actions), BATCH):
        due: dict[str, Scheduled] = {}
        for action_id, meeting_id, agency_id, due_date in actions[start : start + BATCH]:
            kind = "action.overdue" if due_date < today else "action.due"
            key = dedupe_key(kind, action_id, today)
            due[key] = Scheduled(
                kind,
                key,
                conference_id=conference_id,
                meeting_id=meeting_id,
                action_id=action_id,
                agency_id=agency_id,
                data={"day": today.isoformat(), "due_date": due_date.isoformat()},
            )
        emitted = set(await Event.filter(dedupe_key__in=list(due)).values_list("dedupe_key", flat=True))
        # Another run may emit some meanwhile: the unique key leaves those out, and they are not counted here.
        count += await emit_once([event for key, event in due.items() if key not in emitted])
    return count
