"""Registering webhooks: the admin's use cases, each checking the admin capability itself and audited in
the transaction of its change. The secret is made here and handed back once; it is kept sealed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TypedDict

from tortoise.transactions import in_transaction

from marac.agencies import access
from marac.agencies.access import Viewer
from marac.agencies.models import Agency
from marac.audit.service import record
from marac.clock import now
from marac.errors import NotFound, RuleViolation
from marac.i18n import gettext
from marac.ids import ID_PATTERN
from marac.webhooks.addresses import check_url
from marac.webhooks.models import Webhook, WebhookDelivery

# What an agency system can be told (shared/api.md, "Notifications and webhooks"); the other domain events
# (repeats, reminders, late minutes) are for people.
EVENTS = (
    "referral.received",
    "referral.decided",
    "agenda.published",
    "action.assigned",
    "action.updated",
    "minutes.ready",
)
DELIVERY_PAGE = 50


@dataclass(frozen=True)
class Registered:
    webhook: Webhook
    secret: str  # shown once, to whoever registered or rotated it


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _events(events: list[str]) -> list[str]:
    chosen = list(dict.fromkeys(events or []))
    unknown = [e for e in chosen if e not in EVENTS]
    if not chosen or unknown:
        raise RuleViolation(
            "Unknown or missing events",
            {"events": gettext("Choose one or more of: %(choices)s") % {"choices": ", ".join(EVENTS)}},
        )
    return [e for e in EVENTS if e in chosen]


async def _agency(agency_id: str) -> Agency:
    # Every agency is the admin's to see; an id no agency has is not found, as for any record.
    agency = await Agency.get_or_none(id=agency_id) if ID_PATTERN.fullmatch(agency_id or "") else None
    if agency is None:
        raise NotFound(gettext("Agency not found"))
    return agency


class Actor(TypedDict):
    user_id: str | None
    agency_id: str | None


def _actor(viewer: Viewer | None) -> Actor:
    return {"user_id": viewer.user_id if viewer else None, "agency_id": viewer.agency_id if viewer else None}


async def register(viewer: Viewer | None, agency_id: str, url: str, events: list[str]) -> Registered:
    """A webhook for an agency: the URL's form checked (and its address when it is one), the events known."""
    access.require_manage_directory(viewer)
    agency = await _agency(agency_id)
    url = check_url(url)
    chosen = _events(events)
    secret = new_secret()
    async with in_transaction() as conn:
        webhook = await Webhook.create(
            agency=agency,
            url=url,
            events=chosen,
            secret=secret,
            created_by=viewer.user_id if viewer else None,
            using_db=conn,
        )
        await record("webhook.create", object_type="webhook", object_id=webhook.id, conn=conn, **_actor(viewer))
    return Registered(webhook, secret)


async def get(viewer: Viewer, webhook_id: str) -> Webhook:
    """A webhook, for an admin; for anyone else none is found, as for an id no webhook has (shared/api.md: never
    a 403 that confirms a record exists)."""
    admin = viewer.can(access.Can.MANAGE_DIRECTORY)
    webhook = await Webhook.get_or_none(id=webhook_id).prefetch_related("agency") if admin else None
    if webhook is None:
        raise NotFound(gettext("Webhook not found"))
    return webhook


async def listing(viewer: Viewer) -> list[Webhook]:
    access.require_manage_directory(viewer)
    return await Webhook.all().prefetch_related("agency").order_by("agency__name", "created_at")


async def rotate(viewer: Viewer, webhook_id: str) -> Registered:
    """A new secret, shown once; the old one signs nothing from now on, retries included."""
    webhook = await get(viewer, webhook_id)
    webhook.secret = new_secret()
    webhook.rotated_at = now()
    async with in_transaction() as conn:
        await webhook.save(using_db=conn, update_fields=["secret", "rotated_at"])
        await record("webhook.rotate", object_type="webhook", object_id=webhook.id, conn=conn, **_actor(viewer))
    return Registered(webhook, webhook.secret)


async def set_active(viewer: Viewer, webhook_id: str, active: bool) -> Webhook:
    """Disable (deliveries waiting are dropped, and no events are kept for it meanwhile) or enable again."""
    webhook = await get(viewer, webhook_id)
    if webhook.active == active:
        return webhook
    async with in_transaction() as conn:
        await Webhook.filter(id=webhook.id).using_db(conn).update(active=active, failing_since=None)
        if not active:
            await (
                WebhookDelivery.filter(webhook_id=webhook.id, status="pending")
                .using_db(conn)
                .update(status="cancelled", claimed_until=None)
            )
        action = "webhook.enable" if active else "webhook.disable"
        await record(action, object_type="webhook", object_id=webhook.id, conn=conn, **_actor(viewer))
    return await get(viewer, webhook_id)


async def delete(viewer: Viewer, webhook_id: str) -> None:
    """The webhook and its delivery log."""
    webhook = await get(viewer, webhook_id)
    async with in_transaction() as conn:
        await WebhookDelivery.filter(webhook_id=webhook.id).using_db(conn).delete()
        await Webhook.filter(id=webhook.id).using_db(conn).delete()
        await record("webhook.delete", object_type="webhook", object_id=webhook.id, conn=conn, **_actor(viewer))


async def deliveries(viewer: Viewer, webhook_id: str, offset: int = 0) -> tuple[list[WebhookDelivery], bool]:
    """A page of the delivery log, newest first, and whether there is more. Statuses, counts and dates: the
    body is never kept."""
    webhook = await get(viewer, webhook_id)
    rows = (
        await WebhookDelivery.filter(webhook_id=webhook.id)
        .order_by("-created_at", "-event_id")
        .offset(offset)
        .limit(DELIVERY_PAGE + 1)
        .prefetch_related("event")
    )
    return rows[:DELIVERY_PAGE], len(rows) > DELIVERY_PAGE
