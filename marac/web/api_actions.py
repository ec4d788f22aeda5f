"""The meeting itself and actions between meetings, in the JSON API."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from marac import validation
from marac.actions import service
from marac.actions.models import ACTION_STATUSES, VISIBILITIES, Note
from marac.agencies.access import Can, Viewer
from marac.clock import today
from marac.errors import RuleViolation
from marac.meetings import agenda
from marac.minutes import amend
from marac.referrals.schemas import Strict
from marac.validation import MAX_VERSION
from marac.web.api_meetings import meeting_seen
from marac.web.auth import Caller, api
from marac.web.openapi import header, query

ActionStatus = Literal[ACTION_STATUSES]  # type: ignore[valid-type]  # pydantic reads a Literal of the domain's tuple; mypy cannot
Visibility = Literal[VISIBILITIES]  # type: ignore[valid-type]  # pydantic reads a Literal of the domain's tuple; mypy cannot


class PresentIn(Strict):
    agency_id: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)


class AttendeeIn(PresentIn):
    confidentiality_signed: bool = Field(
        default=False, description="Whether they accepted the conference's confidentiality statement"
    )


class ApologyIn(PresentIn):
    information_sent: bool
    information_sent_on: date | None = None


class ObserverIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    confidentiality_signed: bool


class AttendanceIn(Strict):
    present: list[AttendeeIn] = Field(default_factory=list, max_length=100)
    apologies: list[ApologyIn] = Field(default_factory=list, max_length=100)
    observers: list[ObserverIn] = Field(default_factory=list, max_length=50)


class NoteIn(Strict):
    text: str = Field(min_length=1, max_length=service.MAX_NOTE)
    visibility: Visibility
    agencies: list[str] = Field(default_factory=list, max_length=50)
    stage: Literal["presentation", "agency_information", "victim_views", "risk_summary", "discussion"] = "discussion"


class NotePatch(Strict):
    text: str | None = Field(default=None, min_length=1, max_length=service.MAX_NOTE)
    visibility: Visibility | None = None
    agencies: list[str] | None = Field(default=None, max_length=50)


class CaseDecisionIn(Strict):
    outcome: Literal["heard", "deferred"]
    reason: str | None = Field(default=None, max_length=500, description="Required to defer")


class CaseDecisionOut(BaseModel):
    case_id: str
    outcome: str


class ClosedOut(BaseModel):
    id: str
    status: str


class ReopenIn(Strict):
    reason: str = Field(min_length=1, max_length=amend.MAX_REASON)


class NoteOut(BaseModel):
    id: str
    case_id: str
    text: str
    visibility: str
    agencies: list[str]
    stage: str


class ActionIn(Strict):
    description: str = Field(min_length=1, max_length=5000)
    owner_agency_id: str = Field(min_length=1, max_length=32)
    due_date: date | None = Field(
        default=None, description="Default: the conference type's action_due_days after the meeting"
    )


class ActionOut(BaseModel):
    id: str
    version: int
    status: str
    description: str
    owner_agency_id: str
    due_date: date
    case_label: str
    meeting_id: str


class ActionList(BaseModel):
    items: list[ActionOut]
    next: str | None = None


class ActionPatch(Strict):
    status: ActionStatus | None = None
    update: str = Field(default="", max_length=5000)
    description: str | None = Field(
        default=None, min_length=1, max_length=service.MAX_DESCRIPTION, description="Chair and coordinator only"
    )
    owner_agency_id: str | None = Field(
        default=None, min_length=1, max_length=32, description="Chair and coordinator only"
    )
    due_date: date | None = Field(default=None, description="Chair and coordinator only")


class CaseOut(BaseModel):
    case_id: str
    meeting_id: str
    referral_id: str
    label: str
    kind: str
    section: str
    outcome: str | None
    outcome_reason: str | None
    notes: list[NoteOut]
    actions: list[ActionOut]


def action_out(action: service.ActionRow) -> dict:
    """ActionOut as JSON, built directly: a list page holds 50 (pydantic would double its cost)."""
    return {
        "id": action.id,
        "version": action.version,
        "status": action.status,
        "description": action.description,
        "owner_agency_id": action.owner_agency_id,
        "due_date": action.due_date.isoformat(),
        "case_label": action.case_label,
        "meeting_id": action.meeting_id,
    }


@api(Can.RUN_MEETING, body=AttendanceIn, response=AttendanceIn, record=meeting_seen)
async def put_attendance(request: Request, caller: Caller, body: AttendanceIn) -> AttendanceIn:
    """Replace the meeting's register: present, apologies (with information sent), observers."""
    meeting = await service.running_meeting(caller.viewer, request.path_params["meeting_id"])
    await service.set_attendance(
        caller.viewer,
        meeting,
        [service.Present(p.agency_id, p.name, p.confidentiality_signed) for p in body.present],
        [service.Apology(a.agency_id, a.name, a.information_sent, a.information_sent_on) for a in body.apologies],
        [service.Observer(o.name, o.confidentiality_signed) for o in body.observers],
    )
    return body


@api(Can.RUN_MEETING, body=NoteIn, response=NoteOut, status=201, record=meeting_seen)
async def create_note(request: Request, caller: Caller, body: NoteIn) -> NoteOut:
    """A note on a case; its visibility is chosen now and never widened later."""
    meeting = await service.running_meeting(caller.viewer, request.path_params["meeting_id"])
    note: Note = await service.add_note(
        caller.viewer, meeting, request.path_params["case_id"], body.text, body.visibility, body.agencies, body.stage
    )
    return note_out(note)


def note_out(note: Note) -> NoteOut:
    return NoteOut(
        id=note.id,
        case_id=note.item_id,
        text=note.text,
        visibility=note.visibility,
        agencies=note.agencies,
        stage=note.stage,
    )


@api(Can.RUN_MEETING, body=NotePatch, response=NoteOut, record=meeting_seen)
async def patch_note(request: Request, caller: Caller, body: NotePatch) -> NoteOut:
    """Change a note's text or who may read it (chair, coordinator): while the meeting runs, after
    it, and after approval as a correction for the next version. What it said before is kept."""
    meeting = await service.running_meeting(caller.viewer, request.path_params["meeting_id"])
    note = await amend.edit_note(
        caller.viewer,
        meeting,
        request.path_params["case_id"],
        request.path_params["note_id"],
        body.text,
        body.visibility,
        body.agencies,
    )
    return note_out(note)


@api(Can.RUN_MEETING, status=204, record=meeting_seen)
async def delete_note(request: Request, caller: Caller) -> Response:
    """Delete a note (chair, coordinator); what it said is kept in its history."""
    meeting = await service.running_meeting(caller.viewer, request.path_params["meeting_id"])
    await amend.delete_note(caller.viewer, meeting, request.path_params["case_id"], request.path_params["note_id"])
    return Response(status_code=204)


@api(Can.RUN_MEETING, body=CaseDecisionIn, response=CaseDecisionOut, record=meeting_seen)
async def decide(request: Request, caller: Caller, body: CaseDecisionIn) -> CaseDecisionOut:
    """Heard, or deferred with a reason (the case goes to the next meeting's agenda)."""
    meeting = await service.running_meeting(caller.viewer, request.path_params["meeting_id"])
    item = await service.decide_case(
        caller.viewer, meeting, request.path_params["case_id"], body.outcome, body.reason or ""
    )
    return CaseDecisionOut(case_id=item.id, outcome=item.outcome or body.outcome)


@api(Can.RUN_MEETING, response=ClosedOut, errors={409: "A case has no decision yet"}, record=meeting_seen)
async def close(request: Request, caller: Caller) -> ClosedOut:
    """Close the meeting once every case is decided: its minutes can then be approved."""
    meeting = await service.running_meeting(caller.viewer, request.path_params["meeting_id"])
    await service.close_meeting(caller.viewer, meeting)
    return ClosedOut(id=meeting.id, status=meeting.status)


@api(
    Can.APPROVE_MINUTES,
    body=ReopenIn,
    response=ClosedOut,
    errors={409: "The meeting is not closed, or its minutes are approved"},
    record=meeting_seen,
)
async def reopen(request: Request, caller: Caller, body: ReopenIn) -> ClosedOut:
    """The chair reopens a closed meeting, with a reason, until its minutes are approved."""
    meeting = await service.running_meeting(caller.viewer, request.path_params["meeting_id"])
    await amend.reopen(caller.viewer, meeting, body.reason)
    return ClosedOut(id=meeting.id, status=meeting.status)


@api(Can.RUN_MEETING, response=CaseOut, record=meeting_seen)
async def get_case(request: Request, caller: Caller) -> CaseOut:
    """A case as the chair and coordinator see it at the meeting: its decision, notes and actions."""
    meeting = await service.running_meeting(caller.viewer, request.path_params["meeting_id"])
    case = await service.read_case(caller.viewer, meeting, request.path_params["case_id"])
    return CaseOut(
        case_id=case.item.id,
        meeting_id=meeting.id,
        referral_id=case.item.referral_id,
        label=case.label,
        kind=agenda.kind_of(case.item.referral),
        section=case.item.section,
        outcome=case.item.outcome,
        outcome_reason=case.item.outcome_reason,
        notes=[note_out(n) for n in case.notes],
        actions=[ActionOut(**action_out(a)) for a in case.actions],
    )


@api(Can.RUN_MEETING, body=ActionIn, response=ActionOut, status=201, record=meeting_seen)
async def create_action(request: Request, caller: Caller, body: ActionIn) -> dict:
    """An action agreed on a case, owned by a member agency."""
    meeting = await service.running_meeting(caller.viewer, request.path_params["meeting_id"])
    action = await service.add_action(
        caller.viewer, meeting, request.path_params["case_id"], body.description, body.owner_agency_id, body.due_date
    )
    return action_out((await service.action_row(caller.viewer, action.id))[0])


ACTIONS_PAGE = 50
# The last action of a page: its due date, creation time (microseconds since 1970) and id.
ACTIONS_CURSOR_RE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})\.([0-9]{1,18})\.([0-9a-f]{32})")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _cursor(action: service.ActionRow) -> str:
    micros = (action.created_at - EPOCH) // timedelta(microseconds=1)
    return f"{action.due_date.isoformat()}.{micros}.{action.id}"


def _after(cursor: str | None) -> service.After | None:
    if cursor is None:
        return None
    found = ACTIONS_CURSOR_RE.fullmatch(cursor)
    try:
        due = validation.day_or_none(found.group(1)) if found else None
        created = EPOCH + timedelta(microseconds=int(found.group(2))) if found else None
    except (ValueError, OverflowError):
        due = None
    if found is None or due is None or created is None:
        raise RuleViolation("Bad cursor", {"cursor": "Use the next value of the previous page"})
    return service.After(due, created, found.group(3))


@api(
    Can.WORK_ACTIONS,
    response=ActionList,
    params=[
        query("status", {"type": "string", "enum": list(service.FILTERS), "default": "open"}, "Which actions"),
        query(
            "cursor",
            {"type": "string", "pattern": f"^{ACTIONS_CURSOR_RE.pattern}$"},
            "The next value of the previous page",
        ),
    ],
)
async def list_actions(request: Request, caller: Caller) -> dict:
    """The caller agency's actions (chair and coordinator: all of their conferences'), by due date,
    50 a page. status: open (default), overdue, due_this_week or all."""
    actions = await service.list_actions(
        caller.viewer,
        request.query_params.get("status", "open"),
        today(),
        after=_after(request.query_params.get("cursor")),
        limit=ACTIONS_PAGE + 1,
    )
    page = actions[:ACTIONS_PAGE]
    return {"items": [action_out(a) for a in page], "next": _cursor(page[-1]) if len(actions) > ACTIONS_PAGE else None}


def if_match(request: Request) -> int | None:
    """The version from If-Match: 3, "3" or W/"3"."""
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    value = raw.strip().removeprefix("W/").strip('"')
    return validation.number(value, "If-Match", 0, MAX_VERSION, "Send the action's version, for example If-Match: 3")


async def action_seen(viewer: Viewer, params: dict[str, str]) -> None:
    await service.action_row(viewer, params["action_id"])


@api(
    Can.WORK_ACTIONS,
    body=ActionPatch,
    response=ActionOut,
    errors={412: "If-Match is not the current version"},
    record=action_seen,
    params=[
        header(
            "If-Match", {"type": "string", "pattern": r'^(W/)?"?[0-9]{1,9}"?$'}, "The version last read", required=True
        )
    ],
)
async def patch_action(request: Request, caller: Caller, body: ActionPatch) -> dict:
    """Update status and/or add an update text. The chair and coordinator may also reword it
    (`description`), change its `owner_agency_id` or `due_date` (the owner agency: 403). Needs
    If-Match with the version last read: 412 if stale."""
    change = amend.Amendment(body.description, body.owner_agency_id, body.due_date)
    if change:
        action = await amend.amend_action(
            caller.viewer, request.path_params["action_id"], if_match(request), change, body.status, body.update
        )
    else:
        action = await service.update_action(
            caller.viewer, request.path_params["action_id"], if_match(request), body.status, body.update
        )
    return action_out(action)


@api(
    Can.RUN_MEETING,
    status=204,
    errors={409: "The minutes are approved", 412: "If-Match is not the current version"},
    record=action_seen,
    params=[
        header(
            "If-Match", {"type": "string", "pattern": r'^(W/)?"?[0-9]{1,9}"?$'}, "The version last read", required=True
        )
    ],
)
async def delete_action(request: Request, caller: Caller) -> Response:
    """Delete an action agreed by mistake (chair, coordinator), until the minutes are approved."""
    await amend.delete_action(caller.viewer, request.path_params["action_id"], if_match(request))
    return Response(status_code=204)


routes = [
    Route("/api/v1/meetings/{meeting_id}/attendance", put_attendance, methods=["PUT"]),
    Route("/api/v1/meetings/{meeting_id}/cases/{case_id}/notes", create_note, methods=["POST"]),
    Route("/api/v1/meetings/{meeting_id}/cases/{case_id}/actions", create_action, methods=["POST"]),
    Route("/api/v1/actions", list_actions, methods=["GET"]),
    Route("/api/v1/actions/{action_id}", patch_action, methods=["PATCH"]),
    Route("/api/v1/actions/{action_id}", delete_action, methods=["DELETE"]),
    Route("/api/v1/meetings/{meeting_id}/cases/{case_id}", get_case, methods=["GET"]),
    Route("/api/v1/meetings/{meeting_id}/cases/{case_id}/notes/{note_id}", patch_note, methods=["PATCH"]),
    Route("/api/v1/meetings/{meeting_id}/cases/{case_id}/notes/{note_id}", delete_note, methods=["DELETE"]),
    Route("/api/v1/meetings/{meeting_id}/cases/{case_id}/decision", decide, methods=["POST"]),
    Route("/api/v1/meetings/{meeting_id}/close", close, methods=["POST"]),
    Route("/api/v1/meetings/{meeting_id}/reopen", reopen, methods=["POST"]),
]
