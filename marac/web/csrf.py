"""CSRF tokens for forms.

A form's token is an HMAC of the session cookie (signed in) or of a random pre-session
cookie (sign-in and set-up pages), so a page on another site can neither read nor
compute it. The security middleware also refuses cross-site unsafe requests by their
Origin and Sec-Fetch-Site headers; the token is the second, independent line.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from marac import settings
from marac.web import cookies

SESSION = "marac_session"
PRESESSION = "marac_csrf"
FIELD = "csrf_token"


def _basis(request: Request) -> str:
    # Any session cookie, even a pending or expired one: only this browser can read it.
    session = request.cookies.get(cookies.name(SESSION))
    if session:
        return "s:" + session
    existing = request.cookies.get(cookies.name(PRESESSION)) or getattr(request.state, "new_presession", None)
    if not existing:
        existing = secrets.token_urlsafe(24)
        request.state.new_presession = existing
    return "p:" + existing


def token(request: Request) -> str:
    key = settings.get().derived_key("csrf")
    return hmac.new(key, _basis(request).encode(), hashlib.sha256).hexdigest()


def valid(request: Request, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(token(request), str(submitted))


def attach_cookie(request: Request, response: Response) -> None:
    new = getattr(request.state, "new_presession", None)
    if new:
        cookies.set_cookie(response, PRESESSION, new)
