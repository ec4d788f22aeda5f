"""Telling a user something in the app. It sits below every domain, so account locks and notices (agencies),
break-glass reviews (referrals) and the fan-out of events (marac/alerts, which writes the rows of events itself,
action reminders among them) all write here without importing one another. E-mail is marac.notify; this is only
the row the notifications page lists."""

from __future__ import annotations

from datetime import date
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from marac.clock import now
from marac.notices.models import Notification

SHOWN = 200  # the newest; older reminders have been acted on or repeated since

KINDS = (
    "break_glass",
    "own_lock",
    "account_lock",
    "account_created",
    "account_reset",
    "account_role",
    "research_chase",
    "minutes_version",
    "webhook_failing",
)


async def post(
    user_id: str, kind: str, day: date, *, conn: BaseDBAsyncClient | None = None, **about: Any
) -> Notification:
    """One notification for one user; ``about`` names what it is about (action_id, break_glass_id,
    about_user_id with conference_id and role, meeting_id)."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    return await Notification.create(user_id=user_id, kind=kind, day=day, using_db=conn, **about)


async def read_own(user_id: str) -> list[Notification]:
    """A user's own newest notifications, marked read as they are read (opening the page reads them). Only their
    own rows, with kinds, dates and whose account was made: no case details, so nothing here needs access.py;
    the page each one links to decides what its reader may see."""
    items = await (
        Notification.filter(user_id=user_id)
        .select_related("action", "about_user", "about_user__agency", "conference", "meeting", "event")
        .order_by("-day", "-id")
        .limit(SHOWN)
    )
    await Notification.filter(user_id=user_id, read_at__isnull=True).update(read_at=now())
    return items
