"""Break-glass pages: asking for urgent access to one case, ending it, and the coordinator's
review of every use. The rules are in marac/referrals/break_glass.py and agencies/access.py."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from marac import clock
from marac.agencies.access import Can
from marac.errors import Conflict, RuleViolation, Throttled
from marac.jobs import flows
from marac.referrals import break_glass
from marac.web.auth import Caller, client_ip, page
from marac.web.errors import status_of
from marac.web.templating import render

UK = ZoneInfo("Europe/London")


def uk_time(instant: datetime) -> str:
    """How a time is shown here: UK clock, the day too (a grant can run past midnight)."""
    return instant.astimezone(UK).strftime("%d %b %Y %H:%M")


async def _start_page(request: Request, caller: Caller, status: int = 200, **context) -> Response:
    grants = await break_glass.live_grants(caller.viewer)
    return render(
        request,
        "break_glass/start.html",
        {
            "grants": [{"id": g.id, "referral_id": g.referral_id, "until": g.expires_at} for g in grants],
            "min_reason": break_glass.MIN_REASON,
            **context,
        },
        status=status,
    )


@page(Can.BREAK_GLASS)
async def start(request: Request, caller: Caller) -> Response:
    if request.method == "GET":
        return await _start_page(request, caller)
    form = request.state.form
    # Never echo the password or code back into the page.
    values = {"reference": str(form.get("reference", "")), "reason": str(form.get("reason", ""))}
    try:
        opened = await flows.open_case(
            caller.viewer,
            caller.user,
            reference=values["reference"],
            reason=values["reason"],
            password=str(form.get("password", "")),
            code=str(form.get("code", "")),
            ip=client_ip(request),
        )
    except RuleViolation as exc:
        return await _start_page(request, caller, status=400, errors=exc.fields, values=values)
    except Throttled as exc:
        await flows.tell_of_lock(exc)
        return await _start_page(request, caller, status=429, errors={"password": exc.message}, values=values)
    return RedirectResponse(f"/referrals/{opened.referral_id}", status_code=303)


@page(Can.BREAK_GLASS)
async def end(request: Request, caller: Caller) -> Response:
    await break_glass.end_own(caller.viewer, caller.user, request.path_params["grant_id"])
    return RedirectResponse("/break-glass?ended=1", status_code=303)


async def _reviews_page(request: Request, caller: Caller, status: int = 200, **context) -> Response:
    at = clock.now()
    rows = [
        {
            "id": g.id,
            "user": g.user.name,
            "agency": g.agency.name,
            "conference": g.conference.name,
            "referral_id": g.referral_id,
            "reason": g.reason,
            "started": g.started_at,
            "live": g.ended_at is None and g.expires_at > at,
            "until": g.expires_at,
            "ended": g.ended_at,
            "end_reason": g.end_reason,
            "contact_approved": g.contact_approved_at is not None,
            "own": g.user_id == caller.user.id,
        }
        for g in await break_glass.unreviewed(caller.viewer)
    ]
    return render(request, "break_glass/reviews.html", {"rows": rows, **context}, status=status)


@page(Can.REVIEW_BREAK_GLASS)
async def reviews(request: Request, caller: Caller) -> Response:
    return await _reviews_page(request, caller)


async def _review_action(request: Request, caller: Caller, act) -> Response:
    grant_id = request.path_params["grant_id"]
    try:
        await act(grant_id)
    except (RuleViolation, Conflict) as exc:
        message = next(iter(exc.fields.values()), exc.message)
        return await _reviews_page(
            request,
            caller,
            status=status_of(exc, page=True),
            errors={f"note-{grant_id}": message},
            values={f"note-{grant_id}": str(request.state.form.get("note", ""))},
        )
    return RedirectResponse("/break-glass/reviews", status_code=303)


@page(Can.REVIEW_BREAK_GLASS)
async def approve_contact(request: Request, caller: Caller) -> Response:
    return await _review_action(
        request, caller, lambda grant_id: break_glass.approve_contact(caller.viewer, caller.user, grant_id)
    )


@page(Can.REVIEW_BREAK_GLASS)
async def revoke(request: Request, caller: Caller) -> Response:
    return await _review_action(
        request, caller, lambda grant_id: break_glass.revoke(caller.viewer, caller.user, grant_id)
    )


@page(Can.REVIEW_BREAK_GLASS)
async def review(request: Request, caller: Caller) -> Response:
    note = str(request.state.form.get("note", ""))
    return await _review_action(
        request, caller, lambda grant_id: break_glass.review(caller.viewer, caller.user, grant_id, note)
    )


routes = [
    Route("/break-glass", start, methods=["GET", "POST"]),
    Route("/break-glass/reviews", reviews, methods=["GET"]),
    Route("/break-glass/reviews/{grant_id}/contact", approve_contact, methods=["POST"]),
    Route("/break-glass/reviews/{grant_id}/end", revoke, methods=["POST"]),
    Route("/break-glass/reviews/{grant_id}/review", review, methods=["POST"]),
    Route("/break-glass/{grant_id}/end", end, methods=["POST"]),
]
