"""A user's own notices as the API lists them ({id, kind, at, link, read}), newest first, and the header's count.
Only the caller's own rows, holding kinds, times and ids: each page a link leads to decides what its reader
may see, so nothing here needs the access rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from marac.agencies import access
from marac.agencies.access import Viewer
from marac.alerts import kinds
from marac.notices.models import Notification
from marac.referrals.models import Referral

PAGE = 50


@dataclass(frozen=True)
class Item:
    id: int
    kind: str
    at: datetime
    link: str
    read: bool


def _link(notice: Notification) -> str:
    event = notice.event
    if event is not None:
        return kinds.link(notice.kind, event.referral_id, event.meeting_id, event.action_id)
    if notice.action_id:
        return f"/actions/{notice.action_id}"
    if notice.kind == "break_glass":
        return "/break-glass/reviews"
    if notice.meeting_id:
        return f"/meetings/{notice.meeting_id}"
    return "/notifications"


async def listing(user_id: str, before: int | None = None, limit: int = PAGE) -> tuple[list[Item], int | None]:
    """One page of the user's notices, newest first, and the cursor of the next page (None: the last)."""
    query = Notification.filter(user_id=user_id)
    if before is not None:
        query = query.filter(id__lt=before)
    rows = await query.select_related("event").order_by("-id").limit(limit + 1)
    items = [
        Item(n.id, kinds.API_KIND.get(n.kind, n.kind), n.created_at, _link(n), n.read_at is not None)
        for n in rows[:limit]
    ]
    return items, (rows[limit - 1].id if len(rows) > limit else None)


async def unread(user_id: str) -> int:
    """The header's count: one query on the (user_id, read_at) index."""
    return await Notification.filter(user_id=user_id, read_at__isnull=True).count()


async def decisions(viewer: Viewer, notices: list[Notification]) -> dict[str, tuple[str, str | None]]:
    """{referral id: (status, reason)} for the decided referrals these notices tell of, as the caller may see them
    now: a rejection's reason is shown in the app, never e-mailed."""
    ids = [n.event.referral_id for n in notices if n.kind == "referral_decided" and n.event and n.event.referral_id]
    if not ids:
        return {}
    rows = await Referral.filter(access.referral_filter(viewer), id__in=ids).values_list(
        "id", "status", "decision_reason"
    )
    return {referral_id: (status, reason) for referral_id, status, reason in rows}
