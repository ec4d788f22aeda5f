"""The daily runs of telling people: scheduled events (06:45 UK time) and each user's digest (07:00).

Minutes not circulated within 3 working days of their meeting (England and Wales bank holidays, or the
conference's nation: docs/domain.md#circulating-minutes) become one `minutes.late` event per meeting, told to
the coordinators; actions due within 3 days or overdue become one `action.due` or `action.overdue` event per
action and day (marac/actions/reminders.py), told to the owner agency. Emitted before the digest, so the
fan-out (every minute) has told them when the digest is put together. The digest is one e-mail per user per
day: counts per kind of the notices that waited for it, and a link; each notice is claimed before its e-mail is
put in the outbox, so two runs send it once."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import date

from tortoise.transactions import in_transaction

from marac.actions import reminders
from marac.agencies.models import Conference
from marac.alerts import fanout
from marac.minutes.service import uncirculated
from marac.notices.events import emit
from marac.notices.models import Event, Notification

log = logging.getLogger("marac.alerts")


async def emit_scheduled(today: date) -> int:
    """Emit what today makes due; returns how many events. Safe to repeat: a meeting's lateness is told once, an
    action's reminder once a day."""
    emitted = await reminders.emit_reminders(today)
    for conference in await Conference.all():
        late = [m for m in await uncirculated(conference, today) if m.late]
        if not late:
            continue
        told = set(
            await Event.filter(kind="minutes.late", meeting_id__in=[m.meeting_id for m in late]).values_list(
                "meeting_id", flat=True
            )
        )
        for meeting in late:
            if meeting.meeting_id in told:
                continue
            async with in_transaction() as conn:
                await emit(
                    "minutes.late",
                    conference_id=conference.id,
                    meeting_id=meeting.meeting_id,
                    deadline=meeting.deadline.isoformat(),
                    conn=conn,
                )
            emitted += 1
    return emitted


async def put_digests() -> int:
    """One e-mail to each user with notices waiting for their digest; returns how many."""
    waiting: dict[str, list[tuple[int, str]]] = defaultdict(list)
    language: dict[str, str | None] = {}
    for notice_id, user_id, kind, chosen in await Notification.filter(
        emailed=False, event_id__isnull=False, user__active=True
    ).values_list("id", "user_id", "kind", "user__language"):
        waiting[user_id].append((notice_id, kind))
        language[user_id] = chosen
    put = 0
    for user_id, notices in waiting.items():
        ids = [notice_id for notice_id, _ in notices]
        async with in_transaction() as conn:
            # Claimed first: of two runs at once, the one whose update changed the rows puts the e-mail.
            if not await Notification.filter(id__in=ids, emailed=False).using_db(conn).update(emailed=True):
                continue
            counts = Counter(kind for _, kind in notices)
            await fanout.email(user_id, dict(sorted(counts.items())), language[user_id]).save(using_db=conn)
        put += 1
    return put
