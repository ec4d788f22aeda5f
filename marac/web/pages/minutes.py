"""A meeting's minutes and circulation sub-pages: approval (with a confirmation first), each
recipient's preview (HTML and DRAFT PDF), pending corrections, rendering and circulation."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from marac.agencies.access import Can
from marac.errors import DomainError, NotFound
from marac.i18n import lazy_gettext
from marac.jobs import flows
from marac.meetings import agenda
from marac.meetings.models import Meeting
from marac.minutes import render as minutes_render
from marac.minutes import service as minutes
from marac.web.api_minutes import draft_pdf, preview_agency
from marac.web.auth import Caller, page
from marac.web.errors import status_of
from marac.web.templating import render

DONE = {"approved": lazy_gettext("The minutes are approved"), "rendering": lazy_gettext("Rendering has started")}


async def _minutes_page(
    request: Request, caller: Caller, meeting: Meeting, status: int = 200, **context: Any
) -> Response:
    values: dict[str, Any] = {
        "meeting": meeting,
        "conference": meeting.conference,
        "tab": "minutes",
        "latest": await minutes.latest_version(meeting),
        "done": str(DONE[done]) if (done := request.query_params.get("done", "")) in DONE else None,
        "errors": {},
        "values": {},
        **context,
    }
    if meeting.status in ("published", "held"):
        values["recipients"] = await minutes.recipients(meeting)
        values["changes"] = await minutes.pending_changes(caller.viewer, meeting)
    return render(request, "meetings/minutes.html", values, status=status)


@page(Can.READ_AGENDA)
async def minutes_page(request: Request, caller: Caller) -> Response:
    meeting = await agenda.agenda_meeting(caller.viewer, request.path_params["meeting_id"])
    return await _minutes_page(request, caller, meeting)


@page(Can.READ_AGENDA)
async def circulation_page(request: Request, caller: Caller) -> Response:
    meeting = await agenda.agenda_meeting(caller.viewer, request.path_params["meeting_id"])
    values = {"meeting": meeting, "conference": meeting.conference, "tab": "circulation"}
    if meeting.status == "held":
        values["circulation"] = await minutes.circulation(meeting)
    return render(request, "meetings/circulation.html", values)


@page(Can.READ_AGENDA)
async def preview_page(request: Request, caller: Caller) -> Response:
    """One recipient's minutes as it would receive them now, from the same view as its PDF."""
    meeting = await agenda.agenda_meeting(caller.viewer, request.path_params["meeting_id"])
    agency_id = preview_agency(request)
    if not agency_id:
        return RedirectResponse(f"/meetings/{meeting.id}/minutes#preview", status_code=303)
    preview = await minutes.preview(caller.viewer, meeting, agency_id)
    return render(
        request,
        "meetings/minutes_preview.html",
        {"meeting": meeting, "conference": meeting.conference, "tab": "minutes", "preview": preview, **preview.view},
    )


@page(Can.READ_AGENDA)
async def preview_pdf(request: Request, caller: Caller) -> Response:
    meeting = await agenda.agenda_meeting(caller.viewer, request.path_params["meeting_id"])
    preview = await minutes.preview(caller.viewer, meeting, preview_agency(request))
    return draft_pdf(await minutes_render.preview_pdf(preview))


@page(Can.APPROVE_MINUTES)
async def approve_confirm(request: Request, caller: Caller) -> Response:
    """ "Are you sure": what approval does, and the reason a correction needs."""
    meeting = await agenda.agenda_meeting(caller.viewer, request.path_params["meeting_id"])
    return await _confirm(request, caller, meeting)


async def _confirm(request: Request, caller: Caller, meeting: Meeting, status: int = 200, **context: Any) -> Response:
    values: dict[str, Any] = {
        "meeting": meeting,
        "conference": meeting.conference,
        "tab": "minutes",
        "latest": await minutes.latest_version(meeting),
        "errors": {},
        "values": {},
        **context,
    }
    if meeting.status == "held":
        values["changes"] = await minutes.pending_changes(caller.viewer, meeting)
    return render(request, "meetings/minutes_approve.html", values, status=status)


@page(Can.APPROVE_MINUTES)
async def approve(request: Request, caller: Caller) -> Response:
    meeting = await agenda.agenda_meeting(caller.viewer, request.path_params["meeting_id"])
    reason = str(request.state.form.get("reason", ""))
    try:
        await minutes.approve(caller.viewer, meeting, reason)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        errors = exc.fields or {"minutes": exc.message}
        return await _confirm(
            request, caller, meeting, status=status_of(exc, page=True), errors=errors, values={"reason": reason}
        )
    return RedirectResponse(f"/meetings/{meeting.id}/minutes?done=approved", status_code=303)


@page(Can.MANAGE_MEETINGS)
async def render_minutes(request: Request, caller: Caller) -> Response:
    meeting = await agenda.agenda_meeting(caller.viewer, request.path_params["meeting_id"])
    try:
        job = await flows.render_minutes(caller.viewer, meeting)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return await _minutes_page(
            request, caller, meeting, status=status_of(exc, page=True), errors={"minutes": exc.message}
        )
    return RedirectResponse(f"/jobs/{job.id}?meeting={meeting.id}", status_code=303)


routes = [
    Route("/meetings/{meeting_id}/minutes", minutes_page, methods=["GET"]),
    Route("/meetings/{meeting_id}/circulation", circulation_page, methods=["GET"]),
    Route("/meetings/{meeting_id}/minutes/preview", preview_page, methods=["GET"]),
    Route("/meetings/{meeting_id}/minutes/preview.pdf", preview_pdf, methods=["GET"]),
    Route("/meetings/{meeting_id}/minutes/approve", approve_confirm, methods=["GET"]),
    Route("/meetings/{meeting_id}/minutes/approve", approve, methods=["POST"]),
    Route("/meetings/{meeting_id}/minutes/render", render_minutes, methods=["POST"]),
]
