"""Information governance pages: a conference's retention report; subject access exports."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from marac import i18n
from marac.agencies import access
from marac.agencies.access import Can
from marac.agencies.models import Conference
from marac.audit.service import record
from marac.clock import today
from marac.documents import pool, store
from marac.documents import render as renderer
from marac.errors import RuleViolation
from marac.governance import retention, subject_access
from marac.i18n import gettext as _
from marac.i18n import lazy_gettext
from marac.jobs import queue
from marac.web.auth import Caller, confirm_it_is_you, page
from marac.web.templating import render


async def _retention_page(
    request: Request, caller: Caller, conference: Conference, status: int = 200, **context: Any
) -> Response:
    next_run = queue.next_run(retention.RUN_AT, datetime.now(UTC)).astimezone(queue.UK).date()
    report = await retention.report(conference, today(), next_run)
    await record(
        "retention.report_read",
        user_id=caller.viewer.user_id,
        agency_id=caller.viewer.agency_id,
        object_type="conference",
        object_id=conference.id,
        conference_id=conference.id,
    )
    return render(
        request,
        "governance/retention.html",
        {
            "conference": conference,
            "report": report,
            "notice_days": retention.NOTICE_DAYS,
            "run_at": retention.RUN_AT.strftime("%H:%M"),  # the same in every language
            **context,
        },
        status=status,
    )


async def _governed(request: Request, caller: Caller) -> Conference:
    conference = await access.get_conference(caller.viewer, request.path_params["slug"])
    access.require_governance(caller.viewer, conference.id)
    return conference


@page(Can.RUN_GOVERNANCE)
async def retention_report(request: Request, caller: Caller) -> Response:
    return await _retention_page(request, caller, await _governed(request, caller))


@page(Can.RUN_GOVERNANCE)
async def hold_set(request: Request, caller: Caller) -> Response:
    conference = await _governed(request, caller)
    form = request.state.form
    values = {name: str(form.get(name, "")) for name in ("person_id", "referral_id", "reason")}
    try:
        await retention.set_hold(caller.viewer, conference, **values)
    except RuleViolation as exc:
        return await _retention_page(request, caller, conference, 400, errors=exc.fields, values=values)
    return RedirectResponse(f"/conferences/{conference.slug}/retention#holds", status_code=303)


@page(Can.RUN_GOVERNANCE)
async def hold_lift(request: Request, caller: Caller) -> Response:
    conference = await _governed(request, caller)
    await retention.lift_hold(caller.viewer, conference, request.path_params["hold_id"])
    return RedirectResponse(f"/conferences/{conference.slug}/retention#holds", status_code=303)


def _attachment(person_id: str, extension: str) -> dict[str, str]:
    # The file name names nobody: the person's id is opaque.
    return {"Content-Disposition": f'attachment; filename="subject-access-{person_id}.{extension}"'}


def _export_form(request: Request, person_id: str, status: int = 200, **context) -> Response:
    # The page names nobody: the coordinator comes here from the referral that names the person.
    return render(
        request,
        "governance/subject_access.html",
        {"person_id": person_id, "formats": FORMAT_LABELS, **context},
        status=status,
    )


FORMAT_LABELS = [("pdf", lazy_gettext("PDF, to read and redact")), ("json", lazy_gettext("JSON, everything as data"))]


@page(Can.RUN_GOVERNANCE)
async def subject_access_export(request: Request, caller: Caller) -> Response:
    """Exporting everything held about a person is the most a single click can release:
    the coordinator confirms it is them (password and a new code) for every export."""
    person = await subject_access.subject(caller.viewer, request.path_params["person_id"])
    if request.method == "GET":
        return _export_form(request, person.id)
    form = request.state.form
    values = {"format": str(form.get("format", ""))}
    wrong_format = {} if values["format"] in subject_access.FORMATS else {"format": _("Choose PDF or JSON")}
    confirmed = await confirm_it_is_you(request, caller, wrong_format)
    if confirmed.errors:
        if confirmed.refused:
            await record(
                "subject_access.export",
                user_id=caller.viewer.user_id,
                agency_id=caller.viewer.agency_id,
                object_type="person",
                object_id=person.id,
                conference_id=person.conference_id,
                outcome="denied",
            )
        return _export_form(request, person.id, confirmed.status, errors=confirmed.errors, values=values)
    data = await subject_access.export(caller.viewer, person)
    if values["format"] == "json":
        body, media_type = json.dumps(data, indent=2, ensure_ascii=False).encode(), "application/json"
    else:
        context = {
            "export": data,
            "reference": store.new_reference("subject_access", today()),
            "recipient": caller.user.agency.name,
            "version": 1,
            # In the coordinator's own language: they read it before anything is released.
            renderer.LANGUAGE: i18n.current(),
        }
        # A render process, not this event loop (documents/pool.py); the title names nobody.
        body, _pages = await pool.render("subject_access.html", context, title=_("Subject access export"))
        media_type = "application/pdf"
    await subject_access.record_export(caller.viewer, person, values["format"])
    return Response(body, media_type=media_type, headers=_attachment(person.id, values["format"]))


routes = [
    Route("/conferences/{slug}/retention", retention_report, methods=["GET"]),
    Route("/conferences/{slug}/retention/holds", hold_set, methods=["POST"]),
    Route("/conferences/{slug}/retention/holds/{hold_id}/lift", hold_lift, methods=["POST"]),
    Route("/people/{person_id}/subject-access", subject_access_export, methods=["GET", "POST"]),
]
