"""Meetings in the JSON API: the schedule, the agenda, publication, the research list."""

from __future__ import annotations

import datetime
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from marac import validation
from marac.agencies import access
from marac.agencies.access import Can, Viewer
from marac.clock import today
from marac.documents import store
from marac.errors import RuleViolation
from marac.jobs import flows
from marac.meetings import agenda, schedule
from marac.referrals.schemas import Strict
from marac.web.auth import Caller, api
from marac.web.openapi import DATE, query

MAX_COUNT = 52
MAX_YEARS_AHEAD = 10


class MeetingOut(BaseModel):
    id: str
    date: datetime.date  # the module's name: `date` is this field within the class
    cut_off: datetime.date
    status: str
    kind: str


class MeetingList(BaseModel):
    items: list[MeetingOut]
    next: str | None = None


class AgendaOut(BaseModel):
    meeting_id: str
    date: str
    status: str
    sections: list[dict[str, Any]]
    moved: list[dict[str, Any]] = Field(
        description="Cases moved to the next meeting (over capacity or deferred), with the reason"
    )


class Identified(BaseModel):
    name: str | None
    date_of_birth: date | None


class ResearchVictim(Identified):
    address: str | None


class ResearchPerson(Identified):
    address: str | None = Field(default=None, description="A perpetrator's; a child's if not the victim's")


class ResearchItem(BaseModel):
    case_id: str
    label: str
    kind: str
    transfer_from: str | None = Field(default=None, description="A transfer: the MARAC the case comes from")
    victim: ResearchVictim
    perpetrators: list[ResearchPerson]
    children: list[ResearchPerson]


class ResearchListOut(BaseModel):
    meeting_id: str
    items: list[ResearchItem]


class ResearchIn(Strict):
    known: bool
    summary: str = Field(default="", max_length=5000)
    # From the victim's advocate (the receiving advocacy agency) only; for the chair and coordinator.
    victim_contacted: Literal["yes", "no", "unable"] | None = Field(
        default=None, description="The advocate's contact with the victim before the meeting"
    )
    contacted_on: date | None = Field(default=None, description="When the victim was contacted; not in the future")
    victim_views: str | None = Field(default=None, max_length=5000, description="The victim's views and wishes")

    def contact(self) -> agenda.VictimContact | None:
        if self.victim_contacted is None:
            if self.contacted_on is not None or self.victim_views:
                raise RuleViolation(
                    "Say whether the victim was contacted",
                    {"victim_contacted": "Send yes, no or unable with the contact date or the victim's views"},
                )
            return None
        return agenda.VictimContact(self.victim_contacted, self.contacted_on, self.victim_views)


class ResearchOut(BaseModel):
    case_id: str
    known: bool
    summary: str
    victim_contacted: str | None = None
    contacted_on: date | None = None
    victim_views: str | None = None


class PackAccepted(BaseModel):
    job_id: str = Field(description="GET /api/v1/jobs/{job_id} for its progress, then ask for the pack again")
    message: str


async def meeting_seen(viewer: Viewer, params: dict[str, str]) -> None:
    await agenda.visible_meeting(viewer, params["meeting_id"])


@api(
    response=MeetingList,
    params=[
        query("from", DATE, "First day (default today)", empty_is_absent=True),
        query("count", {"type": "integer", "minimum": 1, "maximum": MAX_COUNT, "default": 6}, "How many meetings"),
    ],
)
async def list_meetings(request: Request, caller: Caller) -> MeetingList:
    """The conference's meetings from a date (default today), generated from its cadence as far as asked."""
    conference = await access.get_conference(caller.viewer, request.path_params["slug"])
    start = validation.day(request.query_params["from"], "from") if request.query_params.get("from") else today()
    # Meetings are generated as far as asked: not into the distant future (nor past year 9999).
    if start > today() + timedelta(days=366 * MAX_YEARS_AHEAD):
        raise RuleViolation("Too far ahead", {"from": f"Choose a date within {MAX_YEARS_AHEAD} years from today"})
    count = validation.number(
        request.query_params.get("count", "6"), "count", 1, MAX_COUNT, f"Ask for 1 to {MAX_COUNT} meetings"
    )
    meetings = await schedule.upcoming(conference, start, count)
    return MeetingList(
        items=[MeetingOut(id=m.id, date=m.date, cut_off=m.cut_off, status=m.status, kind=m.kind) for m in meetings]
    )


@api(Can.READ_AGENDA, response=AgendaOut, record=meeting_seen)
async def get_agenda(request: Request, caller: Caller) -> dict[str, Any]:
    """The agenda, built afresh until it is published; the frozen snapshot after."""
    meeting = await agenda.visible_meeting(caller.viewer, request.path_params["meeting_id"])
    return await agenda.read_agenda(caller.viewer, meeting)


@api(Can.MANAGE_MEETINGS, response=AgendaOut, record=meeting_seen)
async def publish_agenda(request: Request, caller: Caller) -> dict[str, Any]:
    """Freeze the agenda and release the research list to member agencies."""
    meeting = await agenda.agenda_meeting(caller.viewer, request.path_params["meeting_id"])
    return await flows.publish_agenda(caller.viewer, meeting)


@api(Can.RESEARCH, response=ResearchListOut, record=meeting_seen)
async def research_list(request: Request, caller: Caller) -> ResearchListOut:
    """Limited identifiers of the published agenda's cases, for member agencies to check their records."""
    meeting = await agenda.visible_meeting(caller.viewer, request.path_params["meeting_id"])
    cases = await agenda.read_research_list(caller.viewer, meeting)
    return ResearchListOut(
        meeting_id=meeting.id,
        items=[
            ResearchItem(
                case_id=c.case_id,
                label=c.label,
                kind=c.kind,
                transfer_from=c.transfer_from,
                victim=ResearchVictim(**c.victim),
                perpetrators=[ResearchPerson(**p) for p in c.perpetrators],
                children=[ResearchPerson(**p) for p in c.children],
            )
            for c in cases
        ],
    )


@api(Can.RESEARCH, body=ResearchIn, response=ResearchOut, record=meeting_seen)
async def put_research(request: Request, caller: Caller, body: ResearchIn) -> ResearchOut:
    """Record whether the caller's agency knows the people in a case, and what it will bring."""
    meeting = await agenda.research_meeting(caller.viewer, request.path_params["meeting_id"])
    research = await flows.record_research(
        caller.viewer, meeting, request.path_params["case_id"], body.known, body.summary, body.contact()
    )
    return ResearchOut(
        case_id=research.item_id,
        known=research.known,
        summary=research.summary,
        victim_contacted=research.victim_contacted,
        contacted_on=research.contacted_on,
        victim_views=research.victim_views,
    )


def pdf_response(document) -> Response:
    return Response(
        store.read(document),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{document.reference}.pdf"'},
    )


@api(Can.RESEARCH, response="application/pdf", record=meeting_seen)
async def agenda_pdf(request: Request, caller: Caller) -> Response:
    """The research-list document (PDF) for the caller's agency."""
    return pdf_response(await agenda.agenda_document(caller.viewer, request.path_params["meeting_id"]))


@api(
    response="application/pdf",
    accepted=PackAccepted,
    errors={409: "The agenda is not published yet: the pack is ready from publication"},
)
async def chair_pack(request: Request, caller: Caller) -> Response:
    """The chair's preparation pack (PDF) for the conference's chair or coordinator; 404 for anyone else.

    When the stored pack no longer shows the meeting as it is (research came in), it is laid out
    again by a job: 202 with the job's id; ask again once the job is done."""
    found = await flows.chair_pack(caller.viewer, request.path_params["meeting_id"])
    if isinstance(found, bytes):
        return Response(
            found,
            media_type="application/pdf",
            headers={"Content-Disposition": 'attachment; filename="chair-pack.pdf"'},
        )
    accepted = PackAccepted(
        job_id=found.id, message="The chair's pack is being prepared: ask again when the job is done"
    )
    return JSONResponse(accepted.model_dump(), status_code=202)


routes = [
    Route("/api/v1/meetings/{meeting_id}/chair-pack.pdf", chair_pack, methods=["GET"]),
    Route("/api/v1/conferences/{slug}/meetings", list_meetings, methods=["GET"]),
    Route("/api/v1/meetings/{meeting_id}/agenda", get_agenda, methods=["GET"]),
    Route("/api/v1/meetings/{meeting_id}/agenda/publish", publish_agenda, methods=["POST"]),
    Route("/api/v1/meetings/{meeting_id}/research-list", research_list, methods=["GET"]),
    Route("/api/v1/meetings/{meeting_id}/agenda.pdf", agenda_pdf, methods=["GET"]),
    Route("/api/v1/meetings/{meeting_id}/cases/{case_id}/research", put_research, methods=["PUT"]),
]
