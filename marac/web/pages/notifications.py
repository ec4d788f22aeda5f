"""The signed-in user's own notifications (action reminders; for coordinators, break-glass uses and
accounts with case access an administrator created or reset); opening the page marks them read."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from marac.notices.models import Notification
from marac.agencies import auth
from marac.web.auth import Caller, page
from marac.web.templating import render

SHOWN = 200  # the newest; older reminders have been acted on or repeated since


@page()
async def notifications(request: Request, caller: Caller) -> Response:
    # Only the caller's own rows, showing kind and due date, or whose account was made: no case
    # details, so nothing here needs access.py. The page the link opens decides what they may see.
    items = await (
        Notification.filter(user_id=caller.user.id)
        .select_related("action", "about_user", "about_user__agency", "conference")
        .order_by("-day", "-id")
        .limit(SHOWN)
    )
    await Notification.filter(user_id=caller.user.id, read_at__isnull=True).update(read_at=auth.now())
    return render(request, "notifications/list.html", {"notifications": items})


routes = [
    Route("/notifications", notifications, methods=["GET"]),
]
