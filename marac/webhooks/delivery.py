"""Delivering events to agency systems: the job behind every webhook (docs/security.md#webhooks).

fan_out() turns each new domain event (marac/notices/events.py) into one delivery per webhook that wants its
kind, but only for webhooks whose agency may see the record it is about, as a member of that agency would
(access.agency_viewer): the receiver then reads the record through the API with its own token, where the same
rules decide again. send_due() posts what is due, a bounded number at once, each row claimed first so two
workers never send one delivery at the same time, and retries with a growing pause for 24 hours; then the
delivery has failed, the webhook is marked failing and the admins are told in the app.

The body is `{id, event, at, data}` with ids, links and small facts only (a decision, a date, a version),
signed: `X-Marac-Signature: sha256=<hex HMAC-SHA256 of the raw body under the secret>`. Its `id` is the
delivery's, the same on every retry, so a receiver that acts on each id once refuses replays too (README,
"Webhooks"). Nothing here logs a body, a URL or a secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from marac import clock, notices, settings
from marac.actions.models import Action
from marac.agencies import access
from marac.agencies.access import Viewer
from marac.agencies.models import User
from marac.clock import now
from marac.meetings.models import Meeting
from marac.notices.models import Event
from marac.referrals.models import Referral
from marac.webhooks.addresses import Refused, Resolver, checked_address, system_resolver
from marac.webhooks.models import Webhook, WebhookDelivery

log = logging.getLogger("marac.webhooks")

RETRY_FOR = timedelta(hours=24)
# No body is sent about an event older than this, so a receiver that keeps the ids it has acted on this long and
# refuses older `at` values refuses every replay (README, "Webhooks"). Past it the delivery is given up.
OLDEST = timedelta(hours=48)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_PAUSE = timedelta(hours=2)
# A sender holds a row this long, well past the longest attempt; one that died mid-send leaves it to the next run.
CLAIM = timedelta(minutes=5)
EVENT_BATCH = 500
SEND_BATCH = 100
AT_ONCE = 10  # deliveries in flight: a hanging receiver holds one slot for its timeout, never the rest
# Facts an event may carry that a receiver may be told; anything else in Event.data stays here.
FACTS = ("decision", "research_due", "reissued", "version")
USER_AGENT = "marac-webhooks/1"


async def run(resolver: Resolver = system_resolver) -> tuple[int, int]:
    """The job: new events into deliveries, then what is due sent. Returns (made, delivered)."""
    made = await fan_out()
    delivered = await send_due(resolver)
    return made, delivered


# --- who is told --------------------------------------------------------------------------


async def may_know(viewer: Viewer, event: Event) -> bool:
    """Whether an agency (its member's view, `viewer`) may see the record the event is about, now."""
    if event.kind in ("referral.received", "referral.decided"):
        return (
            event.referral_id is not None
            and await Referral.filter(access.referral_filter(viewer), id=event.referral_id).exists()
        )
    if event.kind in ("agenda.published", "minutes.ready"):
        # The research list and the minutes go to every member agency (each its own view of them).
        conference = await Meeting.filter(id=event.meeting_id or "").values_list("conference_id", flat=True)
        return bool(conference) and await access.member_tier(viewer, str(conference[0])) is not None
    if event.kind in ("action.assigned", "action.updated"):
        found = await Action.filter(id=event.action_id or "").values_list("conference_id", "owner_agency_id")
        return bool(found) and await access.action_access(viewer, found[0][0], found[0][1]) != "none"
    return False  # a kind no webhook is told of


async def fan_out() -> int:
    """One delivery per event and entitled webhook; each event is marked hooked in the same transaction, so of
    two workers only one makes its deliveries. Events from before a webhook existed are not sent to it."""
    made = 0
    while True:
        events = await Event.filter(hooked_at__isnull=True).order_by("id").limit(EVENT_BATCH)
        if not events:
            return made
        hooks = await Webhook.filter(active=True)
        viewers: dict[str, Viewer] = {}
        for event in events:
            targets = []
            for hook in hooks:
                if event.kind not in hook.events or hook.created_at > event.at:
                    continue
                if hook.agency_id not in viewers:
                    viewers[hook.agency_id] = await access.agency_viewer(hook.agency_id)
                if await may_know(viewers[hook.agency_id], event):
                    targets.append(hook)
            at = now()
            async with in_transaction() as conn:
                if not await Event.filter(id=event.id, hooked_at__isnull=True).using_db(conn).update(hooked_at=at):
                    continue  # another worker got there first
                for hook in targets:
                    await WebhookDelivery.create(
                        webhook_id=hook.id,
                        event_id=event.id,
                        kind=event.kind,
                        next_attempt_at=at,
                        give_up_at=at + RETRY_FOR,
                        using_db=conn,
                    )
                    made += 1
        if len(events) < EVENT_BATCH:
            return made


# --- what is sent -------------------------------------------------------------------------


def timestamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def body_of(delivery: WebhookDelivery, event: Event) -> bytes:
    """The body: ids, links into the API and the event's small facts; never a name or case text."""
    base = settings.get().base_url
    data: dict[str, Any] = {"conference_id": event.conference_id}
    links: dict[str, str] = {}
    if event.referral_id:
        data["referral_id"] = event.referral_id
        links["referral"] = f"{base}/api/v1/referrals/{event.referral_id}"
    if event.action_id:
        data["action_id"] = event.action_id
        found = await Action.filter(id=event.action_id).values_list("meeting_id", "item_id")
        if found:
            meeting_id, case_id = found[0]
            data.update(meeting_id=meeting_id, case_id=case_id)
            links["case"] = f"{base}/api/v1/meetings/{meeting_id}/cases/{case_id}"
        links["actions"] = f"{base}/api/v1/actions?status=all"
    elif event.meeting_id:
        data["meeting_id"] = event.meeting_id
        if event.kind == "agenda.published":
            links["research_list"] = f"{base}/api/v1/meetings/{event.meeting_id}/research-list"
            links["agenda_pdf"] = f"{base}/api/v1/meetings/{event.meeting_id}/agenda.pdf"
        if event.kind == "minutes.ready":
            links["minutes"] = f"{base}/api/v1/meetings/{event.meeting_id}/minutes.pdf"
    data.update({fact: event.data[fact] for fact in FACTS if fact in (event.data or {})})
    data["links"] = links
    body = {"id": delivery.id, "event": event.kind, "at": timestamp(event.at), "data": data}
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def post(url: str, body: bytes, headers: dict[str, str], resolver: Resolver) -> tuple[int | None, str | None]:
    """(status code, what went wrong). The host is resolved and every answer checked here, at send time, and
    the connection goes to that checked address (TLS still checks the certificate against the host's name).
    No redirect is followed, no proxy from the environment used, and the whole attempt has one time limit."""
    limit = settings.get().webhook_timeout_seconds
    target = httpx.URL(url)
    try:
        async with asyncio.timeout(limit):
            address = await checked_address(url, resolver)
            pinned = target.copy_with(host=address)
            extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
            async with httpx.AsyncClient(timeout=limit, follow_redirects=False, trust_env=False) as client:
                request = client.build_request(
                    "POST",
                    pinned,
                    content=body,
                    headers={**headers, "Host": target.netloc.decode("ascii")},
                    extensions=extensions,
                )
                response = await client.send(request, stream=True)
                await response.aclose()  # the answer's body is not ours to read
    except Refused as refused:
        return None, f"refused: {refused}"
    except (TimeoutError, httpx.TimeoutException):
        return None, "timed out"
    except httpx.HTTPError:
        return None, "could not connect"
    code = response.status_code
    if 200 <= code < 300:
        return code, None
    return code, "redirect not followed" if 300 <= code < 400 else f"answered {code}"


def _pause(attempts: int) -> timedelta:
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_PAUSE)


async def send_due(resolver: Resolver = system_resolver) -> int:
    """Send the deliveries that are due, AT_ONCE at a time; returns how many were delivered."""
    at = now()
    due = Q(status="pending", next_attempt_at__lte=at) & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=at))
    claimed = []
    for row_id in (
        await WebhookDelivery.filter(due).order_by("next_attempt_at").limit(SEND_BATCH).values_list("id", flat=True)
    ):
        # Claimed first, so of two senders at once only the one whose update changed the row sends.
        if await WebhookDelivery.filter(due, id=row_id).update(claimed_until=at + CLAIM):
            claimed.append(str(row_id))
    gate = asyncio.Semaphore(AT_ONCE)

    async def one(row_id: str) -> bool:
        async with gate:
            return await attempt(row_id, resolver)

    delivered = sum(await asyncio.gather(*(one(row_id) for row_id in claimed)))
    if len(claimed) > delivered:
        log.warning("webhooks delivered=%d not_delivered=%d (tried again later)", delivered, len(claimed) - delivered)
    return delivered


async def attempt(delivery_id: str, resolver: Resolver) -> bool:
    """One attempt at one claimed delivery; whether it was delivered."""
    delivery = await WebhookDelivery.get_or_none(id=delivery_id).prefetch_related("webhook", "event")
    if delivery is None:
        return False  # its webhook was deleted meanwhile
    webhook, event = delivery.webhook, delivery.event
    # Decided again at each attempt: an agency removed from a conference meanwhile is told nothing more of it.
    if not webhook.active or not await may_know(await access.agency_viewer(webhook.agency_id), event):
        await WebhookDelivery.filter(id=delivery.id).update(
            status="cancelled", claimed_until=None, error="webhook disabled" if not webhook.active else "not entitled"
        )
        return False
    if now() - event.at > OLDEST:  # an outage held it back: receivers would refuse it as a replay
        await WebhookDelivery.filter(id=delivery.id).update(
            status="failed", claimed_until=None, error="event older than 48 hours"
        )
        await _mark_failing(webhook.id)
        return False
    body = await body_of(delivery, event)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Marac-Event": event.kind,
        "X-Marac-Delivery": delivery.id,
        "X-Marac-Timestamp": str(int(time.time())),
        "X-Marac-Signature": signature(webhook.secret, body),
    }
    code, error = await post(webhook.url, body, headers, resolver)
    finished = now()
    attempts = delivery.attempts + 1
    done = {"attempts": attempts, "last_attempt_at": finished, "response_code": code, "claimed_until": None}
    if error is None:
        await WebhookDelivery.filter(id=delivery.id).update(
            status="delivered", delivered_at=finished, error=None, **done
        )
        if webhook.failing_since is not None:
            await Webhook.filter(id=webhook.id).update(failing_since=None)
        return True
    if finished >= delivery.give_up_at:
        await WebhookDelivery.filter(id=delivery.id).update(status="failed", error=error, **done)
        await _mark_failing(webhook.id)
    else:
        retry_at = min(finished + _pause(attempts), delivery.give_up_at)
        await WebhookDelivery.filter(id=delivery.id).update(next_attempt_at=retry_at, error=error, **done)
    return False


async def _mark_failing(webhook_id: str) -> None:
    """A delivery given up: the webhook is failing, and every active admin is told once, until it recovers."""
    async with in_transaction() as conn:
        if (
            not await Webhook.filter(id=webhook_id, failing_since__isnull=True)
            .using_db(conn)
            .update(failing_since=now())
        ):
            return  # failing already: the admins were told
        for admin_id in await User.filter(role="admin", active=True).using_db(conn).values_list("id", flat=True):
            await notices.post(str(admin_id), "webhook_failing", clock.today(), conn=conn)
    log.warning("webhook %s failing: a delivery was given up after 24 hours", webhook_id)
