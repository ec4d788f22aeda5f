"""Signed webhooks to agency systems (marac/webhooks/): registered by an admin, sent only to agencies entitled
to see the record an event is about, signed, retried, and never to an address that is not public.

Deliveries go to a real HTTP receiver on loopback (allowed by MARAC_WEBHOOK_ALLOW, as an exception), which
checks every signature with the secret it was given."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from marac import settings
from marac.agencies import service as directory
from marac.agencies.models import Agency, Conference, User
from marac.audit.models import AuditEvent
from marac.clock import now
from marac.errors import RuleViolation
from marac.jobs import queue, tasks
from marac.notices import events
from marac.notices.models import Event, Notification
from marac.webhooks import addresses, delivery
from marac.webhooks import service as webhooks
from marac.webhooks.models import Webhook, WebhookDelivery
from tests import builders
from tests.conftest import CONFERENCE, csrf_token, dash_body, make_client, session_cookie_for
from tests.flows import run_jobs

# What no body may carry: the fixture's names, addresses and words (tests/conftest.py dash_body).
FIXTURE_TEXT = ["Jane", "Doe", "John Roe", "Amy", "High Street", "NS1 1AA", "07700", "Escalating", "Health to share"]


# --- a real receiver ---------------------------------------------------------------------


@dataclasses.dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """An HTTP server on loopback. Each path answers as `answers[path]` says (a status, or "hang"), and keeps
    what came, with whether its signature is good under `secrets[path]`."""

    def __init__(self) -> None:
        self.answers: dict[str, int | str] = {}
        self.secrets: dict[str, str] = {}
        self.received: list[Received] = []
        self.bad_signatures: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                secret = receiver.secrets.get(self.path, "")
                expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(expected, self.headers.get("X-Marac-Signature", "")):
                    receiver.bad_signatures.append(self.path)
                receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                answer = receiver.answers.get(self.path, 200)
                if answer == "hang":
                    time.sleep(5)
                    answer = 200
                self.send_response(int(answer))
                if 300 <= int(answer) < 400:
                    self.send_header("Location", "/ok")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def to(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


@contextlib.contextmanager
def configured(**variables: str) -> Iterator[None]:
    real = settings.get()
    settings.override(settings.load({**os.environ, **variables}))
    try:
        yield
    finally:
        settings.override(real)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    # Loopback is no public address: this test server is allowed as the exception an operator would make.
    with configured(MARAC_WEBHOOK_ALLOW="127.0.0.0/8"):
        yield server
    server.server.shutdown()
    server.server.server_close()


async def no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"nothing here should be resolved ({host})")


async def hook(agency_id: str, url: str, kinds: tuple[str, ...] = webhooks.EVENTS) -> webhooks.Registered:
    return await webhooks.register(None, agency_id, url, list(kinds))


async def listen(receiver: Receiver, agency_id: str, path: str, **kwargs) -> Webhook:
    registered = await hook(agency_id, receiver.url(path), **kwargs)
    receiver.secrets[path] = registered.secret
    return registered.webhook


async def referral_event(personas, kind: str = "referral.received", **data) -> Event:
    """One event about a new referral: the use case's own events are marked told, so each test hears this alone."""
    referral = await builders.referral(personas)
    await Event.filter(referral_id=referral.id, hooked_at__isnull=True).update(hooked_at=now())
    police = personas["police"].user.agency_id
    return await events.emit(
        kind, conn=None, conference_id=referral.conference_id, referral_id=referral.id, agency_id=police, **data
    )


async def told_already() -> None:
    """The events the use cases emitted while a test built its records count as told: the test emits its own."""
    await Event.filter(hooked_at__isnull=True).update(hooked_at=now())


# --- registering -------------------------------------------------------------------------


async def test_an_admin_registers_a_webhook_whose_secret_is_shown_once_and_kept_sealed(client, personas):
    admin = personas["admin"]
    police = personas["police"].user.agency_id
    body = {"agency_id": police, "url": "https://hooks.police.example/marac", "events": ["referral.received"]}
    answer = await client.post("/api/v1/webhooks", json=body, headers=admin.bearer)
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert set(made) == {"id", "secret"} and len(made["secret"]) > 40

    listed = await client.get("/api/v1/webhooks", headers=admin.bearer)
    one = await client.get(f"/api/v1/webhooks/{made['id']}", headers=admin.bearer)
    assert [w["id"] for w in listed.json()["items"]] == [made["id"]]
    assert one.json()["events"] == ["referral.received"] and one.json()["agency_id"] == police
    assert made["secret"] not in listed.text + one.text
    stored = await Webhook.filter(id=made["id"]).values_list("secret", flat=True)
    assert stored[0].startswith("enc1:") and made["secret"] not in stored[0]
    assert (await Webhook.get(id=made["id"])).secret == made["secret"]  # usable for signing
    assert await AuditEvent.filter(action="webhook.create", object_id=made["id"], user_id=admin.user.id).exists()

    rotated = await client.post(f"/api/v1/webhooks/{made['id']}/rotate", headers=admin.bearer)
    assert rotated.status_code == 200 and rotated.json()["id"] == made["id"]
    assert rotated.json()["secret"] != made["secret"]
    assert (await Webhook.get(id=made["id"])).secret == rotated.json()["secret"]
    assert await AuditEvent.filter(action="webhook.rotate", object_id=made["id"]).exists()


BAD_URLS = [
    "not a url",
    "ftp://hooks.police.example/marac",
    "https://",
    "https:///marac",
    "https://user:password@hooks.police.example/marac",
    "https://hooks.police.example:99999/marac",
    "https://hooks.police.example/marac#part",
    "https://hooks.police.example/mar ac",
    "https://hooks.pólice.example/marac",
    "https://10.0.0.5/marac",
    "https://192.168.1.10/marac",
    "https://169.254.169.254/latest/meta-data",
    "http://127.0.0.1:8080/marac",
    "https://[::1]/marac",
    "https://[::ffff:127.0.0.1]/marac",
    "http://localhost/marac",
    "https://" + "a" * 2000 + ".example/marac",
]


@pytest.mark.parametrize("url", BAD_URLS)
async def test_a_url_that_cannot_be_used_is_refused_and_nothing_is_registered(client, personas, url):
    body = {"agency_id": personas["police"].user.agency_id, "url": url, "events": ["referral.received"]}
    answer = await client.post("/api/v1/webhooks", json=body, headers=personas["admin"].bearer)
    assert answer.status_code == 422, answer.text
    assert "url" in answer.json()["error"]["fields"]
    assert await Webhook.all().count() == 0
    assert not await AuditEvent.filter(action="webhook.create").exists()


@pytest.mark.parametrize(
    "change,status,field",
    [
        ({"events": ["referral.sent"]}, 422, "events"),
        ({"events": []}, 422, "events"),
        ({"events": ["referral.repeat"]}, 422, "events"),  # an event for people, not agency systems
        ({"agency_id": "0" * 32}, 404, None),
        ({"agency_id": "not-an-id"}, 404, None),
        ({"secret": "mine"}, 422, "secret"),
    ],
)
async def test_unknown_events_and_agencies_are_refused_and_nothing_is_registered(
    client, personas, change, status, field
):
    body = {"agency_id": personas["police"].user.agency_id, "url": "https://hooks.police.example/marac"}
    body |= {"events": ["referral.received"], **change}
    answer = await client.post("/api/v1/webhooks", json=body, headers=personas["admin"].bearer)
    assert answer.status_code == status, answer.text
    if field:
        assert field in answer.json()["error"]["fields"]
    assert await Webhook.all().count() == 0


async def test_only_an_admin_registers_or_reads_webhooks(client, personas):
    made = await hook(personas["police"].user.agency_id, "https://hooks.police.example/marac")
    body = {"agency_id": personas["police"].user.agency_id, "url": "https://hooks.police.example/x", "events": []}
    for key in ("coordinator", "chair", "police", "auditor"):
        assert (await client.post("/api/v1/webhooks", json=body, headers=personas[key].bearer)).status_code == 403
        deliveries = await client.get(f"/api/v1/webhooks/{made.webhook.id}/deliveries", headers=personas[key].bearer)
        assert deliveries.status_code == 404  # as for a webhook that does not exist
    assert await Webhook.all().count() == 1


async def test_production_refuses_plain_http_at_registration_and_at_send_time(personas):
    production = dataclasses.replace(settings.get(), env="production", webhook_allow=("127.0.0.0/8",))
    real = settings.get()
    settings.override(production)
    try:
        with pytest.raises(RuleViolation) as refused:
            await hook(personas["police"].user.agency_id, "http://hooks.police.example/marac")
        assert "https" in refused.value.fields["url"]
        with pytest.raises(addresses.Refused):
            await addresses.checked_address("http://127.0.0.1:8080/marac", no_dns)
    finally:
        settings.override(real)


def test_the_allowed_exceptions_are_read_from_the_environment_and_never_allow_everything():
    loaded = settings.load({"MARAC_WEBHOOK_ALLOW": "10.20.0.0/16, hooks.police.internal,192.168.1.5"})
    assert loaded.webhook_allow == ("10.20.0.0/16", "hooks.police.internal", "192.168.1.5/32")
    for bad in ("0.0.0.0/0", "::/0", "hooks police", "-bad-.example"):
        with pytest.raises(settings.SettingsError, match="MARAC_WEBHOOK_ALLOW"):
            settings.load({"MARAC_WEBHOOK_ALLOW": bad})


def test_a_delivery_is_cut_off_at_10_seconds_unless_the_setting_says_otherwise():
    assert settings.load({}).webhook_timeout_seconds == 10
    assert settings.load({"MARAC_WEBHOOK_TIMEOUT": "3"}).webhook_timeout_seconds == 3
    with pytest.raises(settings.SettingsError, match="MARAC_WEBHOOK_TIMEOUT"):
        settings.load({"MARAC_WEBHOOK_TIMEOUT": "0"})


# --- who is told -------------------------------------------------------------------------


async def test_each_agency_is_told_only_of_events_about_records_it_may_see(app, personas, receiver):
    """As the route inventory does per persona: every member agency's webhook, the agency receiving the
    conference's referrals, and a housing association that is not a member, each subscribed to everything."""
    conference = await Conference.get(slug=CONFERENCE)
    advocacy = await directory.create_agency(None, "Northshire Advocacy Service", "idva")
    await directory.set_membership(None, conference, directory.MemberSpec(advocacy.id, "full", receives_referrals=True))
    advocate = await directory.add_user(
        None,
        email="advocate@test.example.org",
        name="Advocate",
        agency_id=advocacy.id,
        role="member",
        conference_slugs=[CONFERENCE],
    )
    agencies = {key: personas[key].user.agency_id for key in ("police", "idva", "health", "childrens", "housing")}
    agencies["council"] = personas["coordinator"].user.agency_id
    agencies["advocacy"] = advocacy.id
    for key, agency_id in agencies.items():
        await listen(receiver, agency_id, f"/{key}")

    world = await builders.published_meeting(personas)
    referral = world.referral
    action = await builders.action(personas, world.meeting, world.case_id, owner="health")
    meeting = world.meeting
    await told_already()
    ids = {"conference_id": conference.id}
    await events.emit("referral.received", conn=None, referral_id=referral.id, agency_id=agencies["police"], **ids)
    await events.emit("referral.decided", conn=None, referral_id=referral.id, decision="accepted", **ids)
    await events.emit("agenda.published", conn=None, meeting_id=meeting.id, research_due="2026-11-20", **ids)
    await events.emit("action.assigned", conn=None, action_id=action.id, agency_id=agencies["health"], **ids)
    await events.emit("minutes.ready", conn=None, meeting_id=meeting.id, version=1, **ids)
    await events.emit("referral.repeat", conn=None, referral_id=referral.id, **ids)  # not a webhook event

    await delivery.run(no_dns)

    members = {"agenda.published", "minutes.ready"}
    seen_actions = members | {"action.assigned"}  # full-tier members see every action (their minutes list it)
    referrals = {"referral.received", "referral.decided"}
    expected = {
        "police": referrals | seen_actions,  # the referrer
        "advocacy": referrals | seen_actions,  # receives the conference's referrals
        "idva": seen_actions,
        "health": seen_actions,  # the action's owner
        "council": seen_actions,  # the coordinator's agency, told as its members would see it
        "childrens": members,  # actions-only tier: not another agency's action
        "housing": set(),  # not a member
    }
    got = {key: {r.json["event"] for r in receiver.to(f"/{key}")} for key in agencies}
    assert got == expected
    assert len(receiver.received) == sum(len(kinds) for kinds in expected.values())
    assert receiver.bad_signatures == []
    assert await Event.filter(hooked_at__isnull=True).count() == 0

    # The API agrees: a member of each agency reads the referral exactly when its system was told of it.
    tokens = {key: personas[key].bearer for key in ("police", "idva", "health", "childrens", "housing")}
    tokens["advocacy"] = {"Authorization": f"Bearer {(await _token(advocate.user))}"}
    async with make_client(app) as api:
        for key, headers in tokens.items():
            read = await api.get(f"/api/v1/referrals/{referral.id}", headers=headers)
            assert (read.status_code == 200) == ("referral.received" in got[key]), key

    for item in receiver.received:
        text = item.body.decode()
        assert not [word for word in FIXTURE_TEXT if word in text], text
        body = item.json
        assert set(body) == {"id", "event", "at", "data"}
        assert item.headers["X-Marac-Delivery"] == body["id"] and item.headers["X-Marac-Event"] == body["event"]
        assert abs(int(item.headers["X-Marac-Timestamp"]) - time.time()) < 60
    decided = next(r.json for r in receiver.to("/police") if r.json["event"] == "referral.decided")
    assert decided["data"]["decision"] == "accepted"
    assert decided["data"]["links"]["referral"].endswith(f"/api/v1/referrals/{referral.id}")
    assigned = next(r.json for r in receiver.to("/health") if r.json["event"] == "action.assigned")
    assert assigned["data"]["links"]["case"].endswith(f"/api/v1/meetings/{meeting.id}/cases/{world.case_id}")
    assert assigned["data"]["action_id"] == action.id


async def _token(user: User) -> str:
    from marac.agencies import auth

    _, raw = await auth.create_token(user, "tests")
    return raw


async def test_an_agency_removed_from_the_conference_is_told_nothing_more(personas, receiver):
    health = personas["health"].user.agency_id
    await listen(receiver, health, "/health", kinds=("agenda.published",))
    world = await builders.published_meeting(personas)
    await told_already()
    await events.emit(
        "agenda.published", conn=None, conference_id=world.meeting.conference_id, meeting_id=world.meeting.id
    )
    assert await delivery.fan_out() == 1
    await directory.remove_membership(None, await Conference.get(slug=CONFERENCE), health)
    assert await delivery.send_due(no_dns) == 0
    assert receiver.received == []
    assert await WebhookDelivery.filter(status="cancelled", error="not entitled").count() == 1


async def test_a_webhook_hears_only_the_events_it_chose_and_none_from_before_it_existed(personas, receiver):
    police = personas["police"].user.agency_id
    await referral_event(personas)  # before any webhook
    await listen(receiver, police, "/police", kinds=("referral.decided",))
    await referral_event(personas)
    await referral_event(personas, "referral.decided", decision="rejected")
    await delivery.run(no_dns)
    assert [r.json["event"] for r in receiver.received] == ["referral.decided"]
    assert receiver.received[0].json["data"]["decision"] == "rejected"


# --- sending -----------------------------------------------------------------------------


async def test_a_receiver_that_answers_500_is_retried_with_the_same_delivery_until_it_takes_it(personas, receiver):
    receiver.answers["/police"] = 500
    webhook = await listen(receiver, personas["police"].user.agency_id, "/police")
    await referral_event(personas)
    assert await delivery.run(no_dns) == (1, 0)
    waiting = await WebhookDelivery.get(webhook_id=webhook.id)
    assert (waiting.status, waiting.attempts, waiting.response_code) == ("pending", 1, 500)
    assert waiting.error == "answered 500" and waiting.next_attempt_at > now()
    assert await delivery.send_due(no_dns) == 0  # not due yet
    assert len(receiver.received) == 1

    receiver.answers["/police"] = 200
    await WebhookDelivery.filter(id=waiting.id).update(next_attempt_at=now() - timedelta(seconds=1))
    assert await delivery.send_due(no_dns) == 1
    done = await WebhookDelivery.get(id=waiting.id)
    assert (done.status, done.attempts, done.response_code, done.error) == ("delivered", 2, 200, None)
    first, second = receiver.received
    assert first.body == second.body and first.json["id"] == waiting.id  # one delivery, retried
    assert receiver.bad_signatures == []


def test_the_pause_between_attempts_grows_and_stops_growing():
    pauses = [delivery._pause(n) for n in range(1, 12)]
    assert pauses[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert max(pauses) == delivery.LONGEST_PAUSE and pauses == sorted(pauses)


async def test_after_24_hours_the_delivery_fails_the_webhook_is_failing_and_the_admins_are_told(
    client, personas, receiver
):
    receiver.answers["/police"] = 503
    webhook = await listen(receiver, personas["police"].user.agency_id, "/police")
    for _ in range(2):
        await referral_event(personas)
    await delivery.fan_out()
    await WebhookDelivery.all().update(give_up_at=now() - timedelta(seconds=1))
    await delivery.send_due(no_dns)
    assert await WebhookDelivery.filter(status="failed").count() == 2
    assert (await Webhook.get(id=webhook.id)).failing_since is not None
    told = await Notification.filter(kind="webhook_failing").values_list("user_id", flat=True)
    assert told == [personas["admin"].user.id]  # once, though two deliveries failed
    client.cookies.update(await session_cookie_for(personas["admin"]))
    page = await client.get("/notifications")
    assert "Webhook failing" in page.text and 'href="/admin/webhooks"' in page.text
    assert "Failing" in (await client.get("/admin/webhooks")).text

    receiver.answers["/police"] = 200
    await referral_event(personas)
    await delivery.run(no_dns)
    assert (await Webhook.get(id=webhook.id)).failing_since is None  # a delivery went through


async def test_no_body_is_sent_about_an_event_older_than_48_hours(personas, receiver):
    await listen(receiver, personas["police"].user.agency_id, "/police")
    event = await referral_event(personas)
    await delivery.fan_out()
    await Event.filter(id=event.id).update(at=now() - timedelta(hours=48, minutes=1))
    assert await delivery.send_due(no_dns) == 0
    assert receiver.received == []
    gone = await WebhookDelivery.get()
    assert (gone.status, gone.error) == ("failed", "event older than 48 hours")
    assert await Notification.filter(kind="webhook_failing").count() == 1


async def test_a_hanging_receiver_is_cut_off_and_holds_up_no_other_delivery(personas, receiver):
    receiver.answers["/hang"] = "hang"
    police = personas["police"].user.agency_id
    await listen(receiver, police, "/hang")
    await listen(receiver, police, "/ok")
    await referral_event(personas)
    await delivery.fan_out()
    with configured(MARAC_WEBHOOK_ALLOW="127.0.0.0/8", MARAC_WEBHOOK_TIMEOUT="1"):
        started = time.monotonic()
        assert await delivery.send_due(no_dns) == 1
        assert time.monotonic() - started < 3
    assert len(receiver.to("/ok")) == 1
    hung = await WebhookDelivery.get(status="pending")
    assert (hung.error, hung.response_code, hung.attempts) == ("timed out", None, 1)


async def test_a_redirect_is_not_followed(personas, receiver):
    receiver.answers["/moved"] = 302
    await listen(receiver, personas["police"].user.agency_id, "/moved")
    await referral_event(personas)
    await delivery.run(no_dns)
    waiting = await WebhookDelivery.get()
    assert (waiting.status, waiting.response_code, waiting.error) == ("pending", 302, "redirect not followed")
    assert [r.path for r in receiver.received] == ["/moved"]


async def test_two_senders_at_once_send_each_delivery_once(personas, receiver):
    await listen(receiver, personas["police"].user.agency_id, "/police")
    for _ in range(6):
        await referral_event(personas)
    await delivery.fan_out()
    sent = await asyncio.gather(delivery.send_due(no_dns), delivery.send_due(no_dns))
    assert sum(sent) == 6
    ids = [r.json["id"] for r in receiver.received]
    assert len(ids) == len(set(ids)) == 6


async def test_two_fan_outs_at_once_make_each_delivery_once(personas, receiver):
    await listen(receiver, personas["police"].user.agency_id, "/police")
    for _ in range(4):
        await referral_event(personas)
    made = await asyncio.gather(delivery.fan_out(), delivery.fan_out())
    assert sum(made) == 4 and await WebhookDelivery.all().count() == 4


async def test_a_rotated_secret_signs_every_delivery_from_then_on_retries_included(personas, receiver):
    receiver.answers["/police"] = 500
    webhook = await listen(receiver, personas["police"].user.agency_id, "/police")
    await referral_event(personas)
    await delivery.run(no_dns)
    rotated = await webhooks.rotate(await builders.as_(personas, "admin"), webhook.id)
    receiver.secrets["/police"] = rotated.secret
    receiver.answers["/police"] = 200
    await WebhookDelivery.all().update(next_attempt_at=now() - timedelta(seconds=1))
    await delivery.send_due(no_dns)
    assert receiver.bad_signatures == [] and (await WebhookDelivery.get()).status == "delivered"
    first, second = receiver.received
    assert first.body == second.body
    assert first.headers["X-Marac-Signature"] == delivery.signature(webhook.secret, first.body)
    assert second.headers["X-Marac-Signature"] == delivery.signature(rotated.secret, second.body)
    assert rotated.secret != webhook.secret


async def test_a_disabled_webhook_drops_what_waits_and_hears_nothing_new_and_a_deleted_one_is_gone(
    client, personas, receiver
):
    admin = personas["admin"]
    receiver.answers["/police"] = 500
    webhook = await listen(receiver, personas["police"].user.agency_id, "/police")
    await referral_event(personas)
    await delivery.run(no_dns)
    off = await client.patch(f"/api/v1/webhooks/{webhook.id}", json={"active": False}, headers=admin.bearer)
    assert off.status_code == 200 and off.json()["active"] is False
    assert (await WebhookDelivery.get()).status == "cancelled"
    await referral_event(personas)
    assert await delivery.run(no_dns) == (0, 0)
    assert await AuditEvent.filter(action="webhook.disable", object_id=webhook.id).exists()

    gone = await client.delete(f"/api/v1/webhooks/{webhook.id}", headers=admin.bearer)
    assert gone.status_code == 204
    assert await Webhook.all().count() == 0 and await WebhookDelivery.all().count() == 0
    assert await AuditEvent.filter(action="webhook.delete", object_id=webhook.id).exists()
    assert (await client.get(f"/api/v1/webhooks/{webhook.id}", headers=admin.bearer)).status_code == 404


async def test_the_job_runs_in_process_and_the_worker_sweeps_every_minute(personas, receiver):
    from marac.jobs.worker import WorkerSettings

    await listen(receiver, personas["police"].user.agency_id, "/police")
    await referral_event(personas)
    await queue.run("deliver_webhooks", None)
    assert len(receiver.received) == 1
    assert "deliver_webhooks" in tasks.TASKS
    [sweep] = [job for job in WorkerSettings.cron_jobs or [] if job.name == "cron:_webhook_sweep"]
    assert sweep.minute is None and sweep.hour is None  # every minute


# --- no SSRF -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.1",
        "127.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "::",
    ],
)
async def test_a_name_that_resolves_to_an_address_that_is_not_public_is_refused_at_send_time(personas, address):
    asked: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return [address]

    await hook(personas["police"].user.agency_id, "https://hooks.police.example/marac")  # a name: accepted
    await referral_event(personas)
    assert await delivery.run(resolver) == (1, 0)
    waiting = await WebhookDelivery.get()
    assert (waiting.error, waiting.response_code) == ("refused: address not public", None)
    assert asked == ["hooks.police.example"]


async def test_one_private_answer_among_public_ones_is_refused(personas):
    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "127.0.0.1"]

    with pytest.raises(addresses.Refused):
        await addresses.checked_address("https://hooks.police.example/marac", resolver)
    assert addresses.allowed("hooks.police.example", "93.184.216.34")
    assert addresses.allowed("hooks.police.example", "2606:4700:4700::1111")


async def test_the_connection_goes_to_the_address_that_was_checked(personas, receiver):
    """The receiver's name is resolved once, by the resolver given, and the request goes to that address (no
    second lookup could answer differently): here a name no DNS knows reaches the loopback receiver."""
    calls: list[tuple[str, int]] = []

    async def resolver(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return ["127.0.0.1"]

    registered = await hook(personas["police"].user.agency_id, receiver.url("/police", host="receiver.invalid"))
    receiver.secrets["/police"] = registered.secret
    await referral_event(personas)
    assert await delivery.run(resolver) == (1, 1)
    assert calls == [("receiver.invalid", receiver.port)]
    assert receiver.received[0].headers["Host"] == f"receiver.invalid:{receiver.port}"
    assert receiver.bad_signatures == []

    # Without the exception the same answer is refused, at the next attempt as at the first.
    await referral_event(personas)
    with configured(MARAC_WEBHOOK_ALLOW=""):
        assert await delivery.run(resolver) == (1, 0)
    assert len(receiver.received) == 1


async def test_an_allowed_host_name_may_have_a_private_address(personas, receiver):
    async def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    registered = await hook(personas["police"].user.agency_id, receiver.url("/police", host="hooks.police.internal"))
    receiver.secrets["/police"] = registered.secret
    await referral_event(personas)
    with configured(MARAC_WEBHOOK_ALLOW="hooks.police.internal"):
        assert await delivery.run(resolver) == (1, 1)


# --- the delivery log and the pages ------------------------------------------------------


async def test_the_delivery_log_shows_status_attempts_and_answers_but_never_a_body(client, personas, receiver):
    admin = personas["admin"]
    receiver.answers["/police"] = 500
    webhook = await listen(receiver, personas["police"].user.agency_id, "/police")
    await referral_event(personas)
    await delivery.run(no_dns)
    answer = await client.get(f"/api/v1/webhooks/{webhook.id}/deliveries", headers=admin.bearer)
    assert answer.status_code == 200
    [item] = answer.json()["items"]
    assert item["id"] == receiver.received[0].json["id"] and item["event"] == "referral.received"
    assert (item["status"], item["attempts"], item["response_code"], item["error"]) == (
        "pending",
        1,
        500,
        "answered 500",
    )
    assert item["next_attempt_at"] is not None and answer.json()["next"] is None
    assert "links" not in answer.text and "referral_id" not in answer.text
    assert (
        await client.get(f"/api/v1/webhooks/{webhook.id}/deliveries?cursor=x", headers=admin.bearer)
    ).status_code == 422

    client.cookies.update(await session_cookie_for(admin))
    page = await client.get(f"/admin/webhooks/{webhook.id}")
    assert page.status_code == 200 and "answered 500" in page.text and "referral.received" in page.text


async def test_the_admin_registers_a_webhook_on_the_page_and_sees_its_secret_once(client, personas):
    client.cookies.update(await session_cookie_for(personas["admin"]))
    token = await csrf_token(client, "/admin/webhooks")
    police = personas["police"].user.agency_id
    form = {"csrf_token": token, "agency_id": police, "url": "https://hooks.police.example/marac"}
    refused = await client.post("/admin/webhooks", data={**form, "url": "http://10.0.0.5/x", "events": "minutes.ready"})
    assert refused.status_code == 400 and "not public" in refused.text
    none_chosen = await client.post("/admin/webhooks", data=form)
    assert none_chosen.status_code == 400 and "Choose one or more" in none_chosen.text
    assert await Webhook.all().count() == 0

    made = await client.post("/admin/webhooks", data={**form, "events": ["minutes.ready", "action.assigned"]})
    assert made.status_code == 200
    webhook = await Webhook.get()
    assert webhook.secret in made.text and webhook.events == ["action.assigned", "minutes.ready"]
    assert webhook.secret not in (await client.get(f"/admin/webhooks/{webhook.id}")).text

    rotated = await client.post(f"/admin/webhooks/{webhook.id}/rotate", data={"csrf_token": token})
    webhook = await Webhook.get()
    assert rotated.status_code == 200 and webhook.secret in rotated.text
    disabled = await client.post(f"/admin/webhooks/{webhook.id}/disable", data={"csrf_token": token})
    assert disabled.status_code == 303 and not (await Webhook.get()).active
    await client.post(f"/admin/webhooks/{webhook.id}/enable", data={"csrf_token": token})
    assert (await Webhook.get()).active
    deleted = await client.post(f"/admin/webhooks/{webhook.id}/delete", data={"csrf_token": token})
    assert deleted.status_code == 303 and await Webhook.all().count() == 0
    assert await Agency.filter(id=police).exists()


async def test_a_change_through_the_api_reaches_the_agency_system_without_waiting_for_the_sweep(
    app, personas, receiver
):
    # The answer to the change queues the delivery (marac/web/kick.py); no minute's sweep is run here.
    await listen(receiver, personas["police"].user.agency_id, "/police", kinds=("referral.received",))
    async with make_client(app) as police:
        answer = await police.post("/api/v1/referrals", json=dash_body(), headers=personas["police"].bearer)
        assert answer.status_code == 201, answer.text
    await run_jobs()  # what the answer queued: in-process, or through Redis to a worker
    [got] = receiver.to("/police")
    assert got.json["event"] == "referral.received" and receiver.bad_signatures == []
    assert got.json["data"]["links"]["referral"].endswith(f"/api/v1/referrals/{answer.json()['id']}")
