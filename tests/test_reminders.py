"""Daily action reminders (docs/domain.md#action-reminders): the daily run's events, who is told of them (the
fan-out, docs/notifications.md), once a day, as each user chooses, and what an e-mail may say.

E-mail goes to a real SMTP server (aiosmtpd) on loopback, through the outbox, as in production.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, date, datetime, timedelta

import pytest
from arq.cron import next_cron

from marac import clock, settings
from marac.actions import reminders
from marac.actions.models import Action
from marac.actions.reminders import emit_reminders
from marac.agencies.models import Conference, User
from marac.alerts import daily, fanout, preferences
from marac.jobs import queue, tasks
from marac.jobs.worker import WorkerSettings
from marac.meetings.models import AgendaItem
from marac.notices.models import Event, Notification
from marac.notify import outbox
from tests.builders import action, published_meeting, reload
from tests.conftest import CONFERENCE, PERSONAS, dash_body, make_client, session_cookie_for
from tests.flows import run_jobs
from tests.mail import MAIL_FROM, Inbox

TODAY = date(2026, 12, 1)
DESCRIPTION = "Flag Jane Doe's address on the Northshire NHS Trust system"


@pytest.fixture
def no_smtp():
    real = settings.get()
    settings.override(settings.load({**os.environ, "MARAC_SMTP_URL": ""}))
    yield
    settings.override(real)


@pytest.fixture
async def item(personas) -> AgendaItem:
    # A case heard in August: every due date these tests need falls after its meeting, as the service requires.
    world = await published_meeting(personas, bodies=[dash_body(received_at="2026-08-01")])
    return await AgendaItem.get(id=world.case_id)


async def make_action(item: AgendaItem, personas, due: date, status: str = "open", owner: str = "health") -> Action:
    return await action(personas, await reload(item.meeting_id), item.id, DESCRIPTION, owner, due, status)


async def notified(persona) -> set[tuple[str, str, date]]:
    """The persona's reminders: (action id, kind, day)."""
    reminders = Notification.filter(user_id=persona.user.id, kind__in=("due_soon", "overdue"))
    return set(await reminders.values_list("action_id", "kind", "day"))


async def settle(smtp: Inbox | None = None) -> None:
    """What the set-up made (actions assigned, research due) told, put in digests and e-mailed, so that a test sees
    only what the reminders bring."""
    await fanout.fan_out()
    await daily.put_digests()
    await outbox.send_pending()
    if smtp is not None:
        smtp.messages.clear()
        smtp.recipients.clear()


async def remind(today: date) -> dict[str, int]:
    """The daily run's reminders for `today`, told (the fan-out) and e-mailed (the outbox), as the jobs do."""
    events = await emit_reminders(today)
    told = await fanout.fan_out()
    await outbox.send_pending()
    return {"events": events, "notices": told["notices"], "emails": told["emails"]}


async def test_due_soon_and_overdue_actions_notify_the_owner_agencys_case_users_only(smtp, personas, item):
    today_ = await make_action(item, personas, TODAY)
    in_three_days = await make_action(item, personas, TODAY + timedelta(days=3), status="in_progress")
    yesterday = await make_action(item, personas, TODAY - timedelta(days=1))
    long_overdue = await make_action(item, personas, TODAY - timedelta(days=90), status="in_progress")
    await settle(smtp)

    assert await remind(TODAY) == {"events": 4, "notices": 4, "emails": 1}

    # One event per action, for the day: the same events any other consumer reads.
    events = await Event.filter(kind__in=("action.due", "action.overdue")).values_list("kind", "action_id", "data")
    assert sorted((kind, action_id) for kind, action_id, _ in events) == sorted(
        [
            ("action.due", today_.id),
            ("action.due", in_three_days.id),
            ("action.overdue", yesterday.id),
            ("action.overdue", long_overdue.id),
        ]
    )
    assert all(data["day"] == TODAY.isoformat() for *_, data in events)
    assert await notified(personas["health"]) == {
        (today_.id, "due_soon", TODAY),
        (in_three_days.id, "due_soon", TODAY),
        (yesterday.id, "overdue", TODAY),
        (long_overdue.id, "overdue", TODAY),
    }
    for other in ("admin", "coordinator", "chair", "police", "idva", "childrens", "housing", "auditor"):
        assert await notified(personas[other]) == set(), other
    assert smtp.recipients == [[personas["health"].email]]


async def test_only_active_case_roles_in_the_actions_conference_are_told(smtp, personas, item):
    health = personas["health"].user
    conference = await Conference.get(slug=CONFERENCE)

    async def colleague(key: str, role: str = "member", active: bool = True, member_of_conference: bool = True) -> User:
        user = await User.create(
            email=f"{key}@test.example.org", name=key, agency_id=health.agency_id, role=role, active=active
        )
        if member_of_conference:
            await user.conferences.add(conference)
        return user

    chair = await colleague("health-chair", role="chair")
    coordinator = await colleague("health-coordinator", role="coordinator")
    silent = [
        await colleague("health-auditor", role="auditor"),
        await colleague("health-admin", role="admin"),
        await colleague("health-disabled", active=False),
        await colleague("health-elsewhere", member_of_conference=False),
    ]
    action = await make_action(item, personas, TODAY + timedelta(days=1))
    await settle(smtp)

    # The coordinator's reminders wait for the digest by default, as their agency's other actions do.
    assert await remind(TODAY) == {"events": 1, "notices": 3, "emails": 2}

    told = set(await Notification.filter(action_id=action.id, kind="due_soon").values_list("user_id", flat=True))
    assert told == {health.id, chair.id, coordinator.id}
    assert not told & {user.id for user in silent}
    assert sorted(r for rs in smtp.recipients for r in rs) == sorted([health.email, chair.email])
    await daily.put_digests()
    await outbox.send_pending()
    (digest,) = smtp.to(coordinator.email)
    assert "- 1 action due in the next 3 days" in digest.get_content()


async def test_closed_actions_and_actions_due_in_four_days_or_more_notify_nobody(smtp, personas, item):
    for status in ("done", "not_possible_changed_circumstances", "not_done_by_agency"):
        await make_action(item, personas, TODAY - timedelta(days=1), status=status)
        await make_action(item, personas, TODAY + timedelta(days=1), status=status)
    await make_action(item, personas, TODAY + timedelta(days=4))
    await make_action(item, personas, TODAY + timedelta(days=30), status="in_progress")
    await settle(smtp)

    assert await remind(TODAY) == {"events": 0, "notices": 0, "emails": 0}
    assert not await Event.filter(kind__in=("action.due", "action.overdue")).exists()
    assert not await Notification.filter(kind__in=("due_soon", "overdue")).exists()
    assert smtp.messages == []


async def test_running_twice_the_same_day_adds_nothing_and_sends_one_email(smtp, personas, item):
    action = await make_action(item, personas, TODAY + timedelta(days=1))
    await make_action(item, personas, TODAY - timedelta(days=2))
    await settle(smtp)

    first = await remind(TODAY)
    second = await remind(TODAY)

    assert first == {"events": 2, "notices": 2, "emails": 1}
    assert second == {"events": 0, "notices": 0, "emails": 0}
    assert await Event.filter(kind__in=("action.due", "action.overdue")).count() == 2
    assert await Notification.filter(kind__in=("due_soon", "overdue")).count() == 2
    assert len(smtp.to(personas["health"].email)) == 1

    # The next day is a new reminder, and a new e-mail.
    assert await remind(TODAY + timedelta(days=1)) == {"events": 2, "notices": 2, "emails": 1}
    assert (action.id, "due_soon", TODAY + timedelta(days=1)) in await notified(personas["health"])
    assert len(smtp.to(personas["health"].email)) == 2


async def test_two_runs_at_once_emit_each_reminder_once_and_send_one_email(smtp, personas, item):
    for days in (-3, -1, 0, 2):
        await make_action(item, personas, TODAY + timedelta(days=days))
    await settle(smtp)

    results = await asyncio.gather(emit_reminders(TODAY), emit_reminders(TODAY))

    assert sum(results) == 4
    assert await Event.filter(kind__in=("action.due", "action.overdue")).count() == 4
    await asyncio.gather(fanout.fan_out(), fanout.fan_out())
    await asyncio.gather(outbox.send_pending(), outbox.send_pending())
    assert await Notification.filter(user_id=personas["health"].user.id, kind__in=("due_soon", "overdue")).count() == 4
    assert len(smtp.messages) == 1


async def test_a_run_larger_than_a_batch_emits_each_reminder_once_across_the_batch_boundaries(
    smtp, personas, item, monkeypatch
):
    # A national run emits its reminders a batch at a time (docs/benchmarks.md#background-work): here 2 a batch.
    monkeypatch.setattr(reminders, "BATCH", 2)
    first = [await make_action(item, personas, TODAY + timedelta(days=days)) for days in (-3, -1, 0)]
    await settle(smtp)

    assert await emit_reminders(TODAY) == 3
    later = [await make_action(item, personas, TODAY + timedelta(days=days)) for days in (-2, 1)]
    # The new actions fall in batches beside ones already reminded of today: only they are emitted.
    assert await emit_reminders(TODAY) == 2
    assert sum(await asyncio.gather(emit_reminders(TODAY), emit_reminders(TODAY))) == 0
    keys = await Event.filter(kind__in=("action.due", "action.overdue")).values_list("action_id", flat=True)
    assert sorted(keys) == sorted(a.id for a in first + later)
    await fanout.fan_out()
    assert await notified(personas["health"]) == {
        (a.id, "overdue" if a.due_date < TODAY else "due_soon", TODAY) for a in first + later
    }


async def test_an_email_carries_counts_and_a_link_and_nothing_about_the_case(smtp, personas, item):
    for days in (-5, -1, 0, 1, 3):
        await make_action(item, personas, TODAY + timedelta(days=days))
    await settle(smtp)

    await remind(TODAY)

    (message,) = smtp.to(personas["health"].email)
    assert message["From"] == MAIL_FROM
    assert message["To"] == personas["health"].email
    assert message.get_content_type() == "text/plain"
    subject, body = str(message["Subject"]), message.get_content()
    assert f"{settings.get().base_url}/notifications" in body
    assert "- 2 actions overdue" in body and "- 3 actions due in the next 3 days" in body
    body_dict = dash_body()
    secrets = {
        DESCRIPTION,
        "Northshire",
        "Northshire DA MARAC",
        CONFERENCE,
        *(name for _, name, *_ in PERSONAS),
        *(key.capitalize() for key, *_ in PERSONAS),
        body_dict["victim"]["name"],
        *(p["name"] for p in body_dict["perpetrators"]),
        *(c["name"] for c in body_dict["children"]),
        "Jane",
        "Doe",
        "Roe",
        "Amy",
        body_dict["summary"],
        body_dict["victim"]["address"]["postcode"],
        body_dict["victim"]["address"]["line1"],
        body_dict["victim"]["safe_contact"]["phone"],
        personas["health"].email,
        personas["health"].user.name,
    }
    for text in (subject, body):
        leaked = {s for s in secrets if s.lower() in text.lower()}
        assert not leaked, leaked
    # Nor an id that would let someone outside look a case up.
    action_ids = await Action.all().values_list("id", flat=True)
    assert not any(action_id in body for action_id in action_ids)
    assert item.referral_id not in body


# --- the user's e-mail choices -------------------------------------------------------------


async def test_reminders_follow_the_users_choice_a_daily_digest(smtp, personas, item):
    for days in (-1, 0, 2):
        await make_action(item, personas, TODAY + timedelta(days=days))
    await settle(smtp)
    await preferences.choose(personas["health"].user.id, "member", {"action_due": "digest"})

    assert await remind(TODAY) == {"events": 3, "notices": 3, "emails": 0}
    assert smtp.messages == []

    assert await daily.put_digests() == 1
    await outbox.send_pending()
    (message,) = smtp.to(personas["health"].email)
    assert "- 1 action overdue" in message.get_content()
    assert "- 2 actions due in the next 3 days" in message.get_content()
    assert await daily.put_digests() == 0


async def test_reminders_switched_off_send_no_email_and_stay_in_the_app(app, smtp, personas, item):
    action = await make_action(item, personas, TODAY - timedelta(days=1))
    await settle(smtp)
    async with make_client(app) as api:
        # Not a duty (the action itself was told when assigned, and cannot be off): a reminder may be switched off.
        answer = await api.put(
            "/api/v1/notifications/preferences", json={"action_due": "off"}, headers=personas["health"].bearer
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["action_due"] == "off"

    assert await remind(TODAY) == {"events": 1, "notices": 1, "emails": 0}
    assert await daily.put_digests() == 0
    await outbox.send_pending()
    assert smtp.messages == []
    assert await notified(personas["health"]) == {(action.id, "overdue", TODAY)}


async def test_the_api_lists_reminders_as_action_due_with_a_link_to_the_action(app, no_smtp, personas, item):
    due = await make_action(item, personas, TODAY + timedelta(days=2))
    late = await make_action(item, personas, TODAY - timedelta(days=2))
    await settle()
    await Notification.all().delete()  # the actions' assignment

    await remind(TODAY)

    async with make_client(app) as api:
        listed = await api.get("/api/v1/notifications", headers=personas["health"].bearer)
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert sorted((i["kind"], i["link"], i["read"]) for i in items) == sorted(
        [("action_due", f"/actions/{due.id}", False), ("action_due", f"/actions/{late.id}", False)]
    )


async def test_without_smtp_notifications_are_still_made_and_nothing_fails(no_smtp, personas, item):
    await make_action(item, personas, TODAY)
    await fanout.fan_out()

    assert await remind(TODAY) == {"events": 1, "notices": 1, "emails": 1}  # the e-mail waits in the outbox
    assert await Notification.filter(user_id=personas["health"].user.id, kind="due_soon").count() == 1


async def test_the_daily_run_uses_the_uk_date(no_smtp, personas, item):
    action = await make_action(item, personas, clock.today() + timedelta(days=2))
    await fanout.fan_out()

    await queue.run("daily_events", None)  # as the worker's cron and the in-process timer run it
    await run_jobs()  # what it queued: the telling of its events

    assert (action.id, "due_soon", clock.today()) in await notified(personas["health"])
    assert await Event.filter(kind="action.due", action_id=action.id).values_list("data", flat=True) == [
        {"day": clock.today().isoformat(), "due_date": action.due_date.isoformat()}
    ]


# --- the notifications page ------------------------------------------------------------


async def test_the_page_lists_your_own_reminders_and_marks_them_read(app, client, no_smtp, personas, item):
    action = await make_action(item, personas, TODAY - timedelta(days=1))
    await remind(TODAY)

    client.cookies.update(await session_cookie_for(personas["health"]))
    page = await client.get("/notifications")
    assert page.status_code == 200
    assert f'href="/actions/{action.id}"' in page.text
    assert "Overdue" in page.text and (TODAY - timedelta(days=1)).strftime("%d %b %Y") in page.text
    assert DESCRIPTION not in page.text and "Jane Doe" not in page.text
    assert not await Notification.filter(user_id=personas["health"].user.id, read_at__isnull=True).exists()

    async with make_client(app) as other:
        other.cookies.update(await session_cookie_for(personas["police"]))
        theirs = await other.get("/notifications")
    assert theirs.status_code == 200
    assert action.id not in theirs.text


async def test_strangers_are_sent_to_sign_in(client):
    response = await client.get("/notifications")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


# --- settings, scheduling and layering -------------------------------------------------


def test_smtp_settings_are_validated_without_echoing_the_url():
    base = {"MARAC_ENV": "test"}
    assert settings.load(base).smtp_url is None and settings.load(base).mail_from == "marac@localhost"
    assert (
        settings.load({**base, "MARAC_SMTP_URL": "smtps://u:p@mail.example:465"}).smtp_url
        == "smtps://u:p@mail.example:465"
    )
    for bad in ("http://u:hunter2@mail.example", "smtp://u:hunter2@mail.example:notaport", "smtp://:25"):
        with pytest.raises(settings.SettingsError, match="MARAC_SMTP_URL") as caught:
            settings.load({**base, "MARAC_SMTP_URL": bad})
        assert "hunter2" not in str(caught.value)
    with pytest.raises(settings.SettingsError, match="MARAC_MAIL_FROM"):
        settings.load({**base, "MARAC_MAIL_FROM": "not an address"})
    assert "hunter2" not in repr(settings.load({**base, "MARAC_SMTP_URL": "smtp://u:hunter2@mail.example:25"}))


def test_the_in_process_timer_waits_for_seven_on_the_uk_clock():
    at = queue.DIGEST_AT
    # Winter: UK time is UTC.
    assert queue.next_run(at, datetime(2026, 1, 10, 6, 59, tzinfo=UTC)) == datetime(2026, 1, 10, 7, 0, tzinfo=UTC)
    assert queue.next_run(at, datetime(2026, 1, 10, 7, 0, tzinfo=UTC)) == datetime(2026, 1, 11, 7, 0, tzinfo=UTC)
    # Summer: 07:00 BST is 06:00 UTC.
    assert queue.next_run(at, datetime(2026, 7, 1, 6, 30, tzinfo=UTC)) == datetime(2026, 7, 2, 6, 0, tzinfo=UTC)
    # Across the spring clock change (29 March 2026): the next morning is 23 hours on.
    assert queue.next_run(at, datetime(2026, 3, 28, 7, 0, tzinfo=UTC)) == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)


def test_the_worker_cron_emits_the_reminders_at_a_quarter_to_seven_uk_time_before_the_digest():
    (events,) = [job for job in WorkerSettings.cron_jobs if job.name.endswith("_daily_events")]
    (digests,) = [job for job in WorkerSettings.cron_jobs if job.name.endswith("_daily_digests")]
    assert (events.hour, events.minute) == (6, 45) and (digests.hour, digests.minute) == (7, 0)
    assert str(WorkerSettings.timezone) == "Europe/London"
    # arq evaluates cron times on the worker's `timezone`: after the clock change, 06:45 BST.
    after = next_cron(datetime(2026, 3, 28, 8, 0, tzinfo=WorkerSettings.timezone), hour=6, minute=45)
    assert after.astimezone(UTC).replace(microsecond=0) == datetime(2026, 3, 29, 5, 45, tzinfo=UTC)
    # One path: the reminders are the daily run's events, told by the fan-out; no job of their own sends them.
    assert "daily_events" in tasks.TASKS and "send_reminders" not in tasks.TASKS
    assert not [job for job in WorkerSettings.cron_jobs if job.name.endswith("_daily_reminders")]


async def test_the_in_process_timer_runs_only_without_redis_and_outside_tests():
    real = settings.get()
    assert not queue._timers  # MARAC_ENV=test: tests call the tasks themselves
    await queue.stop()
    settings.override(settings.load({**os.environ, "MARAC_ENV": "development", "MARAC_REDIS_URL": ""}))
    try:
        await queue.start()
        # One timer per daily job, plus the break-glass sweep, the e-mail outbox, the render reconciler, the
        # notifications' sweep and the webhooks' sweep.
        assert len(queue._timers) == len(queue.DAILY) + 5 and not any(t.done() for t in queue._timers)
        assert {name for _, name in queue.DAILY} == {"apply_retention", "daily_events", "send_digests"}
    finally:
        await queue.stop()
        settings.override(real)
        await queue.start()
    assert not queue._timers
