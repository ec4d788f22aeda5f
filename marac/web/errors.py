"""Error answers: the JSON envelope of /api/v1/openapi.json (`Error`) for the API, a plain GOV.UK page otherwise.

Neither ever carries a stack trace, a field value or a record's contents.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from marac import db
from marac.errors import DomainError
from marac.i18n import gettext as _
from marac.i18n import lazy_gettext
from marac.web.templating import render

log = logging.getLogger("marac.web")

TITLES = {
    400: lazy_gettext("There is a problem with the request"),
    401: lazy_gettext("Sign in to continue"),
    403: lazy_gettext("You cannot do that"),
    404: lazy_gettext("Page not found"),
    405: lazy_gettext("That cannot be done here"),
    413: lazy_gettext("That is too large"),
    429: lazy_gettext("Too many attempts"),
    500: lazy_gettext("Sorry, there is a problem with the service"),
    503: lazy_gettext("Sorry, the service is unavailable"),
}
# Not "nothing was saved": the connection can drop after a commit, before the answer.
UNAVAILABLE_MESSAGE = lazy_gettext(
    "The service cannot reach its database just now. Try again in a few minutes, "
    "and check whether a change you were making was saved."
)


# The one mapping of domain errors to statuses, for both doors. A broken rule is 422 in the
# API (docs: /api/v1/openapi.json) and 400 on a page, which shows its form again with the errors.
STATUS = {
    "not_found": 404,
    "forbidden": 403,
    "validation_error": 422,
    "conflict": 409,
    "stale_version": 412,
    "throttled": 429,
}


def status_of(exc: DomainError, *, page: bool = False) -> int:
    status = STATUS.get(exc.code, 400)
    return 400 if page and status == 422 else status


def api_error(status: int, code: str, message: str, fields: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "fields": fields or {}}}, status_code=status)


# Messages made where no catalogue is read (the defaults of marac/errors.py, a base module) are worded in the
# page's language when shown: error_page looks every title up. A title already translated is no msgid and
# passes through as it is.
BELOW_THE_CATALOGUES = (lazy_gettext("Not found"), lazy_gettext("You are not allowed to do that"))


def error_page(request: Request, status: int, title: str | None = None, detail: str = "") -> HTMLResponse:
    title = _(str(title)) if title else str(TITLES.get(status, _("Error")))
    return render(request, "error.html", {"status": status, "title": title, "detail": detail}, status=status)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if _is_api(request):
        codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
        return api_error(
            exc.status_code, codes.get(exc.status_code, "error"), str(TITLES.get(exc.status_code, "Error"))
        )
    return error_page(request, exc.status_code)


async def too_large(request: Request, exc: Exception) -> Response:
    if _is_api(request):
        return api_error(413, "too_large", "The request body is larger than 1 MiB")
    return error_page(request, 413, detail=_("The request body is larger than 1 MiB."))


async def database_unavailable(request: Request, exc: Exception) -> Response:
    """503 while the database is down or restarting: the pool reconnects by itself on a
    later request, so the same process serves again once the database is back."""
    if not db.unavailable(exc):
        raise exc  # not an outage: the 500 handler answers and logs it
    request_id = request.scope.get("state", {}).get("request_id")
    route = getattr(request.scope.get("route"), "path", "?")
    log.warning(
        "database unavailable (%s) on %s %s request_id=%s", type(exc).__name__, request.method, route, request_id
    )
    if _is_api(request):
        response: Response = api_error(503, "database_unavailable", str(UNAVAILABLE_MESSAGE))
    else:
        response = error_page(request, 503, detail=str(UNAVAILABLE_MESSAGE))
    response.headers["Retry-After"] = "30"
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    # The request id ties the log line to what the user saw; the exception text may hold
    # personal data, so only its type is logged.
    # The path template, not the path: a path can carry a set-up token.
    request_id = request.scope.get("state", {}).get("request_id")
    route = getattr(request.scope.get("route"), "path", "?")
    log.error("unhandled %s on %s %s request_id=%s", type(exc).__name__, request.method, route, request_id)
    if _is_api(request):
        return api_error(500, "server_error", f"Something went wrong (reference {request_id})")
    return HTMLResponse(
        _("Sorry, there is a problem with the service. Reference: %(reference)s") % {"reference": request_id},
        status_code=500,
    )
