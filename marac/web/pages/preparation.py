"""The chair's preparation page, the chair's pack (PDF) and chasing research, for the conference's
chair and coordinator (marac/actions/preparation.py decides what they hold)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from marac.actions import preparation
from marac.agencies.access import Can
from marac.errors import DomainError, NotFound
from marac.jobs import flows
from marac.meetings.models import Meeting
from marac.web.auth import Caller, page
from marac.web.errors import status_of
from marac.web.templating import render


async def _page(request: Request, caller: Caller, meeting: Meeting, status: int = 200, **context) -> Response:
    found = await preparation.read_preparation(caller.viewer, meeting)
    state = await flows.pack_state(meeting, found)
    missing: dict[str, dict] = {}
    for case in found["cases"]:
        for returned in case["research"]:
            if returned["status"] == "not returned":
                entry = missing.setdefault(returned["agency_id"], {**returned, "count": 0})
                entry["count"] += 1
    return render(
        request,
        "meetings/preparation.html",
        {
            "meeting": meeting,
            "conference": meeting.conference,
            "prep": found,
            "pack": state["ready"],
            "pack_job": state["job"],
            "missing": list(missing.values()),
            "may_chase": caller.viewer.can(Can.MANAGE_MEETINGS) and meeting.status == "published",
            "chased": request.query_params.get("chased") == "1",
            **context,
        },
        status=status,
    )


@page()
async def preparation_page(request: Request, caller: Caller) -> Response:
    meeting = await preparation.prepared_meeting(caller.viewer, request.path_params["meeting_id"])
    return await _page(request, caller, meeting)


@page()
async def chair_pack(request: Request, caller: Caller) -> Response:
    """The pack with the reader's footer; while it is being laid out, the preparation page shows its progress."""
    found = await flows.chair_pack(caller.viewer, request.path_params["meeting_id"])
    if isinstance(found, bytes):
        return Response(
            found,
            media_type="application/pdf",
            headers={"Content-Disposition": 'attachment; filename="chair-pack.pdf"'},
        )
    return RedirectResponse(f"/meetings/{request.path_params['meeting_id']}/preparation#pack", status_code=303)


@page(Can.MANAGE_MEETINGS)
async def chase(request: Request, caller: Caller) -> Response:
    meeting = await preparation.prepared_meeting(caller.viewer, request.path_params["meeting_id"])
    try:
        await preparation.chase(caller.viewer, meeting, str(request.state.form.get("agency_id", "")))
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return await _page(
            request, caller, meeting, status=status_of(exc, page=True), errors=exc.fields or {"chase": exc.message}
        )
    return RedirectResponse(f"/meetings/{meeting.id}/preparation?chased=1#research", status_code=303)


routes = [
    Route("/meetings/{meeting_id}/preparation", preparation_page, methods=["GET"]),
    Route("/meetings/{meeting_id}/preparation/chase", chase, methods=["POST"]),
    Route("/meetings/{meeting_id}/chair-pack.pdf", chair_pack, methods=["GET"]),
]
