"""A background job's progress, for the person who started it (refreshes itself without JavaScript)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from marac.ids import ID_PATTERN
from marac.jobs import flows
from marac.reports.models import ReportDocument
from marac.web.auth import Caller, page
from marac.web.templating import render


@page()
async def job_status(request: Request, caller: Caller) -> Response:
    job = await flows.find_job(caller.viewer, request.path_params["job_id"])
    # A finished quarterly report links to its PDF (the download checks who may read it).
    report = await ReportDocument.get_or_none(job_id=job.id) if job.name == "render_quarterly_report" else None
    # The page that asked for the job names its meeting, for the way back (that page checks access).
    meeting_id = request.query_params.get("meeting", "")
    back = f"/meetings/{meeting_id}/circulation" if ID_PATTERN.fullmatch(meeting_id) else None
    return render(
        request,
        "jobs/status.html",
        {"job": job, "refresh": job.status in ("queued", "running"), "report": report, "back": back},
    )


routes = [Route("/jobs/{job_id}", job_status, methods=["GET"])]
