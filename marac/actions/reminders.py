"""Daily reminders about actions that are due soon or overdue (docs/domain.md#action-reminders).

This module decides which actions need a reminder today and says so as events; who is told, in the app and by
e-mail as each user prefers, is the fan-out's (marac/alerts/fanout.py, docs/notifications.md), as for every
other event."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from marac.actions.models import OPEN, Action
from marac.agencies.models import Conference
from marac.notices.events import emit
from marac.notices.models import Event

log = logging.getLogger("marac.reminders")

DUE_SOON_DAYS = 3


def dedupe_key(kind: str, action_id: str, today: date) -> str:
    return f"{kind}:{action_id}:{today.isoformat()}"


async def emit_reminders(today: date) -> int:
    """Rule (docs/domain.md#action-reminders): for every action not closed (open or in progress), one
    `action.due` event when it is due between today and today + 3 days, or one `action.overdue` event when its
    due date has passed. Once per action and day: each event carries a unique key, so running it again the same
    day, or two runs at once, emit nothing more. Returns how many events were emitted."""
    conferences = await Conference.all().values_list("id", flat=True)
    if not conferences:
        return 0
    # Only open work up to the horizon: the (conference_id, status, due_date) index answers it, closed history is
    # never read.
    actions = await Action.filter(
        conference_id__in=list(conferences),
        status__in=OPEN,
        due_date__lte=today + timedelta(days=DUE_SOON_DAYS),
    ).values_list("id", "conference_id", "meeting_id", "owner_agency_id", "due_date")
    due: dict[str, tuple[str, str, str, str, str, date]] = {}
    for action_id, conference_id, meeting_id, agency_id, due_date in actions:
        kind = "action.overdue" if due_date < today else "action.due"
        due[dedupe_key(kind, action_id, today)] = (kind, action_id, conference_id, meeting_id, agency_id, due_date)
    if not due:
        return 0
    emitted = set(await Event.filter(dedupe_key__in=list(due)).values_list("dedupe_key", flat=True))
    count = 0
    for key, (kind, action_id, conference_id, meeting_id, agency_id, due_date) in due.items():
        if key in emitted:
            continue
        try:
            async with in_transaction() as conn:
                await emit(
                    kind,
                    conference_id=conference_id,
                    meeting_id=meeting_id,
                    action_id=action_id,
                    agency_id=agency_id,
                    dedupe_key=key,
                    day=today.isoformat(),
                    due_date=due_date.isoformat(),
                    conn=conn,
                )
        except IntegrityError:
            continue  # another run emitted it first: the unique key holds
        count += 1
    log.info("emit_reminders events=%d", count)
    return count
