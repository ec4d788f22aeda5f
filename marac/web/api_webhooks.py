"""JSON API for webhooks to agency systems (admin): register, list, rotate the secret, disable, delete, and
the delivery log. Thin handlers over marac/webhooks/service.py, which the admin pages call too."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from marac.agencies.access import Can, Viewer
from marac.errors import RuleViolation
from marac.web import schemas
from marac.web.auth import Caller, api
from marac.web.openapi import query
from marac.webhooks import service as webhooks
from marac.webhooks.models import Webhook, WebhookDelivery

CURSOR_RE = re.compile(r"[0-9]{1,9}")  # how many deliveries the earlier pages held


async def webhook_seen(viewer: Viewer, path_params: dict[str, Any]) -> object:
    """Anyone but an admin gets 404 for a webhook, as for none."""
    return await webhooks.get(viewer, path_params["webhook_id"])


def webhook_out(webhook: Webhook) -> schemas.WebhookOut:
    return schemas.WebhookOut(
        id=webhook.id,
        agency_id=webhook.agency_id,
        url=webhook.url,
        events=webhook.events,
        active=webhook.active,
        failing_since=webhook.failing_since,
        created_at=webhook.created_at,
        rotated_at=webhook.rotated_at,
    )


def delivery_out(delivery: WebhookDelivery) -> schemas.WebhookDeliveryOut:
    return schemas.WebhookDeliveryOut(
        id=delivery.id,
        event=delivery.kind,
        event_at=delivery.event.at,
        status=delivery.status,
        attempts=delivery.attempts,
        response_code=delivery.response_code,
        error=delivery.error,
        last_attempt_at=delivery.last_attempt_at,
        next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
        delivered_at=delivery.delivered_at,
        created_at=delivery.created_at,
    )


@api(Can.MANAGE_DIRECTORY, body=schemas.WebhookIn, response=schemas.WebhookSecret, status=201)
async def create_webhook(request: Request, caller: Caller, body: schemas.WebhookIn) -> schemas.WebhookSecret:
    """Register a webhook for an agency. The secret that signs its deliveries is in this answer only."""
    registered = await webhooks.register(caller.viewer, body.agency_id, body.url, body.events)
    return schemas.WebhookSecret(id=registered.webhook.id, secret=registered.secret)


@api(Can.MANAGE_DIRECTORY, response=schemas.WebhookList)
async def list_webhooks(request: Request, caller: Caller) -> schemas.WebhookList:
    """Every webhook, by agency (never a secret)."""
    return schemas.WebhookList(items=[webhook_out(w) for w in await webhooks.listing(caller.viewer)])


@api(Can.MANAGE_DIRECTORY, response=schemas.WebhookOut, record=webhook_seen)
async def get_webhook(request: Request, caller: Caller) -> schemas.WebhookOut:
    """One webhook."""
    return webhook_out(await webhooks.get(caller.viewer, request.path_params["webhook_id"]))


@api(Can.MANAGE_DIRECTORY, body=schemas.WebhookPatch, response=schemas.WebhookOut, record=webhook_seen)
async def update_webhook(request: Request, caller: Caller, body: schemas.WebhookPatch) -> schemas.WebhookOut:
    """Disable a webhook (deliveries waiting are dropped) or enable it again (events from then on)."""
    return webhook_out(await webhooks.set_active(caller.viewer, request.path_params["webhook_id"], body.active))


@api(Can.MANAGE_DIRECTORY, status=204, record=webhook_seen)
async def delete_webhook(request: Request, caller: Caller) -> Response:
    """Delete a webhook and its delivery log."""
    await webhooks.delete(caller.viewer, request.path_params["webhook_id"])
    return Response(status_code=204)


@api(Can.MANAGE_DIRECTORY, response=schemas.WebhookSecret, record=webhook_seen)
async def rotate_webhook(request: Request, caller: Caller) -> schemas.WebhookSecret:
    """A new secret, in this answer only; from now on every delivery, retries included, is signed with it."""
    registered = await webhooks.rotate(caller.viewer, request.path_params["webhook_id"])
    return schemas.WebhookSecret(id=registered.webhook.id, secret=registered.secret)


@api(
    Can.MANAGE_DIRECTORY,
    record=webhook_seen,
    response=schemas.WebhookDeliveryList,
    params=[
        query("cursor", {"type": "string", "pattern": f"^{CURSOR_RE.pattern}$"}, "The next value of the last page")
    ],
)
async def list_deliveries(request: Request, caller: Caller) -> schemas.WebhookDeliveryList:
    """The webhook's deliveries, newest first: status, attempts, the last answer's code, the next attempt.
    Never a body."""
    cursor = request.query_params.get("cursor", "0")
    if not CURSOR_RE.fullmatch(cursor):
        raise RuleViolation("Bad cursor", {"cursor": "Use the next value of the previous page"})
    rows, more = await webhooks.deliveries(caller.viewer, request.path_params["webhook_id"], int(cursor))
    return schemas.WebhookDeliveryList(
        items=[delivery_out(d) for d in rows], next=str(int(cursor) + len(rows)) if more else None
    )


routes = [
    Route("/api/v1/webhooks", create_webhook, methods=["POST"]),
    Route("/api/v1/webhooks", list_webhooks, methods=["GET"]),
    Route("/api/v1/webhooks/{webhook_id}", get_webhook, methods=["GET"]),
    Route("/api/v1/webhooks/{webhook_id}", update_webhook, methods=["PATCH"]),
    Route("/api/v1/webhooks/{webhook_id}", delete_webhook, methods=["DELETE"]),
    Route("/api/v1/webhooks/{webhook_id}/rotate", rotate_webhook, methods=["POST"]),
    Route("/api/v1/webhooks/{webhook_id}/deliveries", list_deliveries, methods=["GET"]),
]
