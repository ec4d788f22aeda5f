"""The meeting as it runs (chair and coordinator) and actions between meetings (agencies)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from marac import validation
from marac.actions import service
from marac.actions.models import STATUS_WORDS, VISIBILITIES, Attendance
from marac.agencies import access
from marac.agencies.access import Can
from marac.agencies.models import Agency, Membership
from marac.clock import now, today
from marac.conference_types import confidentiality_statement
from marac.errors import Conflict, NotFound, RuleViolation, StaleVersion
from marac.i18n import gettext as _
from marac.i18n import lazy_gettext
from marac.ids import ID_PATTERN
from marac.meetings import agenda
from marac.meetings.models import AgendaItem
from marac.minutes import amend
from marac.validation import MAX_VERSION, whole_number
from marac.web.auth import Caller, page
from marac.web.errors import status_of
from marac.web.templating import render

# The success banner of each finished step, by ?done= (GOV.UK notification banner).
DONE = {
    "register": lazy_gettext("Register saved"),
    "confidentiality": lazy_gettext("Confidentiality statement recorded as read"),
    "review": lazy_gettext("Review recorded"),
    "aob": lazy_gettext("Any other business saved"),
    "reopen": lazy_gettext("Meeting reopened"),
    "note": lazy_gettext("Note added"),
    "note_changed": lazy_gettext("Note changed"),
    "note_deleted": lazy_gettext("Note deleted"),
    "action": lazy_gettext("Action added"),
    "action_changed": lazy_gettext("Action changed"),
    "action_deleted": lazy_gettext("Action deleted"),
    "decision": lazy_gettext("Decision saved"),
}
STAGES = [
    ("presentation", lazy_gettext("Referrer's presentation")),
    ("agency_information", lazy_gettext("Agency information")),
    ("victim_views", lazy_gettext("Victim's views (advocate)")),
    ("risk_summary", lazy_gettext("Risk summary")),
    ("discussion", lazy_gettext("Discussion")),
]


def _done(request: Request) -> str | None:
    """The banner named by ?done=, in the page's language."""
    found = DONE.get(request.query_params.get("done", ""))
    return str(found) if found else None


async def _agencies(meeting) -> list[tuple[str, str]]:
    members = (
        await Membership.filter(conference_id=meeting.conference_id).prefetch_related("agency").order_by("agency__name")
    )
    return [(m.agency_id, m.agency.name) for m in members]


# --- the meeting ---------------------------------------------------------------------------------


# The register's three parts and each line's fields, as the form names them: `present.3.name`.
REGISTER_FIELDS = {
    "present": ("agency_id", "name", "confidentiality_signed"),
    "apologies": ("agency_id", "name", "information_sent", "information_sent_on"),
    "observers": ("name", "confidentiality_signed"),
}
# What a person types into a line; a line with none of them is left blank and not saved.
TYPED = ("agency_id", "name", "information_sent_on")
BLANK_ROWS = 3  # empty lines under the register's own
MORE_ROWS = 5  # added by "Add more rows" (the page works without JavaScript)
MAX_ROWS = 100


def _saved_rows(register: list[Attendance]) -> dict[str, list[dict[str, str]]]:
    """The register as the form shows it."""
    rows: dict[str, list[dict[str, str]]] = {part: [] for part in REGISTER_FIELDS}
    part_of = {"present": "present", "apology": "apologies", "observer": "observers"}
    for line in register:
        sent_on = line.information_sent_on
        rows[part_of[line.kind]].append(
            {
                "agency_id": line.agency_id or "",
                "name": line.name,
                "confidentiality_signed": "yes" if line.confidentiality_signed else "",
                "information_sent": "yes" if line.information_sent else "no",
                "information_sent_on": sent_on.strftime("%d/%m/%Y") if sent_on else "",
            }
        )
    return rows


def _typed_rows(form: FormData) -> dict[str, list[dict[str, str]]]:
    """Every line of the register form exactly as typed, blank ones included."""
    rows = {}
    for part, fields in REGISTER_FIELDS.items():
        count = whole_number(str(form.get(f"{part}_rows", "")), 0, MAX_ROWS) or 0
        rows[part] = [{f: str(form.get(f"{part}.{n}.{f}", "")) for f in fields} for n in range(count)]
    return rows


def _blank(line: dict[str, str]) -> bool:
    return not any(line.get(f, "").strip() for f in TYPED)


def _padded(rows: dict[str, list[dict[str, str]]], more: str | None = None) -> dict[str, list[dict[str, str]]]:
    """Each part's lines as they are, then blank lines up to BLANK_ROWS empty ones at the end
    (MORE_ROWS more under the part asked for, whatever it ends with), MAX_ROWS at most."""
    padded = {}
    for part, lines in rows.items():
        trailing = 0
        for line in reversed(lines):
            if not _blank(line):
                break
            trailing += 1
        wanted = len(lines) + (MORE_ROWS if part == more else max(0, BLANK_ROWS - trailing))
        blank = dict.fromkeys(REGISTER_FIELDS[part], "")
        padded[part] = [*lines, *(dict(blank) for _ in range(wanted - len(lines)))][:MAX_ROWS]
    return padded


async def _run_page(request: Request, caller: Caller, meeting, status: int = 200, **context) -> Response:
    register = await Attendance.filter(meeting=meeting).prefetch_related("agency")
    snapshot = await agenda.agenda(meeting)
    rows = context.pop("register_rows", None) or _padded(_saved_rows(register))
    return render(
        request,
        "meetings/run.html",
        {
            "meeting": meeting,
            "conference": meeting.conference,
            "register": register,
            "register_rows": rows,
            "confidentiality": confidentiality_statement(meeting.conference.type_settings),
            "agency_options": await _agencies(meeting),
            "agenda": snapshot,
            "deferred": {
                entry["case_id"]: entry["deferred_from"]
                for section in snapshot["sections"]
                for entry in section["items"]
                if isinstance(entry, dict) and entry.get("deferred_from")
            },
            "outstanding": (outstanding := await service.outstanding(meeting)),
            "names": await service.case_names(caller.viewer, [(a.conference_id, a.item_id) for a in outstanding]),
            # Worded once for the hundreds of review forms a meeting may have.
            "status_options": [(code, str(words)) for code, words in STATUS_WORDS.items()],
            "items": await agenda_items(meeting),
            "done": _done(request),
            "may_reopen": meeting.status == "held"
            and caller.viewer.can_in(meeting.conference_id, Can.APPROVE_MINUTES)
            and not await amend.minutes_approved(meeting.id),
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


def _meeting_action(action, done: str):
    """A chair's or coordinator's POST during the meeting; errors re-show the run page, success
    shows it with the step's banner (or goes where the action says)."""

    @page(Can.RUN_MEETING)
    async def handler(request: Request, caller: Caller) -> Response:
        meeting = await service.running_meeting(caller.viewer, request.path_params["meeting_id"])
        try:
            target = await action(request, caller, meeting)
        except (RuleViolation, Conflict, StaleVersion) as exc:
            # What was typed comes back in the form it was typed into (a review names its action).
            return await _run_page(
                request,
                caller,
                meeting,
                status=status_of(exc, page=True),
                errors=exc.fields or {"meeting": exc.message},
                typed=request.state.form,
                typed_action=request.path_params.get("action_id"),
            )
        return RedirectResponse(target or f"/meetings/{meeting.id}/run?done={done}", status_code=303)

    handler.__name__ = action.__name__
    return handler


def _register(rows: dict[str, list[dict[str, str]]]) -> tuple[list, dict[str, str], dict[str, list[int]]]:
    """The register's lines read from the form: (present, apologies, observers), the dates that
    could not be read, and for each part the form line of each register line (so an error
    names the line the person typed)."""
    errors: dict[str, str] = {}
    at = {part: [n for n, line in enumerate(lines) if not _blank(line)] for part, lines in rows.items()}
    present = [
        service.Present(line["agency_id"], line["name"], line["confidentiality_signed"] == "yes")
        for line in (rows["present"][n] for n in at["present"])
    ]
    apologies = []
    for n in at["apologies"]:
        line = rows["apologies"][n]
        sent_on = None
        if line["information_sent_on"].strip():
            sent_on = validation.day_or_none(line["information_sent_on"])
            if sent_on is None:
                errors[f"apologies.{n}.information_sent_on"] = validation.DATE_MESSAGE
        apologies.append(service.Apology(line["agency_id"], line["name"], line["information_sent"] == "yes", sent_on))
    observers = [
        service.Observer(line["name"], line["confidentiality_signed"] == "yes")
        for line in (rows["observers"][n] for n in at["observers"])
    ]
    return [present, apologies, observers], errors, at


@page(Can.RUN_MEETING)
async def attendance(request: Request, caller: Caller) -> Response:
    """Save the register; on any error, or to add rows, the page comes back with every line as
    typed (tests/test_meeting_run.py)."""
    meeting = await service.running_meeting(caller.viewer, request.path_params["meeting_id"])
    form = request.state.form
    rows = _typed_rows(form)
    more = str(form.get("add_rows", ""))
    if more in REGISTER_FIELDS:
        return await _run_page(request, caller, meeting, register_rows=_padded(rows, more))
    (present, apologies, observers), errors, at = _register(rows)
    try:
        service.require_live(meeting)
        found = await service.attendance_errors(meeting, present, apologies, observers)
        for key, message in found.items():
            part, index, field = key.split(".")
            errors.setdefault(f"{part}.{at[part][int(index)]}.{field}", message)
        if errors:
            raise RuleViolation(_("The register is not valid"), errors)
        await service.set_attendance(caller.viewer, meeting, present, apologies, observers)
    except (RuleViolation, Conflict) as exc:
        return await _run_page(
            request,
            caller,
            meeting,
            status=status_of(exc, page=True),
            errors=exc.fields or {"meeting": exc.message},
            register_rows=_padded(rows),
        )
    return RedirectResponse(f"/meetings/{meeting.id}/run?done=register", status_code=303)


async def _confidentiality(request: Request, caller: Caller, meeting) -> None:
    await service.confidentiality_read(caller.viewer, meeting)


async def _review(request: Request, caller: Caller, meeting) -> None:
    form = request.state.form
    action_id = request.path_params["action_id"]
    try:
        await service.review_action(
            caller.viewer,
            meeting,
            action_id,
            str(form.get("outcome", "")),
            str(form.get("note", "")),
            whole_number(str(form.get("version", "")), 0, MAX_VERSION),
        )
    except RuleViolation as exc:
        # Each outstanding action has its own form: the error goes on that form's field.
        raise RuleViolation(exc.message, {f"{k}-{action_id}": v for k, v in exc.fields.items()}) from None


async def _aob(request: Request, caller: Caller, meeting) -> None:
    await service.set_any_other_business(caller.viewer, meeting, str(request.state.form.get("any_other_business", "")))


async def _close(request: Request, caller: Caller, meeting) -> str:
    await service.close_meeting(caller.viewer, meeting)
    return f"/meetings/{meeting.id}?done=closed"


# --- one case --------------------------------------------------------------------------------------


async def _case_page(request: Request, caller: Caller, meeting, case_id: str, status: int = 200, **context) -> Response:
    item = (
        await service.start_case(caller.viewer, meeting, case_id)
        if meeting.status == "published"
        else await service.case_of(meeting, case_id)
    )
    seen = await service.read_case(caller.viewer, meeting, item.id)
    correction = meeting.status == "held" and await amend.minutes_approved(meeting.id)
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
            "notes": seen.notes,
            "actions": seen.actions,
            "label": seen.label,
            "done": _done(request),
            "may_change": meeting.status in amend.CHANGEABLE,
            "correction": correction,
            "max_note": service.MAX_NOTE,
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


def _case_action(action, done: str):
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
        return RedirectResponse(f"/meetings/{meeting.id}/cases/{case_id}?done={done}", status_code=303)

    handler.__name__ = action.__name__
    return handler


# --- changing notes and actions, closing and reopening: each asks first on a page of its own ----------


def _confirm(request: Request, status: int = 200, **context) -> Response:
    """The GOV.UK "are you sure" page: what will happen, the button that does it, a way back."""
    return render(request, "meetings/confirm.html", {"values": {}, **context}, status=status)


@page(Can.RUN_MEETING)
async def note_edit(request: Request, caller: Caller) -> Response:
    meeting = await service.running_meeting(caller.viewer, request.path_params["meeting_id"])
    case_id, note_id = request.path_params["case_id"], request.path_params["note_id"]
    note = await amend.note_of(meeting, case_id, note_id)
    back = f"/meetings/{meeting.id}/cases/{case_id}"
    form = request.state.form if request.method == "POST" else None
    errors: dict[str, str] = {}
    if form is not None:
        try:
            await amend.edit_note(
                caller.viewer,
                meeting,
                case_id,
                note_id,
                str(form.get("text", "")),
                str(form.get("visibility", "")),
                [str(a) for a in form.getlist("agencies")],
            )
            return RedirectResponse(f"{back}?done=note_changed", status_code=303)
        except (RuleViolation, Conflict) as exc:
            errors = exc.fields or {"text": exc.message}
    item = await service.case_of(meeting, case_id)
    return render(
        request,
        "meetings/note_edit.html",
        {
            "meeting": meeting,
            "label": agenda.label(meeting, item),
            "back": back,
            "note": note,
            "values": form or {"text": note.text, "visibility": note.visibility, "agencies": list(note.agencies)},
            "errors": errors,
            "agency_options": await _agencies(meeting),
            "max_note": service.MAX_NOTE,
            "correction": meeting.status == "held" and await amend.minutes_approved(meeting.id),
        },
        status=400 if errors else 200,
    )


@page(Can.RUN_MEETING)
async def note_delete(request: Request, caller: Caller) -> Response:
    meeting = await service.running_meeting(caller.viewer, request.path_params["meeting_id"])
    case_id, note_id = request.path_params["case_id"], request.path_params["note_id"]
    await amend.note_of(meeting, case_id, note_id)
    back = f"/meetings/{meeting.id}/cases/{case_id}"
    if request.method == "POST":
        try:
            await amend.delete_note(caller.viewer, meeting, case_id, note_id)
        except Conflict as exc:
            return _confirm(
                request, status=409, title=_("Delete this note?"), errors={"confirm": exc.message}, back=back
            )
        return RedirectResponse(f"{back}?done=note_deleted", status_code=303)
    return _confirm(
        request,
        title=_("Delete this note?"),
        detail=_("The note leaves the case and the minutes. What it said is kept in the meeting's history."),
        button=_("Delete the note"),
        warning=True,
        back=back,
    )


@page(Can.RUN_MEETING)
async def action_edit(request: Request, caller: Caller) -> Response:
    meeting = await service.running_meeting(caller.viewer, request.path_params["meeting_id"])
    case_id, action_id = request.path_params["case_id"], request.path_params["action_id"]
    row = await amend.action_of(caller.viewer, meeting, case_id, action_id)
    back = f"/meetings/{meeting.id}/cases/{case_id}"
    form = request.state.form if request.method == "POST" else None
    errors: dict[str, str] = {}
    if form is not None:
        due_text = str(form.get("due_date", "")).strip()
        due = validation.day_or_none(due_text)
        try:
            if due is None:
                raise RuleViolation(_("Bad date"), {"due_date": validation.DATE_MESSAGE})
            change = amend.Amendment(str(form.get("description", "")), str(form.get("owner_agency_id", "")), due)
            version = whole_number(str(form.get("version", "")), 0, MAX_VERSION)
            await amend.amend_action(caller.viewer, action_id, version, change)
            return RedirectResponse(f"{back}?done=action_changed", status_code=303)
        except (RuleViolation, Conflict, StaleVersion) as exc:
            errors = exc.fields or {"description": exc.message}
            # After a 412 the form carries the latest version, with what they typed kept.
            row = (await service.action_row(caller.viewer, action_id))[0]
    values = (
        {**{k: str(v) for k, v in form.items()}, "version": str(row.version)}
        if form is not None
        else {
            "description": row.description,
            "owner_agency_id": row.owner_agency_id,
            "due_date": row.due_date.strftime("%d/%m/%Y"),
            "version": str(row.version),
        }
    )
    return render(
        request,
        "meetings/action_edit.html",
        {
            "meeting": meeting,
            "label": row.case_label,
            "back": back,
            "action": row,
            "values": values,
            "errors": errors,
            "agency_options": await _agencies(meeting),
            "correction": meeting.status == "held" and await amend.minutes_approved(meeting.id),
        },
        status=400 if errors else 200,
    )


@page(Can.RUN_MEETING)
async def action_delete(request: Request, caller: Caller) -> Response:
    meeting = await service.running_meeting(caller.viewer, request.path_params["meeting_id"])
    case_id, action_id = request.path_params["case_id"], request.path_params["action_id"]
    row = await amend.action_of(caller.viewer, meeting, case_id, action_id)
    back = f"/meetings/{meeting.id}/cases/{case_id}"
    title = _("Delete this action?")
    if request.method == "POST":
        version = whole_number(str(request.state.form.get("version", "")), 0, MAX_VERSION)
        try:
            await amend.delete_action(caller.viewer, action_id, version)
        except (Conflict, StaleVersion, RuleViolation) as exc:
            return _confirm(
                request, status=status_of(exc, page=True), title=title, errors={"confirm": exc.message}, back=back
            )
        return RedirectResponse(f"{back}?done=action_deleted", status_code=303)
    return _confirm(
        request,
        title=title,
        detail=_(
            "The action leaves the case and the owner agency's list. What it said is kept in the meeting's history."
        ),
        button=_("Delete the action"),
        warning=True,
        back=back,
        hidden={"version": row.version},
    )


@page(Can.RUN_MEETING)
async def close_confirm(request: Request, caller: Caller) -> Response:
    meeting = await service.running_meeting(caller.viewer, request.path_params["meeting_id"])
    return _confirm(
        request,
        title=_("Close the meeting?"),
        detail=_(
            "Every case has its decision. Once closed, nothing more is recorded on the day and the minutes can be "
            "approved; until they are, the chair can reopen it."
        ),
        button=_("Close the meeting"),
        action=f"/meetings/{meeting.id}/close",
        back=f"/meetings/{meeting.id}/run",
    )


@page(Can.APPROVE_MINUTES)
async def reopen(request: Request, caller: Caller) -> Response:
    meeting = await service.running_meeting(caller.viewer, request.path_params["meeting_id"])
    back = f"/meetings/{meeting.id}/run"
    context: dict[str, Any] = {
        "title": _("Reopen the meeting?"),
        "detail": _(
            "The meeting runs again: notes, actions and decisions can be changed, then it is closed again. "
            "The reason is kept in the meeting's history."
        ),
        "button": _("Reopen the meeting"),
        "back": back,
        "reason": True,
    }
    if request.method == "POST":
        reason = str(request.state.form.get("reason", ""))
        try:
            await amend.reopen(caller.viewer, meeting, reason)
        except (RuleViolation, Conflict) as exc:
            return _confirm(
                request,
                status=status_of(exc, page=True),
                errors=exc.fields or {"reason": exc.message},
                values={"reason": reason},
                **context,
            )
        return RedirectResponse(f"{back}?done=reopen", status_code=303)
    return _confirm(request, **context)


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
        raise NotFound(_("Agency not found"))
    actions = await service.list_actions(
        caller.viewer, which, today(), conference.id if conference else None, agency.id if agency else None, named=True
    )
    return render(
        request,
        "actions/list.html",
        {
            "actions": actions,
            "names": await service.case_names(caller.viewer, [(a.conference_id, a.item_id) for a in actions]),
            "transferred": await service.transferred_out([a.item_id for a in actions]),
            "which": which,
            "filters": service.FILTERS,
            "statuses": STATUS_WORDS,
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
            "transferred": await service.transferred_out([action.item_id]),
            "may_update": rights == "update",
            "statuses": STATUS_WORDS,
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
    Route("/meetings/{meeting_id}/attendance", attendance, methods=["POST"]),
    Route(
        "/meetings/{meeting_id}/confidentiality", _meeting_action(_confidentiality, "confidentiality"), methods=["POST"]
    ),
    Route("/meetings/{meeting_id}/reviews/{action_id}", _meeting_action(_review, "review"), methods=["POST"]),
    Route("/meetings/{meeting_id}/aob", _meeting_action(_aob, "aob"), methods=["POST"]),
    Route("/meetings/{meeting_id}/close", _meeting_action(_close, "close"), methods=["POST"]),
    Route("/meetings/{meeting_id}/close", close_confirm, methods=["GET"]),
    Route("/meetings/{meeting_id}/reopen", reopen, methods=["GET", "POST"]),
    Route("/meetings/{meeting_id}/cases/{case_id}/notes/{note_id}/edit", note_edit, methods=["GET", "POST"]),
    Route("/meetings/{meeting_id}/cases/{case_id}/notes/{note_id}/delete", note_delete, methods=["GET", "POST"]),
    Route("/meetings/{meeting_id}/cases/{case_id}/actions/{action_id}/edit", action_edit, methods=["GET", "POST"]),
    Route("/meetings/{meeting_id}/cases/{case_id}/actions/{action_id}/delete", action_delete, methods=["GET", "POST"]),
    Route("/meetings/{meeting_id}/cases/{case_id}", case, methods=["GET"]),
    Route("/meetings/{meeting_id}/cases/{case_id}/notes", _case_action(_note, "note"), methods=["POST"]),
    Route("/meetings/{meeting_id}/cases/{case_id}/actions", _case_action(_action, "action"), methods=["POST"]),
    Route("/meetings/{meeting_id}/cases/{case_id}/decision", _case_action(_decide, "decision"), methods=["POST"]),
    Route("/actions", my_actions, methods=["GET"]),
    Route("/actions/{action_id}", action_detail, methods=["GET"]),
    Route("/actions/{action_id}/update", action_update, methods=["POST"]),
]
