"""Webhook pages for admins: register one for an agency (its secret shown once), rotate the secret, disable,
enable, delete, and each webhook's delivery log. The same use cases as the API (marac/webhooks/service.py)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from marac.agencies.access import Can
from marac.agencies.models import Agency
from marac.errors import DomainError
from marac.i18n import gettext as _
from marac.i18n import lazy_gettext
from marac.web.api_webhooks import CURSOR_RE
from marac.web.auth import Caller, page
from marac.web.templating import render
from marac.webhooks import service as webhooks
from marac.webhooks.models import Webhook

EVENT_NAMES = {
    "referral.received": lazy_gettext("A referral is received"),
    "referral.decided": lazy_gettext("A referral is accepted or rejected"),
    "agenda.published": lazy_gettext("An agenda is published or re-issued (research due)"),
    "action.assigned": lazy_gettext("An action is assigned"),
    "action.updated": lazy_gettext("An action is reworded, or its owner or due date changes"),
    "minutes.ready": lazy_gettext("Minutes are ready, or a new version"),
}


async def _list(request: Request, caller: Caller, status: int = 200, **context: Any) -> Response:
    return render(
        request,
        "admin/webhooks.html",
        {
            "webhooks": await webhooks.listing(caller.viewer),
            "agency_options": [("", _("Choose an agency")), *[(a.id, a.name) for a in await Agency.all()]],
            "event_options": list(EVENT_NAMES.items()),
            "values": {},
            "errors": {},
            **context,
        },
        status=status,
    )


@page(Can.MANAGE_DIRECTORY, step_up="/admin/webhooks")
async def webhooks_page(request: Request, caller: Caller) -> Response:
    if request.method == "GET":
        return await _list(request, caller)
    form = request.state.form
    values = {"agency_id": str(form.get("agency_id", "")), "url": str(form.get("url", ""))}
    events = [str(e) for e in form.getlist("events")]
    try:
        registered = await webhooks.register(caller.viewer, values["agency_id"], values["url"], events)
    except DomainError as exc:
        errors = exc.fields or {"agency_id": exc.message}
        return await _list(request, caller, status=400, errors=errors, values={**values, "events": events})
    return await _webhook(request, caller, registered.webhook, secret=registered.secret, created=True)


async def _webhook(request: Request, caller: Caller, webhook: Webhook, **context: Any) -> Response:
    cursor = request.query_params.get("cursor", "0")
    offset = int(cursor) if CURSOR_RE.fullmatch(cursor) else 0
    deliveries, more = await webhooks.deliveries(caller.viewer, webhook.id, offset)
    return render(
        request,
        "admin/webhook.html",
        {
            "webhook": await webhooks.get(caller.viewer, webhook.id),
            "event_names": EVENT_NAMES,
            "deliveries": deliveries,
            "next_cursor": offset + len(deliveries) if more else None,
            **context,
        },
    )


@page(Can.MANAGE_DIRECTORY)
async def webhook_page(request: Request, caller: Caller) -> Response:
    return await _webhook(request, caller, await webhooks.get(caller.viewer, request.path_params["webhook_id"]))


@page(Can.MANAGE_DIRECTORY, step_up="/admin/webhooks/{webhook_id}")
async def rotate(request: Request, caller: Caller) -> Response:
    registered = await webhooks.rotate(caller.viewer, request.path_params["webhook_id"])
    return await _webhook(request, caller, registered.webhook, secret=registered.secret)


@page(Can.MANAGE_DIRECTORY)
async def disable(request: Request, caller: Caller) -> Response:
    webhook = await webhooks.set_active(caller.viewer, request.path_params["webhook_id"], False)
    return RedirectResponse(f"/admin/webhooks/{webhook.id}", status_code=303)


@page(Can.MANAGE_DIRECTORY)
async def enable(request: Request, caller: Caller) -> Response:
    webhook = await webhooks.set_active(caller.viewer, request.path_params["webhook_id"], True)
    return RedirectResponse(f"/admin/webhooks/{webhook.id}", status_code=303)


@page(Can.MANAGE_DIRECTORY)
async def delete(request: Request, caller: Caller) -> Response:
    await webhooks.delete(caller.viewer, request.path_params["webhook_id"])
    return RedirectResponse("/admin/webhooks", status_code=303)


routes = [
    Route("/admin/webhooks", webhooks_page, methods=["GET", "POST"]),
    Route("/admin/webhooks/{webhook_id}", webhook_page, methods=["GET"]),
    Route("/admin/webhooks/{webhook_id}/rotate", rotate, methods=["POST"]),
    Route("/admin/webhooks/{webhook_id}/disable", disable, methods=["POST"]),
    Route("/admin/webhooks/{webhook_id}/enable", enable, methods=["POST"]),
    Route("/admin/webhooks/{webhook_id}/delete", delete, methods=["POST"]),
]
