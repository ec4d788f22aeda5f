"""The meeting itself and actions between meetings, in the JSON API."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.routing import Route

from marac import validation
from marac.actions import service
from marac.actions.models import ACTION_STATUSES, VISIBILITIES, Note
from marac.agencies.access import Can, Viewer
from marac.clock import today
from marac.errors import RuleViolation
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


class ApologyIn(PresentIn):
    information_sent: bool
    information_sent_on: date | None = None


class ObserverIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    confidentiality_signed: bool


class AttendanceIn(Strict):
    present: list[PresentIn] = Field(default_factory=list, max_length=100)
    apologies: list[ApologyIn] = Field(default_factory=list, max_length=100)
    observers: list[ObserverIn] = Field(default_factory=list, max_length=50)


class NoteIn(Strict):
    text: str = Field(min_length=1, max_length=20000)
    visibility: Visibility
    agencies: list[str] = Field(default_factory=list, max_length=50)
    stage: Literal["presentation", "agency_information", "victim_views", "risk_summary", "discussion"] = "discussion"


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
        [service.Present(p.agency_id, p.name) for p in body.present],
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
    return NoteOut(
        id=note.id,
        case_id=note.item_id,
        text=note.text,
        visibility=note.visibility,
        agencies=note.agencies,
        stage=note.stage,
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
    """Update status and/or add an update text. Needs If-Match with the version last read: 412 if stale."""
    action = await service.update_action(
        caller.viewer, request.path_params["action_id"], if_match(request), body.status, body.update
    )
    return action_out(action)


routes = [
    Route("/api/v1/meetings/{meeting_id}/attendance", put_attendance, methods=["PUT"]),
    Route("/api/v1/meetings/{meeting_id}/cases/{case_id}/notes", create_note, methods=["POST"]),
    Route("/api/v1/meetings/{meeting_id}/cases/{case_id}/actions", create_action, methods=["POST"]),
    Route("/api/v1/actions", list_actions, methods=["GET"]),
    Route("/api/v1/actions/{action_id}", patch_action, methods=["PATCH"]),
]
