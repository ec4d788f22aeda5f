"""The signed-in user's own account: password, API tokens and how they are e-mailed of notifications."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from marac import clock, todo
from marac.agencies import access, auth, service
from marac.agencies.access import Can
from marac.agencies.models import ApiToken, Conference
from marac.alerts import kinds, preferences
from marac.audit.service import record
from marac.errors import RuleViolation
from marac.i18n import gettext as _
from marac.web import cookies, csrf, language
from marac.web.auth import Caller, confirm_it_is_you, page
from marac.web.templating import render


@page()
async def home(request: Request, caller: Caller) -> Response:
    conferences = await Conference.filter(access.conference_filter(caller.viewer)).order_by("name")
    waiting = await todo.for_viewer(caller.viewer, clock.today())
    return render(
        request,
        "home.html",
        {
            "conferences": conferences,
            "todo": waiting,
            "role_word": todo.role_word,
            "day": todo.day,
            "weekday": todo.weekday,
        },
    )


async def _account(request: Request, caller: Caller, status: int = 200, **context) -> Response:
    tokens = await ApiToken.filter(user_id=caller.user.id, revoked_at__isnull=True)
    chosen = await preferences.read(caller.user.id, caller.user.role)
    return render(
        request,
        "account.html",
        {
            "tokens": tokens,
            "now": clock.now(),
            "token_days": auth.TOKEN_LIFETIME_DAYS,
            "max_token_days": auth.MAX_TOKEN_LIFETIME_DAYS,
            "preferences": chosen,
            "notice_values": {p.kind: p.mode for p in chosen},
            "role_word": todo.role_word,
            **context,
        },
        status=status,
    )


@page()
async def account(request: Request, caller: Caller) -> Response:
    return await _account(request, caller)


@page(step_up="/account")
async def create_token(request: Request, caller: Caller) -> Response:
    try:
        form = request.state.form
        label, days = str(form.get("label", "")), str(form.get("expires_in_days", ""))
        token, raw = await auth.create_token(caller.user, label, days)
    except RuleViolation as exc:
        return await _account(request, caller, status=400, errors=exc.fields)
    await record(
        "token.create",
        user_id=caller.user.id,
        agency_id=caller.user.agency_id,
        object_type="api_token",
        object_id=token.id,
    )
    return await _account(request, caller, new_token=raw)


@page(Can.REFER)
async def choose_notifications(request: Request, caller: Caller) -> Response:
    """Each kind's e-mail: immediately, in the daily digest, or off (not for a duty)."""
    form = request.state.form
    choices: dict[str, object] = {kind: str(form[kind]) for kind in kinds.KINDS if kind in form}
    try:
        await preferences.choose(caller.user.id, caller.user.role, choices)
    except RuleViolation as exc:
        return await _account(request, caller, status=400, errors=exc.fields)
    return RedirectResponse("/account?notifications=saved#notifications", status_code=303)


@page()
async def choose_language(request: Request, caller: Caller) -> Response:
    """The language of the user's pages and e-mails (the header's toggle sets it too)."""
    code = str(request.state.form.get("language", ""))
    try:
        await language.keep(caller.user, code)
    except RuleViolation as exc:
        return await _account(request, caller, status=400, errors=exc.fields)
    response = RedirectResponse("/account?language=saved#language-setting", status_code=303)
    language.remember(response, code)
    return response


@page()
async def revoke_token(request: Request, caller: Caller) -> Response:
    token_id = request.path_params["token_id"]
    if await auth.revoke_token(caller.user, token_id):
        await record(
            "token.revoke",
            user_id=caller.user.id,
            agency_id=caller.user.agency_id,
            object_type="api_token",
            object_id=token_id,
        )
    return RedirectResponse("/account", status_code=303)


@page()
async def change_password(request: Request, caller: Caller) -> Response:
    """The current password and a code, checked as a step-up: throttled, counted towards the
    account's second-factor lock, and audited when refused."""
    form = request.state.form
    new, confirm = str(form.get("new_password", "")), str(form.get("confirm", ""))
    errors: dict[str, str] = {}
    if new != confirm:
        errors["confirm"] = _("The two new passwords do not match")
    else:
        try:
            auth.check_password_rules(new, (caller.user.email, caller.user.name))
        except RuleViolation as exc:
            errors["new_password"] = exc.fields["password"]
    confirmed = await confirm_it_is_you(request, caller, errors, password_field="current_password")
    if confirmed.errors:
        if confirmed.refused:
            user = caller.user
            await record(
                "user.password_change",
                user_id=user.id,
                agency_id=user.agency_id,
                object_type="user",
                object_id=user.id,
                outcome="denied" if confirmed.status == 429 else "failed",
            )
        return await _account(request, caller, status=confirmed.status, errors=confirmed.errors)
    await service.change_password(caller.user, new)
    # Every session ended with the old password; this browser gets a fresh one.
    raw = await auth.start_session(caller.user, mfa_passed=True)
    response = RedirectResponse("/account?changed=1", status_code=303)
    cookies.set_cookie(response, csrf.SESSION, raw)
    return response


routes = [
    Route("/", home, methods=["GET"]),
    Route("/account", account, methods=["GET"]),
    Route("/account/tokens", create_token, methods=["POST"]),
    Route("/account/tokens/{token_id}/revoke", revoke_token, methods=["POST"]),
    Route("/account/password", change_password, methods=["POST"]),
    Route("/account/notifications", choose_notifications, methods=["POST"]),
    Route("/account/language", choose_language, methods=["POST"]),
]
