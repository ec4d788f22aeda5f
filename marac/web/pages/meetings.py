"""Conference calendar, meeting page, the coordinator's agenda builder, research forms, iCalendar feed."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from marac import validation
from marac.actions import service as actions
from marac.agencies import access
from marac.agencies.access import Can
from marac.agencies.models import Conference
from marac.clock import today
from marac.errors import Conflict, DomainError, NotFound, RuleViolation
from marac.i18n import gettext as _
from marac.i18n import lazy_gettext
from marac.jobs import flows
from marac.meetings import agenda, calendar, schedule
from marac.meetings.models import Meeting, Research
from marac.minutes import service as minutes
from marac.validation import MAX_VERSION
from marac.web.api_meetings import pdf_response
from marac.web.auth import Caller, page, public_page
from marac.web.errors import status_of
from marac.web.templating import render

CALENDAR_MEETINGS = 12
# The success banner of each finished step, by ?done= (GOV.UK notification banner).
DONE = {
    "published": lazy_gettext("Agenda published: the research list is released to member agencies"),
    "cancelled": lazy_gettext("Meeting cancelled: its cases move to the next meeting"),
    "closed": lazy_gettext("Meeting closed: the minutes can now be approved"),
}


def _done(banners: dict[str, Any], request: Request) -> str | None:
    """The banner named by ?done=, in the page's language."""
    found = banners.get(request.query_params.get("done", ""))
    return str(found) if found else None


def _back(meeting: Meeting) -> RedirectResponse:
    return RedirectResponse(f"/meetings/{meeting.id}", status_code=303)


async def _calendar(request: Request, caller: Caller, conference: Conference, status: int = 200, **context) -> Response:
    meetings = await schedule.upcoming(conference, today(), CALENDAR_MEETINGS)
    return render(
        request,
        "meetings/calendar.html",
        {
            "conference": conference,
            "meetings": meetings,
            "may_manage": caller.viewer.can_in(conference.id, Can.MANAGE_MEETINGS),
            "feed_url": f"/calendar/{conference.calendar_token}.ics",
            **context,
        },
        status=status,
    )


@page()
async def conference_calendar(request: Request, caller: Caller) -> Response:
    return await _calendar(request, caller, await access.get_conference(caller.viewer, request.path_params["slug"]))


@page(Can.MANAGE_MEETINGS)
async def add_emergency(request: Request, caller: Caller) -> Response:
    conference = await access.get_conference(caller.viewer, request.path_params["slug"])
    try:
        day = validation.day(str(request.state.form.get("date", "")), "date")
        meeting = await schedule.add_emergency(caller.viewer, conference, day, today())
    except DomainError as exc:
        return await _calendar(request, caller, conference, status=400, errors=exc.fields or {"date": exc.message})
    return _back(meeting)


async def _meeting_page(request: Request, caller: Caller, meeting: Meeting, status: int = 200, **context) -> Response:
    viewer = caller.viewer
    officer = access.may_see_agenda(viewer, meeting.conference_id)
    tier = await access.member_tier(viewer, meeting.conference_id)
    values: dict = {
        "meeting": meeting,
        "conference": meeting.conference,
        "officer": officer,
        "may_manage": viewer.can_in(meeting.conference_id, Can.MANAGE_MEETINGS),
        "done": _done(DONE, request),
        **context,
    }
    if officer:
        values["agenda"] = await agenda.read_agenda(viewer, meeting)
        if meeting.status in ("scheduled", "published") and values["may_manage"]:
            values["addable"] = await agenda.addable(meeting)
        if meeting.status != "scheduled":
            values["progress"] = await agenda.research_progress(meeting)
            cases = [(meeting.conference_id, case["case_id"]) for case in values["progress"]["cases"]]
            values["names"] = await actions.case_names(viewer, cases)
    if tier and meeting.status == "held":
        values["minutes_ready"] = await minutes.has_copy(viewer, meeting)
    if tier and meeting.status in ("published", "held"):
        values["research_cases"] = await agenda.read_research_list(viewer, meeting)
        mine = await Research.filter(item__meeting=meeting, agency_id=viewer.agency_id)
        values["my_research"] = {r.item_id: r for r in mine}
        values["records_contact"] = await access.records_victim_contact(viewer.agency_id, meeting.conference_id)
    return render(request, "meetings/meeting.html", values, status=status)


@page()
async def meeting_page(request: Request, caller: Caller) -> Response:
    meeting = await agenda.visible_meeting(caller.viewer, request.path_params["meeting_id"])
    return await _meeting_page(request, caller, meeting)


def _coordinator_action(action, done: str | None = None):
    """A coordinator's POST on a meeting: run it, then back to the meeting page (errors shown there)."""

    @page(Can.MANAGE_MEETINGS)
    async def handler(request: Request, caller: Caller) -> Response:
        meeting = await agenda.visible_meeting(caller.viewer, request.path_params["meeting_id"])
        access.require_manage_meeting(caller.viewer, meeting.conference_id)
        try:
            target = await action(request, caller, meeting)
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            return await _meeting_page(
                request, caller, meeting, status=status_of(exc, page=True), errors=exc.fields or {"agenda": exc.message}
            )
        if target:
            return RedirectResponse(target, status_code=303)
        return RedirectResponse(f"/meetings/{meeting.id}{'?done=' + done if done else ''}", status_code=303)

    handler.__name__ = action.__name__
    return handler


def _are_you_sure(title: Any, detail: Any, button: Any, warning: bool = False):
    """The GOV.UK "are you sure" page before a coordinator's step that cannot simply be undone."""

    @page(Can.MANAGE_MEETINGS)
    async def handler(request: Request, caller: Caller) -> Response:
        meeting = await agenda.visible_meeting(caller.viewer, request.path_params["meeting_id"])
        access.require_manage_meeting(caller.viewer, meeting.conference_id)
        return render(
            request,
            "meetings/confirm.html",
            {
                "title": str(title),
                "detail": str(detail),
                "button": str(button),
                "warning": warning,
                "back": f"/meetings/{meeting.id}",
            },
        )

    return handler


async def _publish(request: Request, caller: Caller, meeting: Meeting) -> None:
    await flows.publish_agenda(caller.viewer, meeting)


async def _move(request: Request, caller: Caller, meeting: Meeting) -> None:
    day = validation.day(str(request.state.form.get("date", "")), "date")
    await schedule.move(caller.viewer, meeting, day, today())


async def _cancel(request: Request, caller: Caller, meeting: Meeting) -> None:
    await schedule.cancel(caller.viewer, meeting)


async def _reorder(request: Request, caller: Caller, meeting: Meeting) -> None:
    direction = -1 if request.state.form.get("direction") == "up" else 1
    await agenda.move_item(caller.viewer, meeting, request.path_params["case_id"], direction)


async def _defer(request: Request, caller: Caller, meeting: Meeting) -> None:
    case_id = request.path_params["case_id"]
    try:
        await agenda.defer(caller.viewer, meeting, case_id, str(request.state.form.get("reason", "")))
    except RuleViolation as exc:
        # Each case has its own defer form: the error belongs to that case's reason field, whose
        # section the page then shows open (tests/test_agenda.py).
        raise RuleViolation(exc.message, {f"reason-{case_id}": m for m in exc.fields.values()}) from exc


async def _add(request: Request, caller: Caller, meeting: Meeting) -> None:
    await flows.add_case(caller.viewer, meeting, str(request.state.form.get("referral_id", "")))


@page(Can.RESEARCH)
async def research(request: Request, caller: Caller) -> Response:
    meeting = await agenda.research_meeting(caller.viewer, request.path_params["meeting_id"])
    form = request.state.form
    known = form.get("known")
    if known not in ("yes", "no"):
        return await _meeting_page(
            request,
            caller,
            meeting,
            status=400,
            errors={f"known-{request.path_params['case_id']}": _("Say whether your agency knows these people")},
        )
    case_id = request.path_params["case_id"]
    try:
        await flows.record_research(
            caller.viewer, meeting, case_id, known == "yes", str(form.get("summary", "")), _contact(form)
        )
    except Conflict as exc:
        return await _meeting_page(
            request, caller, meeting, status=status_of(exc, page=True), errors={"agenda": exc.message}
        )
    except RuleViolation as exc:  # the contact with the victim: named per case, as the form's fields are
        errors = {f"{name}-{case_id}": message for name, message in (exc.fields or {}).items()}
        return await _meeting_page(request, caller, meeting, status=400, errors=errors)
    return _back(meeting)


def _contact(form) -> agenda.VictimContact | None:
    """The advocate's contact with the victim, when the form carries it (only the advocacy agency's does)."""
    contacted = str(form.get("victim_contacted", ""))
    if not contacted:
        return None
    written = str(form.get("contacted_on", "")).strip()
    on = (
        validation.day(written, "contacted_on", _("Enter the date as YYYY-MM-DD, for example 2026-11-20"))
        if written
        else None
    )
    views = str(form.get("victim_views", "")).strip()
    return agenda.VictimContact(contacted, on, views or None)


@page(Can.READ_MINUTES)
async def minutes_pdf(request: Request, caller: Caller) -> Response:
    text = request.query_params.get("version")
    version = validation.number(text, "version", 1, MAX_VERSION, _("Give a version number")) if text else None
    return pdf_response(await flows.minutes_document(caller.viewer, request.path_params["meeting_id"], version))


@page(Can.RESEARCH)
async def agenda_pdf(request: Request, caller: Caller) -> Response:
    return pdf_response(await agenda.agenda_document(caller.viewer, request.path_params["meeting_id"]))


@public_page
async def calendar_feed(request: Request) -> Response:
    """Meeting dates only — no cases, no names — at an unguessable address for calendar apps."""
    token = request.path_params["token"]
    conference = await Conference.get_or_none(calendar_token=token)
    if conference is None:
        raise NotFound("Calendar not found")
    meetings = await schedule.upcoming(conference, today(), CALENDAR_MEETINGS * 2)
    return Response(calendar.feed(conference, meetings), media_type="text/calendar; charset=utf-8")


routes = [
    Route("/conferences/{slug}", conference_calendar, methods=["GET"]),
    Route("/conferences/{slug}/meetings", add_emergency, methods=["POST"]),
    Route("/calendar/{token}.ics", calendar_feed, methods=["GET"]),
    Route("/meetings/{meeting_id}", meeting_page, methods=["GET"]),
    Route("/meetings/{meeting_id}/agenda.pdf", agenda_pdf, methods=["GET"]),
    Route("/meetings/{meeting_id}/minutes.pdf", minutes_pdf, methods=["GET"]),
    Route("/meetings/{meeting_id}/publish", _coordinator_action(_publish, "published"), methods=["POST"]),
    Route(
        "/meetings/{meeting_id}/publish",
        _are_you_sure(
            lazy_gettext("Publish the agenda?"),
            lazy_gettext(
                "The agenda is frozen and the research list goes to every member agency. Cases can still be added "
                "as urgent, but not taken off."
            ),
            lazy_gettext("Publish the agenda"),
        ),
        methods=["GET"],
    ),
    Route("/meetings/{meeting_id}/move", _coordinator_action(_move), methods=["POST"]),
    Route("/meetings/{meeting_id}/cancel", _coordinator_action(_cancel, "cancelled"), methods=["POST"]),
    Route(
        "/meetings/{meeting_id}/cancel",
        _are_you_sure(
            lazy_gettext("Cancel this meeting?"),
            lazy_gettext("The meeting will not sit. Its cases move to the next meeting's agenda."),
            lazy_gettext("Cancel the meeting"),
            warning=True,
        ),
        methods=["GET"],
    ),
    Route("/meetings/{meeting_id}/cases", _coordinator_action(_add), methods=["POST"]),
    Route("/meetings/{meeting_id}/cases/{case_id}/reorder", _coordinator_action(_reorder), methods=["POST"]),
    Route("/meetings/{meeting_id}/cases/{case_id}/defer", _coordinator_action(_defer), methods=["POST"]),
    Route("/meetings/{meeting_id}/cases/{case_id}/research", research, methods=["POST"]),
]
