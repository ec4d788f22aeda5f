"""The coordinator's dashboard: what needs doing in each conference they coordinate."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from marac import dashboard as boards
from marac.agencies.access import Can
from marac.clock import today
from marac.web.auth import Caller, page
from marac.web.templating import render


@page(Can.READ_DASHBOARD)
async def dashboard(request: Request, caller: Caller) -> Response:
    day = today()
    return render(request, "dashboard.html", {"boards": await boards.for_coordinator(caller.viewer, day), "today": day})


routes = [
    Route("/dashboard", dashboard, methods=["GET"]),
]
