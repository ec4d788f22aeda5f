"""Minutes in the JSON API: approval, rendering (202 + job), the caller agency's PDF."""

from __future__ import annotations

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from marac import validation
from marac.agencies.access import Can
from marac.ids import ID_PATTERN
from marac.jobs import flows
from marac.meetings import agenda
from marac.minutes import render as minutes_render
from marac.minutes import service
from marac.referrals.schemas import Strict
from marac.validation import MAX_VERSION
from marac.web.api_meetings import meeting_seen, pdf_response
from marac.web.auth import Caller, api
from marac.web.openapi import query


class ApproveIn(Strict):
    reason: str | None = Field(
        default=None, max_length=2000, description="Required for a correction (version 2 onwards)"
    )


class MinutesOut(BaseModel):
    meeting_id: str
    version: int
    status: str


class JobStarted(BaseModel):
    job_id: str


@api(Can.APPROVE_MINUTES, body=ApproveIn, response=MinutesOut, record=meeting_seen)
async def approve(request: Request, caller: Caller, body: ApproveIn) -> MinutesOut:
    """Freeze the minutes as the next version (a correction after the first needs a reason)."""
    meeting = await agenda.agenda_meeting(caller.viewer, request.path_params["meeting_id"])
    minutes = await service.approve(caller.viewer, meeting, body.reason)
    return MinutesOut(meeting_id=meeting.id, version=minutes.version, status=minutes.status)


@api(Can.MANAGE_MEETINGS, response=JobStarted, status=202, record=meeting_seen)
async def render(request: Request, caller: Caller) -> Response:
    """One PDF per recipient agency of the current version, in a background job."""
    meeting = await agenda.agenda_meeting(caller.viewer, request.path_params["meeting_id"])
    job = await flows.render_minutes(caller.viewer, meeting)
    return JSONResponse({"job_id": job.id}, status_code=202)


@api(
    Can.READ_MINUTES,
    response="application/pdf",
    record=meeting_seen,
    params=[
        query(
            "version", {"type": "integer", "minimum": 1, "maximum": MAX_VERSION}, "An earlier version (auditors only)"
        ),
    ],
)
async def minutes_pdf(request: Request, caller: Caller) -> Response:
    """The caller agency's minutes (full or actions-only); auditors name an earlier version with ?version=N."""
    text = request.query_params.get("version")
    version = validation.number(text, "version", 1, MAX_VERSION, "Give a version number") if text is not None else None
    return pdf_response(await flows.minutes_document(caller.viewer, request.path_params["meeting_id"], version))


def preview_agency(request: Request) -> str:
    """The ?agency_id= of a preview: an id or nothing (the service then says to choose one)."""
    text = request.query_params.get("agency_id", "")
    return text if ID_PATTERN.fullmatch(text) else ""


def draft_pdf(pdf: bytes) -> Response:
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": 'attachment; filename="minutes-draft.pdf"'}
    )


@api(
    Can.READ_AGENDA,
    response="application/pdf",
    record=meeting_seen,
    params=[
        query("agency_id", {"type": "string", "pattern": f"^{ID_PATTERN.pattern}$"}, "The recipient agency (required)")
    ],
)
async def preview_pdf(request: Request, caller: Caller) -> Response:
    """The document the agency would receive now, marked DRAFT on every page (chair and coordinator)."""
    meeting = await agenda.agenda_meeting(caller.viewer, request.path_params["meeting_id"])
    preview = await service.preview(caller.viewer, meeting, preview_agency(request))
    return draft_pdf(await minutes_render.preview_pdf(preview))


routes = [
    Route("/api/v1/meetings/{meeting_id}/minutes/approve", approve, methods=["POST"]),
    Route("/api/v1/meetings/{meeting_id}/minutes/render", render, methods=["POST"]),
    Route("/api/v1/meetings/{meeting_id}/minutes.pdf", minutes_pdf, methods=["GET"]),
    Route("/api/v1/meetings/{meeting_id}/minutes/preview.pdf", preview_pdf, methods=["GET"]),
]
