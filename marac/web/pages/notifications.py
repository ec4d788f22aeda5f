"""The signed-in user's own notifications (events they are told of: docs/notifications.md; action reminders; for
coordinators, break-glass uses and accounts with case access an administrator created or reset); opening the page
marks them read."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from marac import notices, todo
from marac.alerts import inbox
from marac.web.auth import Caller, page
from marac.web.templating import render


@page()
async def notifications(request: Request, caller: Caller) -> Response:
    items = await notices.read_own(caller.user.id)
    request.state.unread = 0  # read now
    decided = await inbox.decisions(caller.viewer, items)
    return render(
        request,
        "notifications/list.html",
        {"notifications": items, "decided": decided, "role_word": todo.role_word},
    )


routes = [
    Route("/notifications", notifications, methods=["GET"]),
]
