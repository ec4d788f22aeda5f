"""The meeting as it runs (chair and coordinator) and actions between meetings (agencies)."""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from marac import validation
from marac.actions import service
from marac.actions.models import VISIBILITIES, Attendance, Note
from marac.agencies import access
from marac.agencies.access import Can
from marac.agencies.models import Agency, Membership
from marac.clock import now, today
from marac.errors import Conflict, NotFound, RuleViolation, StaleVersion
from marac.ids import ID_PATTERN
from marac.meetings import agenda
from marac.meetings.models import AgendaItem
from marac.validation import MAX_VERSION, whole_number
from marac.web.auth import Caller, page
from marac.web.errors import status_of
from marac.web.templating import render

REGISTER_ROWS = 12
STAGES = [
    ("presentation", "Referrer's presentation"),
    ("agency_information", "Agency information"),
    ("victim_views", "Victim's views (advocate)"),
    ("risk_summary", "Risk summary"),
    ("discussion", "Discussion"),
]


async def _agencies(meeting) -> list[tuple[str, str]]:
    members = (
        await Membership.filter(conference_id=meeting.conference_id).prefetch_related("agency").order_by("agency__name")
    )
    return [(m.agency_id, m.agency.name) for m in members]


# --- the meeting ---------------------------------------------------------------------------------


async def _run_page(request: Request, caller: Caller, meeting, status: int = 200, **context) -> Response:
    register = await Attendance.filter(meeting=meeting).prefetch_related("agency")
    snapshot = await agenda.agenda(meeting)
    return render(
        request,
        "meetings/run.html",
        {
            "meeting": meeting,
            "conference": meeting.conference,
            "register": register,
            "agency_options": await _agencies(meeting),
            "rows": range(REGISTER_ROWS),
            "agenda": snapshot,
            "deferred": {
                entry["case_id"]: entry["deferred_from"]
                for section in snapshot["sections"]
                for entry in section["items"]
                if isinstance(entry, dict) and entry.get("deferred_from")
            },
            "outstanding": (outstanding := await service.outstanding(meeting)),
            "names": await service.case_names(caller.viewer, [(a.conference_id, a.item_id) for a in outstanding]),
            "statuses": service.STATUS_WORDS,
            "items": await agenda_items(meeting),
            **context,
        },
        status=status,
    )


async def agenda_items(meeting):
    return (
        await AgendaItem.filter(meeting=meeting, state="listed")
        .prefetch_related("referral", "referral__people")
        .order_by("number")  # the agenda's order (agenda._arrange)
    )


@page(Can.RUN_MEETING)
async def run(request: Request, caller: Caller) -> Response:
    meeting = await service.running_meeting(caller.viewer, request.path_params["meeting_id"])
    return await _run_page(request, caller, meeting)


def _rows(form, prefix: str, fields: tuple[str, ...]) -> list[dict[str, str]]:
    rows = []
    for n in range(REGISTER_ROWS):
        row = {f: str(form.get(f"{prefix}.{n}.{f}", "")).strip() for f in fields}
        if row.get("name"):
            rows.append(row)
    return rows


def _meeting_action(action):
    """A chair's or coordinator's POST during the meeting; errors re-show the run page."""

    @page(Can.RUN_MEETING)
    async def handler(request: Request, caller: Caller) -> Response:
        meeting = await service.running_meeting(caller.viewer, request.path_params["meeting_id"])
        try:
            target = await action(request, caller, meeting)
        except (RuleViolation, Conflict, StaleVersion) as exc:
            return await _run_page(
                request,
                caller,
                meeting,
                status=status_of(exc, page=True),
                errors=exc.fields or {"meeting": exc.message},
            )
        return RedirectResponse(target or f"/meetings/{meeting.id}/run", status_code=303)

    handler.__name__ = action.__name__
    return handler


async def _attendance(request: Request, caller: Caller, meeting) -> None:
    form = request.state.form
    present = [service.Present(r["agency_id"], r["name"]) for r in _rows(form, "present", ("agency_id", "name"))]
    apologies = []
    for r in _rows(form, "apologies", ("agency_id", "name", "information_sent", "information_sent_on")):
        sent_on = validation.day(r["information_sent_on"], "information_sent_on") if r["information_sent_on"] else None
        apologies.append(service.Apology(r["agency_id"], r["name"], r["information_sent"] == "yes", sent_on))
    observers = [
        service.Observer(r["name"], r["confidentiality_signed"] == "yes")
        for r in _rows(form, "observers", ("name", "confidentiality_signed"))
    ]
    await service.set_attendance(caller.viewer, meeting, present, apologies, observers)


async def _confidentiality(request: Request, caller: Caller, meeting) -> None:
    await service.confidentiality_read(caller.viewer, meeting)


async def _review(request: Request, caller: Caller, meeting) -> None:
    form = request.state.form
    await service.review_action(
        caller.viewer,
        meeting,
        request.path_params["action_id"],
        str(form.get("outcome", "")),
        str(form.get("note", "")),
        whole_number(str(form.get("version", "")), 0, MAX_VERSION),
    )


async def _aob(request: Request, caller: Caller, meeting) -> None:
    await service.set_any_other_business(caller.viewer, meeting, str(request.state.form.get("any_other_business", "")))


async def _close(request: Request, caller: Caller, meeting) -> str:
    await service.close_meeting(caller.viewer, meeting)
    return f"/meetings/{meeting.id}"


# --- one case --------------------------------------------------------------------------------------


async def _case_page(request: Request, caller: Caller, meeting, case_id: str, status: int = 200, **context) -> Response:
    item = (
        await service.start_case(caller.viewer, meeting, case_id)
        if meeting.status == "published"
        else await service.case_of(meeting, case_id)
    )
    notes = await Note.filter(item=item)
    actions = await item.actions.all().prefetch_related("owner_agency")
    allowed = int(meeting.conference.type_settings["minutes_per_case"])
    elapsed = int(((item.ended_at or now()) - item.started_at).total_seconds() // 60) if item.started_at else 0
    agencies = dict(await _agencies(meeting))
    return render(
        request,
        "meetings/case.html",
        {
            "meeting": meeting,
            "item": item,
            "referral": item.referral,
            "notes": notes,
            "actions": actions,
            "label": agenda.label(meeting, item),
            "allowed": allowed,
            "elapsed": elapsed,
            "agency_names": agencies,
            "agency_options": list(agencies.items()),
            "stages": STAGES,
            "visibilities": VISIBILITIES,
            "default_due": meeting.date + timedelta(days=int(meeting.conference.type_settings["action_due_days"])),
            **context,
        },
        status=status,
    )


@page(Can.RUN_MEETING)
async def case(request: Request, caller: Caller) -> Response:
    meeting = await service.running_meeting(caller.viewer, request.path_params["meeting_id"])
    return await _case_page(request, caller, meeting, request.path_params["case_id"])


def _case_action(action):
    @page(Can.RUN_MEETING)
    async def handler(request: Request, caller: Caller) -> Response:
        meeting = await service.running_meeting(caller.viewer, request.path_params["meeting_id"])
        case_id = request.path_params["case_id"]
        try:
            await action(request, caller, meeting, case_id)
        except (RuleViolation, Conflict, StaleVersion) as exc:
            return await _case_page(
                request,
                caller,
                meeting,
                case_id,
                status=status_of(exc, page=True),
                errors=exc.fields or {"case": exc.message},
                values=request.state.form,
            )
        return RedirectResponse(f"/meetings/{meeting.id}/cases/{case_id}", status_code=303)

    handler.__name__ = action.__name__
    return handler


async def _note(request: Request, caller: Caller, meeting, case_id: str) -> None:
    form = request.state.form
    await service.add_note(
        caller.viewer,
        meeting,
        case_id,
        str(form.get("text", "")),
        str(form.get("visibility", "")),
        [str(a) for a in form.getlist("agencies")],
        str(form.get("stage", "discussion")),
    )


async def _action(request: Request, caller: Caller, meeting, case_id: str) -> None:
    form = request.state.form
    due_text = str(form.get("due_date", "")).strip()
    due = validation.day(due_text, "due_date") if due_text else None
    await service.add_action(
        caller.viewer, meeting, case_id, str(form.get("description", "")), str(form.get("owner_agency_id", "")), due
    )


async def _decide(request: Request, caller: Caller, meeting, case_id: str) -> None:
    form = request.state.form
    await service.decide_case(
        caller.viewer, meeting, case_id, str(form.get("outcome", "")), str(form.get("outcome_reason", ""))
    )


# --- actions between meetings ------------------------------------------------------------------------


@page(Can.WORK_ACTIONS)
async def my_actions(request: Request, caller: Caller) -> Response:
    which = request.query_params.get("status", "open")
    if which not in service.FILTERS:
        which = "open"
    # Narrowing from the coordinator's dashboard: a conference or agency the caller cannot
    # see is not found, like any other record.
    slug, agency_id = request.query_params.get("conference"), request.query_params.get("agency")
    conference = await access.get_conference(caller.viewer, slug) if slug else None
    agency = await Agency.get_or_none(id=agency_id) if agency_id and ID_PATTERN.fullmatch(agency_id) else None
    if agency_id and agency is None:
        raise NotFound("Agency not found")
    actions = await service.list_actions(
        caller.viewer, which, today(), conference.id if conference else None, agency.id if agency else None, named=True
    )
    return render(
        request,
        "actions/list.html",
        {
            "actions": actions,
            "names": await service.case_names(caller.viewer, [(a.conference_id, a.item_id) for a in actions]),
            "which": which,
            "filters": service.FILTERS,
            "statuses": service.STATUS_WORDS,
            "today": today(),
            "only_conference": conference,
            "only_agency": agency,
        },
    )


async def _action_page(request: Request, caller: Caller, action_id: str, status: int = 200, **context) -> Response:
    action, rights = await service.get_action(caller.viewer, action_id)
    return render(
        request,
        "actions/detail.html",
        {
            "action": action,
            "label": service.case_label(action),
            "names": await service.case_names(caller.viewer, [(action.conference_id, action.item_id)]),
            "may_update": rights == "update",
            "statuses": service.STATUS_WORDS,
            "today": today(),
            **context,
        },
        status=status,
    )


@page(Can.WORK_ACTIONS)
async def action_detail(request: Request, caller: Caller) -> Response:
    return await _action_page(request, caller, request.path_params["action_id"])


@page(Can.WORK_ACTIONS)
async def action_update(request: Request, caller: Caller) -> Response:
    form = request.state.form
    action_id = request.path_params["action_id"]
    version = whole_number(str(form.get("version", "")), 0, MAX_VERSION)
    try:
        await service.update_action(
            caller.viewer, action_id, version, str(form.get("status", "")) or None, str(form.get("update", ""))
        )
    except StaleVersion as exc:
        # What they typed comes back with the page; the form now carries the latest version.
        return await _action_page(
            request,
            caller,
            action_id,
            status=status_of(exc, page=True),
            errors={"update": exc.message},
            values={"update": str(form.get("update", "")), "status": str(form.get("status", ""))},
        )
    except RuleViolation as exc:
        return await _action_page(request, caller, action_id, status=400, errors=exc.fields, values=form)
    return RedirectResponse(f"/actions/{action_id}?saved=1", status_code=303)


routes = [
    Route("/meetings/{meeting_id}/run", run, methods=["GET"]),
    Route("/meetings/{meeting_id}/attendance", _meeting_action(_attendance), methods=["POST"]),
    Route("/meetings/{meeting_id}/confidentiality", _meeting_action(_confidentiality), methods=["POST"]),
    Route("/meetings/{meeting_id}/reviews/{action_id}", _meeting_action(_review), methods=["POST"]),
    Route("/meetings/{meeting_id}/aob", _meeting_action(_aob), methods=["POST"]),
    Route("/meetings/{meeting_id}/close", _meeting_action(_close), methods=["POST"]),
    Route("/meetings/{meeting_id}/cases/{case_id}", case, methods=["GET"]),
    Route("/meetings/{meeting_id}/cases/{case_id}/notes", _case_action(_note), methods=["POST"]),
    Route("/meetings/{meeting_id}/cases/{case_id}/actions", _case_action(_action), methods=["POST"]),
    Route("/meetings/{meeting_id}/cases/{case_id}/decision", _case_action(_decide), methods=["POST"]),
    Route("/actions", my_actions, methods=["GET"]),
    Route("/actions/{action_id}", action_detail, methods=["GET"]),
    Route("/actions/{action_id}/update", action_update, methods=["POST"]),
]
