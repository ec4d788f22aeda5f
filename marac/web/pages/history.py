"""The coordinator's history page: load a file of earlier cases (referrals.history) as a background
job, follow its progress and read every problem by line and column. The command line's
`marac import history` runs the same use case."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from marac.errors import RuleViolation
from marac.i18n import gettext
from marac.jobs import flows
from marac.referrals import history
from marac.web.auth import Caller, page
from marac.web.middleware import MAX_BODY
from marac.web.templating import render

# A request body is at most MAX_BODY: larger files go through `marac import history`.
ABOUT_CASES_PER_MB = 15_000


async def _form(request: Request, caller: Caller, status: int = 200, **context: object) -> Response:
    conference = await history.conference_for(caller.viewer, request.path_params["slug"])
    return render(
        request,
        "referrals/history.html",
        {
            "conference": conference,
            "imports": await history.imports_of(caller.viewer, conference),
            "columns": history.COLUMNS,
            "needs_perpetrator": "perpetrator" in history.matched_by(conference),
            "max_mb": MAX_BODY // (1024 * 1024),
            "about_cases": ABOUT_CASES_PER_MB * MAX_BODY // (1024 * 1024),
            "errors": {},
            **context,
        },
        status=status,
    )


@page()
async def history_page(request: Request, caller: Caller) -> Response:
    if request.method == "GET":
        return await _form(request, caller)
    slug = request.path_params["slug"]
    await history.conference_for(caller.viewer, slug)  # 404 before anything is read for anyone else
    upload = request.state.form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _form(request, caller, 400, errors={"file": gettext("Choose a CSV file")})
    try:
        started = await flows.import_history(caller.viewer, slug, await upload.read())
    except RuleViolation as exc:
        return await _form(request, caller, 400, errors={"file": exc.message}, problems=history.problems(exc))
    return RedirectResponse(f"/conferences/{slug}/history/{started.id}", status_code=303)


@page()
async def history_import(request: Request, caller: Caller) -> Response:
    conference = await history.conference_for(caller.viewer, request.path_params["slug"])
    upload = await history.find(caller.viewer, conference, request.path_params["import_id"])
    return render(
        request,
        "referrals/history_import.html",
        {
            "conference": conference,
            "upload": upload,
            "refresh": not history.ended(upload),
            # Kept in the language of whoever loaded the file: a message made in English is one of the
            # catalogue's, so it is read here in the reader's language (tests/test_i18n_referrals.py).
            "message": gettext(upload.message) if upload.message else None,
        },
    )


routes = [
    Route("/conferences/{slug}/history", history_page, methods=["GET", "POST"]),
    Route("/conferences/{slug}/history/{import_id}", history_import, methods=["GET"]),
]
