"""The caller's own notifications and their e-mail choices (docs/notifications.md): the same use cases as
/notifications and the account page."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.routing import Route

from marac.agencies.access import Can
from marac.alerts import inbox, preferences
from marac.errors import RuleViolation
from marac.web.auth import Caller, api
from marac.web.openapi import query

CURSOR_RE = re.compile(r"[0-9]{1,18}")  # a notification's id
Mode = Literal["immediate", "digest", "off"]


class NotificationOut(BaseModel):
    id: int
    kind: str
    at: datetime
    link: str
    read: bool


class NotificationList(BaseModel):
    items: list[NotificationOut]
    next: str | None


class NotificationPreferences(BaseModel):
    """How the caller is e-mailed of each kind: immediately, in the daily digest (07:00 UK time), or off.
    research due (agenda_published), action_assigned and minutes_ready cannot be off."""

    model_config = ConfigDict(extra="forbid")
    referral_received: Mode | None = None
    referral_decided: Mode | None = None
    repeat_detected: Mode | None = None
    possible_duplicate: Mode | None = None
    agenda_published: Mode | None = None
    action_assigned: Mode | None = None
    action_due: Mode | None = None  # the daily reminders of actions due within 3 days or overdue
    minutes_ready: Mode | None = None
    minutes_late: Mode | None = None


@api(
    Can.REFER,
    response=NotificationList,
    params=[
        query("cursor", {"type": "string", "pattern": f"^{CURSOR_RE.pattern}$"}, "The next value of the previous page")
    ],
)
async def list_notifications(request: Request, caller: Caller) -> NotificationList:
    """The caller's own notifications, newest first, 50 a page. Reading them here does not mark them read."""
    cursor = request.query_params.get("cursor")
    if cursor is not None and not CURSOR_RE.fullmatch(cursor):
        raise RuleViolation("Bad cursor", {"cursor": "Use the next value of the previous page"})
    items, after = await inbox.listing(caller.user.id, int(cursor) if cursor else None)
    return NotificationList(
        items=[NotificationOut(id=i.id, kind=i.kind, at=i.at, link=i.link, read=i.read) for i in items],
        next=str(after) if after is not None else None,
    )


def _out(chosen: list[preferences.Preference]) -> NotificationPreferences:
    return NotificationPreferences.model_validate({p.kind: p.mode for p in chosen})


@api(Can.REFER, response=NotificationPreferences)
async def get_preferences(request: Request, caller: Caller) -> NotificationPreferences:
    """How the caller is e-mailed of each kind of notification (their role's defaults until they choose)."""
    return _out(await preferences.read(caller.user.id, caller.user.role))


@api(Can.REFER, body=NotificationPreferences, response=NotificationPreferences, errors={422: "A duty switched off"})
async def set_preferences(request: Request, caller: Caller, body: NotificationPreferences) -> NotificationPreferences:
    """Change the kinds sent; the others stay as they were."""
    choices: dict[str, object] = body.model_dump(exclude_none=True)
    return _out(await preferences.choose(caller.user.id, caller.user.role, choices))


routes = [
    Route("/api/v1/notifications", list_notifications, methods=["GET"]),
    Route("/api/v1/notifications/preferences", get_preferences, methods=["GET"]),
    Route("/api/v1/notifications/preferences", set_preferences, methods=["PUT"]),
]
