"""Who is calling: session cookies for pages, bearer tokens for the API.

Handlers declare what the caller must be able to do with @page(Can.X), @api(Can.X) (no name:
any signed-in user) or @public_page; the decorators resolve the caller, check the role holds
those capabilities (access.ROLE_CAN), check CSRF on every unsafe page request,
and turn domain errors into answers. Visibility of records is not decided here: that is
marac/agencies/access.py.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from marac.agencies import auth
from marac.agencies.access import Can, Viewer, roles_that, viewer_for, viewer_of
from marac.agencies.models import Session, User
from marac.alerts import inbox
from marac.errors import DomainError, NotFound, RuleViolation, Throttled
from marac.i18n import gettext as _
from marac.ids import ID_PATTERN
from marac.jobs.flows import tell_of_lock
from marac.validation import SLUG_RE, TOKEN_RE, BadJSON, fields_of, json_value, unstorable
from marac.web import cookies, csrf, language
from marac.web.errors import api_error, error_page, status_of
from marac.web.middleware import SAFE_METHODS

PATH_PATTERNS = {"slug": SLUG_RE, "token": TOKEN_RE}


@dataclass(frozen=True)
class Caller:
    user: User
    viewer: Viewer
    session_raw: str | None = None
    session: Session | None = None  # None for API tokens


def names_nothing(path_params: dict[str, Any]) -> bool:
    """Whether a path names an id, slug or token that no record can have. Such a value is answered
    as not found before anything looks it up: the ORM refuses to compare a value longer than
    its column (an error, not an empty result), and PostgreSQL refuses a NUL byte."""
    for name, value in path_params.items():
        pattern = PATH_PATTERNS.get(name, ID_PATTERN if name.endswith("_id") else None)
        if pattern is not None and not pattern.fullmatch(value):
            return True
    return False


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def session_caller(request: Request) -> tuple[Caller | None, User | None]:
    """(signed-in caller, user part-way through the second factor)."""
    raw = request.cookies.get(cookies.name(csrf.SESSION))
    found = await auth.session_user(raw)
    if found is None:
        return None, None
    session, user = found
    if not session.mfa_passed:
        return None, user
    return Caller(user=user, viewer=await viewer_for(user), session_raw=raw, session=session), None


async def _check_form(request: Request) -> Response | None:
    if request.method in SAFE_METHODS:
        return None
    form = await request.form()
    request.state.form = form
    submitted = form.get(csrf.FIELD)
    if not csrf.valid(request, submitted if isinstance(submitted, str) else None):  # a file is no token
        return error_page(request, 403, _("This form has expired"), _("Go back, reload the page and try again."))
    if unstorable([value for _, value in form.multi_items() if isinstance(value, str)]):
        return error_page(request, 400, detail=_("Remove the NUL character or broken Unicode from what you typed."))
    return None


@dataclass(frozen=True)
class Confirmation:
    errors: dict[str, str]  # empty: it is them
    status: int  # 200, 400, or 429 once throttled
    refused: bool  # both factors were tried and not accepted (or throttled): worth an audit event


async def confirm_it_is_you(
    request: Request, caller: Caller, errors: dict[str, str] | None = None, password_field: str = "password"
) -> Confirmation:
    """A step-up from a posted form: the password (in `password_field`) and a new
    authenticator `code`. Blank fields are form errors; with `errors` already found in the
    rest of the form nothing is checked (no code is spent on a form that would be refused
    anyway). Sign-in failures are cleared once it passes."""
    form = request.state.form
    password, code = str(form.get(password_field, "")), str(form.get("code", ""))
    errors = dict(errors or {})
    if not password:
        errors[password_field] = _("Enter your password")
    if not code.strip() and not auth.skips_mfa(caller.user):
        errors["code"] = _("Enter the 6-digit code from your authenticator app")
    if errors:
        return Confirmation(errors, 400, refused=False)
    try:
        passed = await auth.stepped_up(caller.user, password, code, client_ip(request))
    except Throttled as exc:
        await tell_of_lock(exc)
        return Confirmation({password_field: exc.message}, 429, refused=True)
    if not passed:
        return Confirmation({password_field: str(auth.STEP_UP_ERROR)}, 400, refused=True)
    await auth.clear_failures(caller.user.email, client_ip(request))
    return Confirmation({}, 200, refused=False)


PageHandler = Callable[..., Awaitable[Response]]


def page(*can: Can, step_up: str | None = None) -> Callable[[PageHandler], PageHandler]:
    """A signed-in page for callers whose role, in some conference of theirs (or their own role),
    holds every capability named; others get 403, strangers go to sign in. Whether the role in
    the record's own conference allows it is the domain check's business (access.py).

    With `step_up` (the page to come back to, path parameters in braces), a form posted more
    than auth.STEP_UP_LIFETIME after the caller last gave both factors changes nothing and
    goes to /step-up first; the person then posts the form again."""
    allowed = roles_that(*can)

    def decorate(handler: PageHandler) -> PageHandler:
        @functools.wraps(handler)
        async def wrapper(request: Request) -> Response:
            caller, _pending = await session_caller(request)
            if caller is None:
                target = request.url.path if request.method == "GET" else "/"
                return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
            request.state.caller = caller
            await language.settle(request, caller.user)
            if names_nothing(request.path_params):
                return error_page(request, 404)
            if not caller.viewer.can(*can):
                return error_page(
                    request, 403, _("You cannot use this page"), _("Your role does not give access to it.")
                )
            refused = await _check_form(request)
            if refused:
                return refused
            if (
                step_up
                and request.method not in SAFE_METHODS
                and (caller.session is None or not auth.stepped_up_recently(caller.session))
            ):
                back = step_up.format(**request.path_params)
                return RedirectResponse(f"/step-up?next={quote(back)}", status_code=303)
            if request.method == "GET":  # the header's count of unread notifications
                request.state.unread = await inbox.unread(caller.user.id)
            try:
                return await handler(request, caller)
            except DomainError as exc:
                if isinstance(exc, RuleViolation):
                    # A page that does not show its form again: still a 400 that says what was wrong.
                    return error_page(request, 400, detail=" ".join(exc.fields.values()) or exc.message)
                return error_page(request, status_of(exc, page=True), exc.message)

        declared = {"kind": "page", "roles": allowed, "can": can, "step_up": bool(step_up)}
        wrapper.access = declared  # type: ignore[attr-defined]  # the route inventory reads it from the handler (tests/test_route_inventory.py)
        return wrapper

    return decorate


def public_page(handler: PageHandler) -> PageHandler:
    """A page anyone may open (sign-in, set-up); its forms are CSRF-checked all the same."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        refused = await _check_form(request)
        if refused:
            return refused
        if names_nothing(request.path_params):
            return error_page(request, 404)
        try:
            return await handler(request)
        except Throttled as exc:
            await tell_of_lock(exc)
            return error_page(request, 429, _("Too many attempts"), exc.message)
        except NotFound as exc:
            return error_page(request, 404, exc.message)

    wrapper.access = {"kind": "public"}  # type: ignore[attr-defined]  # the route inventory reads it from the handler (tests/test_route_inventory.py)
    return wrapper


ApiHandler = Callable[..., Awaitable[Any]]
RecordCheck = Callable[[Viewer, dict[str, Any]], Awaitable[object]]


def api(
    *can: Can,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | str | None = None,
    status: int = 200,
    summary: str = "",
    params: list[dict[str, Any]] | None = None,
    errors: dict[int, str] | None = None,
    record: RecordCheck | None = None,
    also: tuple[str, ...] = (),
    accepted: type[BaseModel] | None = None,
) -> Callable[[ApiHandler], Callable[[Request], Awaitable[Response]]]:
    """A JSON endpoint: bearer token, capability check (as @page), body validated against `body`.

    The handler gets (request, caller) or (request, caller, body) and returns a JSON-able
    value or a Response. The metadata is what /api/v1/openapi.json describes: `params` are
    the query and header parameters the handler reads, `errors` the statuses only this
    endpoint answers (beyond the ones every endpoint may).

    `also`: other media types the success answer may take (chosen by the Accept header).
    `accepted`: the body of a 202 the handler may answer instead (work started in the background).

    `record` raises NotFound when the caller may not see the record the path names. A
    caller whose role may not use the endpoint gets 404 for such a record, exactly as for one
    that does not exist, and 403 only for a record they can see (never 403 for a record the
    caller may not see: that would confirm it exists).
    """
    allowed = roles_that(*can)

    def decorate(handler: ApiHandler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def wrapper(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            scheme, _, raw = header.partition(" ")
            holder = await auth.token_holder(raw.strip()) if scheme.lower() == "bearer" else None
            if holder is None:
                return api_error(401, "unauthorized", "A valid bearer token is required")
            user = holder.user
            viewer = viewer_of(
                user, holder.conferences, holder.agency_member_of, holder.conference_roles, holder.receiving
            )
            caller = Caller(user=user, viewer=viewer)
            request.state.caller = caller
            if names_nothing(request.path_params):
                return api_error(404, "not_found", "Not found")
            if not viewer.can(*can):
                if record is not None:
                    try:
                        await record(caller.viewer, request.path_params)
                    except NotFound as exc:
                        return api_error(404, exc.code, exc.message)
                return api_error(403, "forbidden", "Your role may not do this")
            args: list[Any] = [request, caller]
            if body is not None:
                try:
                    # An empty body is an empty object: endpoints whose fields are all optional accept it.
                    payload = json_value(await request.body() or b"{}")
                except BadJSON as exc:
                    return api_error(400, "malformed_json", str(exc))
                if bad := unstorable(payload):
                    return api_error(422, "validation_error", "The request is not valid", bad)
                try:
                    args.append(body.model_validate(payload))
                except ValidationError as exc:
                    return api_error(422, "validation_error", "The request is not valid", fields_of(exc))
            try:
                result = await handler(*args)
            except DomainError as exc:
                return api_error(status_of(exc), exc.code, exc.message, exc.fields)
            if isinstance(result, Response):
                return result
            if isinstance(result, BaseModel):
                result = result.model_dump(mode="json")
            return JSONResponse(result, status_code=status)

        wrapper.access = {"kind": "api", "roles": allowed, "can": can}  # type: ignore[attr-defined]  # as above
        wrapper.openapi = {  # type: ignore[attr-defined]  # marac/web/openapi.py reads it from the handler
            "body": body,
            "response": response,
            "status": status,
            "summary": summary or (handler.__doc__ or "").strip(),
            "params": params or [],
            "errors": errors or {},
            "also": also,
            "accepted": accepted,
        }
        return wrapper

    return decorate
