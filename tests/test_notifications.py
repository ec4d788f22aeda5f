"""Who is told of what (docs/notifications.md): each row of the table tells the right people and only them, in the
app and by e-mail (a real SMTP server), and no e-mail carries a name, case text or an agency."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from marac.agencies import access
from marac.agencies.access import viewer_for
from marac.agencies.models import Membership
from marac.alerts import daily, fanout
from marac.minutes import service as minutes
from marac.notices.models import Event, Notification
from marac.notify import outbox
from marac.notify.models import OutboxEmail
from marac.referrals import service as referrals
from marac.referrals.models import Referral
from tests.builders import (
    ACTION,
    OTHER_VICTIMS,
    action,
    approve_minutes,
    as_,
    held_meeting,
    meeting_of,
    other_victim,
    publish,
    published_meeting,
    referral,
)
from tests.conftest import PERSONAS, csrf_token, dash_body, make_client, session_cookie_for
from tests.flows import run_jobs

KEYS = [key for key, *_ in PERSONAS]
# What a notice or an e-mail must never carry: the fixture's people, its case text, its agencies.
FIXTURE_TEXT = [
    "Jane Doe",
    "John Roe",
    "Amy Doe",
    "High Street",
    "07700",
    "Escalating threats",
    "REJECTIONREASON",
    ACTION,
    "Perp ",
    *[name for name, _ in OTHER_VICTIMS],
    *{name for _, name, *_ in PERSONAS},
]


async def told(personas, kind: str) -> set[str]:
    """Fan out, then the personas holding a notice of this kind."""
    await fanout.fan_out()
    users = set(await Notification.filter(kind=kind).values_list("user_id", flat=True))
    return {key for key in KEYS if personas[key].user.id in users}


async def emailed(personas, smtp) -> set[str]:
    """Send what waits in the outbox; the personas who got an e-mail since the last call. Every body is checked."""
    smtp.messages.clear()
    smtp.recipients.clear()
    await outbox.send_pending()
    for message in smtp.messages:
        text = message.get_content() + message["Subject"]
        for forbidden in FIXTURE_TEXT:
            assert forbidden not in text, forbidden
        assert "/notifications" in text
    addresses = {to for recipients in smtp.recipients for to in recipients}
    return {key for key in KEYS if personas[key].email in addresses}


async def receiving(personas, key: str = "idva") -> None:
    await Membership.filter(agency_id=personas[key].user.agency_id).update(receives_referrals=True)


async def test_a_new_referral_tells_the_coordinator_and_the_receiving_agency(personas, smtp):
    await receiving(personas)
    await referral(personas, by="police")
    assert await told(personas, "referral_received") == {"coordinator", "idva"}
    assert await emailed(personas, smtp) == {"coordinator", "idva"}


async def test_without_a_receiving_agency_only_the_coordinator_hears_of_a_referral(personas, smtp):
    await referral(personas, by="health")
    assert await told(personas, "referral_received") == {"coordinator"}
    assert await emailed(personas, smtp) == {"coordinator"}


async def test_a_possible_duplicate_tells_the_coordinator(personas, smtp):
    await referral(personas, by="police")
    await referral(personas, by="idva")  # the same people within 7 days, not yet heard
    assert await Referral.filter(possible_duplicate_of_id__isnull=False).count() == 1
    assert await told(personas, "possible_duplicate") == {"coordinator"}
    assert "coordinator" in await emailed(personas, smtp)


async def test_a_repeat_tells_the_coordinator(personas, smtp):
    await published_meeting(personas)  # Jane Doe's case heard
    await fanout.fan_out()
    await emailed(personas, smtp)
    later = await referral(personas, by="health", received_at="2026-11-25", today=date(2026, 11, 26))
    assert later.is_repeat
    assert await told(personas, "repeat_detected") == {"coordinator"}
    assert await emailed(personas, smtp) == {"coordinator"}  # the repeat's e-mail, and its arrival's


async def test_a_decision_tells_the_referrer_alone_and_a_rejection_keeps_its_reason_in_the_app(app, personas, smtp):
    accepted = await referral(personas, by="police")
    rejected = await referral(personas, by="health", body=other_victim(1))
    await fanout.fan_out()
    await emailed(personas, smtp)
    coordinator = await as_(personas, "coordinator")
    await referrals.decide(coordinator, accepted.id, "accept", None)
    await referrals.decide(coordinator, rejected.id, "reject", "REJECTIONREASON not high risk")
    assert await told(personas, "referral_decided") == {"police", "health"}
    assert await emailed(personas, smtp) == {"police", "health"}  # and neither e-mail holds the reason
    async with make_client(app) as health:
        health.cookies.update(await session_cookie_for(personas["health"]))
        page = await health.get("/notifications")
        assert "rejected" in page.text and "REJECTIONREASON not high risk" in page.text
        assert f"/referrals/{rejected.id}" in page.text
    async with make_client(app) as police:
        police.cookies.update(await session_cookie_for(personas["police"]))
        page = await police.get("/notifications")
        assert "accepted" in page.text and "REJECTIONREASON" not in page.text


async def test_a_published_agenda_tells_each_member_agencys_case_handlers_research_is_due(app, personas, smtp):
    made = await referral(personas, accept=True)
    meeting = await meeting_of(made)
    await fanout.fan_out()
    await emailed(personas, smtp)
    await publish(personas, meeting)
    members = {"coordinator", "chair", "police", "idva", "health", "childrens"}
    assert await told(personas, "agenda_published") == members
    assert await emailed(personas, smtp) == members - {"coordinator"}  # the coordinator's default: the digest
    event = await Event.get(kind="agenda.published")
    assert event.data == {"research_due": meeting.date.isoformat(), "reissued": False}
    async with make_client(app) as police:
        police.cookies.update(await session_cookie_for(personas["police"]))
        page = await police.get("/notifications")
        assert f"research due by {meeting.date.strftime('%d %B %Y')}" in page.text


async def test_an_action_tells_its_owner_agency_alone(personas, smtp):
    world = await published_meeting(personas)
    await fanout.fan_out()
    await emailed(personas, smtp)
    await action(personas, world.meeting, world.case_id, owner="health")
    assert await told(personas, "action_assigned") == {"health"}
    assert await emailed(personas, smtp) == {"health"}


async def test_an_action_due_within_3_days_or_overdue_tells_its_owner_agency_once_a_day(personas, smtp):
    world = await published_meeting(personas)
    day = world.meeting.date
    soon = await action(personas, world.meeting, world.case_id, owner="police", due=day + timedelta(days=10))
    await action(personas, world.meeting, world.case_id, owner="police", due=day + timedelta(days=5))
    await fanout.fan_out()
    await emailed(personas, smtp)
    today = soon.due_date - timedelta(days=2)  # one due in 2 days, one 3 days overdue
    assert await daily.emit_scheduled(today) == 2  # the daily run: an action.due and an action.overdue event
    assert await told(personas, "due_soon") == {"chair", "police"}  # the owner agency's case handlers
    assert await told(personas, "overdue") == {"chair", "police"}
    assert await emailed(personas, smtp) == {"chair", "police"}
    assert len(smtp.messages) == 2  # one e-mail each, with counts
    assert "- 1 action overdue" in smtp.messages[0].get_content()
    assert await daily.emit_scheduled(today) == 0  # once a day
    assert await daily.emit_scheduled(today + timedelta(days=1)) == 2  # and again the next


async def test_minutes_ready_tells_each_recipient_agency(personas, smtp):
    world = await held_meeting(personas)
    await fanout.fan_out()
    await emailed(personas, smtp)
    await approve_minutes(personas, world.meeting, rendered=True)
    recipients = {"coordinator", "chair", "police", "idva", "health", "childrens"}
    assert await told(personas, "minutes_ready") == recipients
    assert await emailed(personas, smtp) == recipients - {"coordinator"}


async def test_minutes_not_circulated_after_3_working_days_tell_the_coordinator_once(personas, smtp):
    world = await held_meeting(personas)
    deadline = minutes.circulation_deadline(world.meeting.date, "england_wales")
    await fanout.fan_out()
    await emailed(personas, smtp)
    assert await daily.emit_scheduled(deadline) == 0  # not late on the deadline itself
    assert await daily.emit_scheduled(deadline + timedelta(days=1)) == 1
    assert await daily.emit_scheduled(deadline + timedelta(days=2)) == 0  # told once
    assert await told(personas, "minutes_late") == {"coordinator"}
    assert await emailed(personas, smtp) == {"coordinator"}


async def test_nobody_is_told_of_a_record_they_may_not_see(personas):
    # The in-memory rule the fan-out uses agrees with the query filter for every persona and referral.
    await receiving(personas)
    made = [await referral(personas, by=key) for key in ("police", "health", "idva")]
    for key in KEYS:
        viewer = await viewer_for(personas[key].user)
        visible = set(await Referral.filter(access.referral_filter(viewer)).values_list("id", flat=True))
        for r in made:
            assert access.sees_referral(viewer, r.conference_id, r.referring_agency_id, r.monitoring_only) == (
                r.id in visible
            ), (key, r.id)


async def test_two_workers_at_once_tell_everyone_once(personas, smtp):
    await receiving(personas)
    for n in range(5):
        await referral(personas, by="police", body=other_victim(n + 1))
    await asyncio.gather(fanout.fan_out(), fanout.fan_out(), fanout.fan_out())
    assert await Notification.filter(kind="referral_received").count() == 10  # 5 events x coordinator and IDVA
    assert await Event.filter(notified_at__isnull=True).count() == 0
    await asyncio.gather(outbox.send_pending(), outbox.send_pending())
    assert len(smtp.messages) == await OutboxEmail.filter(kind="notice").count() == 10


async def test_the_digest_is_one_email_a_day_with_counts(personas, smtp):
    for n in range(3):
        await referral(personas, by="police", body=other_victim(n + 1))
    viewer = await as_(personas, "coordinator")
    from marac.alerts import preferences

    await preferences.choose(viewer.user_id, "coordinator", {"referral_received": "digest"})
    assert await told(personas, "referral_received") == {"coordinator"}
    assert await emailed(personas, smtp) == set()
    assert await daily.put_digests() == 1
    assert await daily.put_digests() == 0
    assert await emailed(personas, smtp) == {"coordinator"}
    assert "- 3 new referrals received" in smtp.messages[0].get_content()


async def test_a_duty_cannot_be_switched_off_and_off_sends_nothing(app, personas, smtp):
    async with make_client(app) as health:
        health.cookies.update(await session_cookie_for(personas["health"]))
        token = await csrf_token(health, "/account")
        refused = await health.post(
            "/account/notifications", data={"csrf_token": token, "action_assigned": "off", "referral_decided": "off"}
        )
        assert refused.status_code == 400 and "is a duty" in refused.text
        saved = await health.post(
            "/account/notifications", data={"csrf_token": token, "referral_decided": "off", "minutes_ready": "digest"}
        )
        assert saved.status_code == 303
        page = await health.get("/account")
        assert 'name="action_assigned" type="radio" value="off"' not in page.text
    api = await make_client(app).__aenter__()
    try:
        answer = await api.put(
            "/api/v1/notifications/preferences", json={"agenda_published": "off"}, headers=personas["health"].bearer
        )
        assert answer.status_code == 422
        answer = await api.get("/api/v1/notifications/preferences", headers=personas["health"].bearer)
        assert answer.json()["referral_decided"] == "off" and answer.json()["minutes_ready"] == "digest"
    finally:
        await api.__aexit__(None, None, None)
    made = await referral(personas, by="health")
    await referrals.decide(await as_(personas, "coordinator"), made.id, "accept", None)
    assert "health" in await told(personas, "referral_decided")
    assert "health" not in await emailed(personas, smtp)
    assert await Notification.filter(kind="referral_decided", emailed=False).count() == 0  # nor in a digest


async def test_the_header_counts_unread_and_the_api_lists_them(app, personas):
    await referral(personas, by="police")
    await fanout.fan_out()
    async with make_client(app) as coordinator:
        coordinator.cookies.update(await session_cookie_for(personas["coordinator"]))
        home = await coordinator.get("/")
        assert "Notifications (1)" in home.text
        listed = await coordinator.get("/api/v1/notifications", headers=personas["coordinator"].bearer)
        [item] = listed.json()["items"]
        assert item["kind"] == "referral_received" and item["read"] is False and item["link"].startswith("/referrals/")
        await coordinator.get("/notifications")  # opening the page marks them read
        assert "Notifications (" not in (await coordinator.get("/")).text
        listed = await coordinator.get("/api/v1/notifications", headers=personas["coordinator"].bearer)
        assert listed.json()["items"][0]["read"] is True and listed.json()["next"] is None
        bad = await coordinator.get("/api/v1/notifications?cursor=x", headers=personas["coordinator"].bearer)
        assert bad.status_code == 422


async def test_a_change_through_the_api_kicks_the_fan_out(app, personas):
    async with make_client(app) as police:
        answer = await police.post("/api/v1/referrals", json=dash_body(), headers=personas["police"].bearer)
        assert answer.status_code == 201, answer.text
    await run_jobs()  # what the answer queued: in-process, or through Redis to a worker
    assert await Event.filter(notified_at__isnull=True).count() == 0
    assert await Notification.filter(kind="referral_received", user_id=personas["coordinator"].user.id).count() == 1
