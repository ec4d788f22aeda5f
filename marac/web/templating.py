"""One Jinja2 environment for every page, escaping on whatever the file name."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader
from starlette.requests import Request
from starlette.responses import HTMLResponse

from marac import settings, wording
from marac.agencies.access import Can
from marac.settings import PROJECT_DIR
from marac.web import csrf

TEMPLATES_DIR = PROJECT_DIR / "templates"

# Not Starlette's Jinja2Templates: it escapes only .html/.htm/.xml names, and the PDF
# templates to come are not all .html.
env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, trim_blocks=True, lstrip_blocks=True)
# {{ n|count("case") }} → "1 case", "2 cases"; {{ n|plural("has", "have") }}: marac/wording.py.
env.filters.update(count=wording.count, plural=wording.plural)


def _nothing(capability: Can) -> bool:
    return False


def render(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200) -> HTMLResponse:
    caller = getattr(request.state, "caller", None)
    values: dict[str, Any] = {
        "request": request,
        "caller": caller,
        "user": caller.user if caller else None,
        # What the caller may do, for links and buttons: {% if can(Can.READ_REPORTS) %}.
        "Can": Can,
        "can": caller.viewer.can if caller else _nothing,
        "unread": getattr(request.state, "unread", 0),  # notifications, for the header (web/auth.py page)
        "demo": settings.get().demo,
        "csrf_token": csrf.token(request),
        "errors": {},
        "values": {},
    }
    values.update(context or {})
    response = HTMLResponse(env.get_template(name).render(values), status_code=status)
    csrf.attach_cookie(request, response)
    return response
