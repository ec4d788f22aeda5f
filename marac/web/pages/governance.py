"""Information governance pages: a conference's retention report; subject access exports."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from marac.agencies import access
from marac.agencies.auth import today
from marac.audit.service import record
from marac.documents import pool, store
from marac.governance import retention, subject_access
from marac.jobs import queue
from marac.web.auth import Caller, page
from marac.web.templating import render


@page("coordinator")
async def retention_report(request: Request, caller: Caller) -> Response:
    conference = await access.get_conference(caller.viewer, request.path_params["slug"])
    access.require_governance(caller.viewer, conference.id)
    next_run = queue.next_run(retention.RUN_AT, datetime.now(UTC)).astimezone(queue.UK).date()
    report = await retention.report(conference, today(), next_run)
    await record("retention.report_read", user_id=caller.viewer.user_id, agency_id=caller.viewer.agency_id,
                 object_type="conference", object_id=conference.id, conference_id=conference.id)
    return render(request, "governance/retention.html", {
        "conference": conference, "report": report, "notice_days": retention.NOTICE_DAYS, "run_at": retention.RUN_AT})


def _attachment(person_id: str, extension: str) -> dict[str, str]:
    # The file name names nobody: the person's id is opaque.
    return {"Content-Disposition": f'attachment; filename="subject-access-{person_id}.{extension}"'}


@page("coordinator")
async def export_json(request: Request, caller: Caller) -> Response:
    person = await subject_access.subject(caller.viewer, request.path_params["person_id"])
    data = await subject_access.export(caller.viewer, person)
    await subject_access.record_export(caller.viewer, person, "json")
    return Response(json.dumps(data, indent=2, ensure_ascii=False), media_type="application/json", headers=_attachment(person.id, "json"))


@page("coordinator")
async def export_pdf(request: Request, caller: Caller) -> Response:
    person = await subject_access.subject(caller.viewer, request.path_params["person_id"])
    data = await subject_access.export(caller.viewer, person)
    context = {"export": data, "reference": store.new_reference("subject_access", today()), "recipient": caller.user.agency.name, "version": 1}
    # A render process, not this event loop (documents/pool.py); the title names nobody.
    pdf, _pages = await pool.render("subject_access.html", context, title="Subject access export")
    await subject_access.record_export(caller.viewer, person, "pdf")
    return Response(pdf, media_type="application/pdf", headers=_attachment(person.id, "pdf"))


routes = [
    Route("/conferences/{slug}/retention", retention_report, methods=["GET"]),
    Route("/people/{person_id}/subject-access.json", export_json, methods=["GET"]),
    Route("/people/{person_id}/subject-access.pdf", export_pdf, methods=["GET"]),
]
