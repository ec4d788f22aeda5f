"""Sign-in, the second factor (enrolment and use), set-up links and sign-out."""

from __future__ import annotations

import segno
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from marac.agencies import auth, service
from marac.agencies.models import User
from marac.audit.service import record
from marac.errors import RuleViolation, Throttled
from marac.i18n import gettext as _
from marac.i18n import lazy_gettext
from marac.web import cookies, csrf
from marac.web.auth import client_ip, confirm_it_is_you, page, public_page, session_caller
from marac.web.templating import render

SIGN_IN_ERROR = lazy_gettext("Enter a correct e-mail address and password")
CODE_ERROR = lazy_gettext("Enter the 6-digit code shown in your authenticator app")


def safe_next(value: str | None) -> str:
    """Only a path on this site: an open redirect would make a perfect phishing link."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _signed_in(raw: str | None, target: str) -> Response:
    if raw is None:  # the pending session ended meanwhile (expired, or signed out elsewhere)
        return RedirectResponse("/login", status_code=303)
    response = RedirectResponse(safe_next(target), status_code=303)
    cookies.set_cookie(response, csrf.SESSION, raw)
    return response


@public_page
async def login(request: Request) -> Response:
    caller, pending = await session_caller(request)
    if caller is not None and request.method == "GET":
        return RedirectResponse("/", status_code=303)
    next_path = safe_next(request.query_params.get("next"))
    if request.method == "GET":
        return render(request, "signin/login.html", {"next": next_path})
    form = request.state.form
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    next_path = safe_next(str(form.get("next", "/")))
    ip = client_ip(request)
    try:
        result = await auth.check_credentials(email, password, ip)
    except Throttled:
        await record("sign_in", object_type="user", outcome="denied")
        raise
    if result.user is None:
        await record("sign_in", object_type="user", outcome="failed")
        return render(
            request,
            "signin/login.html",
            {"next": next_path, "errors": {"email": str(SIGN_IN_ERROR)}, "values": {"email": email}},
            status=400,
        )
    user = result.user
    # The sign-in failures stay until the second factor passes: a password success clearing
    # them let wrong codes be tried without end (tests/test_credentials.py).
    if auth.skips_mfa(user):
        await auth.clear_failures(email, ip)
        await record("sign_in", user_id=user.id, agency_id=user.agency_id, object_type="user", object_id=user.id)
        return _signed_in(await auth.start_session(user, mfa_passed=True), next_path)
    raw = await auth.start_session(user, mfa_passed=False)
    step = "/login/mfa" if user.totp_confirmed else "/mfa/enrol"
    response = RedirectResponse(f"{step}?next={next_path}", status_code=303)
    cookies.set_cookie(response, csrf.SESSION, raw)
    return response


async def _pending_user(request: Request) -> User | None:
    _caller, pending = await session_caller(request)
    return pending


@public_page
async def mfa(request: Request) -> Response:
    user = await _pending_user(request)
    if user is None or not user.totp_confirmed:
        return RedirectResponse("/login", status_code=303)
    next_path = safe_next(
        request.query_params.get("next") or (request.state.form.get("next") if request.method == "POST" else None)
    )
    if request.method == "GET":
        return render(request, "signin/mfa.html", {"next": next_path})
    try:
        passed = await auth.check_second_factor(user, str(request.state.form.get("code", "")), client_ip(request))
    except Throttled:
        await record(
            "sign_in.mfa",
            user_id=user.id,
            agency_id=user.agency_id,
            object_type="user",
            object_id=user.id,
            outcome="denied",
        )
        raise
    if not passed:
        await record(
            "sign_in.mfa",
            user_id=user.id,
            agency_id=user.agency_id,
            object_type="user",
            object_id=user.id,
            outcome="failed",
        )
        return render(request, "signin/mfa.html", {"next": next_path, "errors": {"code": str(CODE_ERROR)}}, status=400)
    raw = await auth.rotate_session(request.cookies.get(cookies.name(csrf.SESSION), ""), mfa_passed=True)
    await record("sign_in", user_id=user.id, agency_id=user.agency_id, object_type="user", object_id=user.id)
    return _signed_in(raw, next_path)


@public_page
async def enrol(request: Request) -> Response:
    """First sign-in: scan a QR code, then prove it worked with one code."""
    user = await _pending_user(request)
    if user is None or user.totp_confirmed:
        return RedirectResponse("/login", status_code=303)
    if not user.totp_secret:
        user.totp_secret = auth.new_totp_secret()
        await user.save(update_fields=["totp_secret"])
    next_path = safe_next(
        request.query_params.get("next") or (request.state.form.get("next") if request.method == "POST" else None)
    )
    uri = auth.provisioning_uri(user, user.totp_secret)
    context = {
        "next": next_path,
        "qr": segno.make(uri, error="m").svg_data_uri(scale=5, border=2),
        "secret": user.totp_secret,
    }
    if request.method == "GET":
        return render(request, "signin/enrol.html", context)
    ip = client_ip(request)
    await auth.check_throttle(user.email, ip)
    if not await auth.confirm_totp(user, user.totp_secret, str(request.state.form.get("code", ""))):
        await auth.note_failure(user.email, ip)
        return render(request, "signin/enrol.html", {**context, "errors": {"code": str(CODE_ERROR)}}, status=400)
    await auth.clear_failures(user.email, ip)
    await record("mfa.enrol", user_id=user.id, agency_id=user.agency_id, object_type="user", object_id=user.id)
    raw = await auth.rotate_session(request.cookies.get(cookies.name(csrf.SESSION), ""), mfa_passed=True)
    await record("sign_in", user_id=user.id, agency_id=user.agency_id, object_type="user", object_id=user.id)
    return _signed_in(raw, next_path)


@page()
async def step_up(request: Request, caller) -> Response:
    """Both factors again before a sensitive action (see auth.STEP_UP_LIFETIME)."""
    form = request.state.form if request.method == "POST" else {}
    next_path = safe_next(request.query_params.get("next") or form.get("next"))
    if request.method == "GET":
        return render(request, "signin/step_up.html", {"next": next_path})
    confirmed = await confirm_it_is_you(request, caller)
    if confirmed.errors:
        if confirmed.refused:
            await record(
                "step_up",
                user_id=caller.user.id,
                agency_id=caller.user.agency_id,
                object_type="user",
                object_id=caller.user.id,
                outcome="failed",
            )
        return render(
            request, "signin/step_up.html", {"next": next_path, "errors": confirmed.errors}, status=confirmed.status
        )
    await auth.mark_stepped_up(caller.session)
    await record(
        "step_up", user_id=caller.user.id, agency_id=caller.user.agency_id, object_type="user", object_id=caller.user.id
    )
    return RedirectResponse(next_path, status_code=303)


@page()
async def logout(request: Request, caller) -> Response:
    await auth.end_session(caller.session_raw)
    await record(
        "sign_out",
        user_id=caller.user.id,
        agency_id=caller.user.agency_id,
        object_type="user",
        object_id=caller.user.id,
    )
    response = RedirectResponse("/login", status_code=303)
    cookies.delete_cookie(response, csrf.SESSION)
    return response


@public_page
async def setup(request: Request) -> Response:
    """A new or reset user chooses a password through their one-time link."""
    token = request.path_params["token"]
    user = await service.setup_link_user(token)  # NotFound → the 404 page
    if request.method == "GET":
        return render(request, "signin/setup.html", {"email": user.email})
    form = request.state.form
    password, confirm = str(form.get("password", "")), str(form.get("confirm", ""))
    if password != confirm:
        return render(
            request,
            "signin/setup.html",
            {"email": user.email, "errors": {"confirm": _("The two passwords do not match")}},
            status=400,
        )
    try:
        await service.complete_setup(token, password)
    except RuleViolation as exc:
        return render(request, "signin/setup.html", {"email": user.email, "errors": exc.fields}, status=400)
    return RedirectResponse("/login?setup=done", status_code=303)


routes = [
    Route("/login", login, methods=["GET", "POST"]),
    Route("/login/mfa", mfa, methods=["GET", "POST"]),
    Route("/mfa/enrol", enrol, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/step-up", step_up, methods=["GET", "POST"]),
    Route("/setup/{token}", setup, methods=["GET", "POST"]),
]
