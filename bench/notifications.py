"""Benchmark: 10,000 events told to the people of 200 agencies (docs/benchmarks.md#notifications).

The world: 20 conferences of 10 member agencies each (200 agencies), 2 case-handling members per agency and a
coordinator per conference, one agency per conference receiving its referrals; one referral per conference made
through the service. Then 10,000 events written as the use cases write them (emit(), in batches): new referrals,
decisions, actions assigned, minutes ready, and a research list published now and then. Measured: from queueing
`notify_people` through Redis to the last event told, with a real arq worker (burst mode, in this process) doing
the fan-out: who is told, their notices, their e-mails sealed in the outbox. Baseline in the same run: the same
number of notices and e-mails written by bulk inserts alone, nobody resolved. Target: under 60 s.

Run with bench/run (PostgreSQL and Redis), or alone with MARAC_DATABASE_URL (PostgreSQL) and MARAC_REDIS_URL set.
"""

from __future__ import annotations

import asyncio
import os
import platform
import time
from datetime import date

from arq.worker import Worker
from tortoise.transactions import in_transaction

from marac import db, settings
from marac.agencies import service as directory
from marac.agencies.access import viewer_for
from marac.agencies.models import Agency, Conference, User
from marac.alerts import fanout, kinds
from marac.clock import now, uk_date
from marac.jobs import queue
from marac.jobs.worker import WorkerSettings
from marac.notices.events import emit
from marac.notices.models import Event, Notification
from marac.notify.models import OutboxEmail
from marac.referrals import service as referrals
from tests.conftest import dash_body

EVENTS = int(os.environ.get("EVENTS", "10000"))
CONFERENCES = 20
AGENCIES_EACH = 10
MEMBERS_EACH = 2
TARGET_S = 60.0
TODAY = date(2026, 11, 21)


async def world() -> list[tuple[Conference, list[Agency], str]]:
    """Each conference, its member agencies, and the referral made in it."""
    made = []
    tag = os.urandom(3).hex()
    for c in range(CONFERENCES):
        agencies = [
            await directory.create_agency(None, f"Bench {tag} {c}-{a}", "idva" if a == 0 else "police")
            for a in range(AGENCIES_EACH)
        ]
        slug = f"bench-{tag}-{c}"
        await directory.create_conference(
            None,
            name=f"Bench {c}",
            slug=slug,
            type="domestic-abuse",
            weekday="tuesday",
            start_time="10:00",
            first_date=date(2026, 1, 6),
            members=[directory.MemberSpec(a.id, "full", receives_referrals=(n == 0)) for n, a in enumerate(agencies)],
        )
        conference = await Conference.get(slug=slug)
        for n, agency in enumerate(agencies):
            for m in range(MEMBERS_EACH):
                await directory.add_user(
                    None,
                    email=f"b{tag}-{c}-{n}-{m}@bench.example.org",
                    name=f"Member {m}",
                    agency_id=agency.id,
                    role="member",
                    conference_slugs=[slug],
                )
        await directory.add_user(
            None,
            email=f"b{tag}-{c}-coordinator@bench.example.org",
            name="Coordinator",
            agency_id=agencies[1].id,
            role="coordinator",
            conference_slugs=[slug],
        )
        referrer = await User.get(email=f"b{tag}-{c}-1-0@bench.example.org")
        body = {**dash_body(), "conference": slug}
        referral = await referrals.submit(await viewer_for(referrer), body, TODAY)
        made.append((conference, agencies, referral.id))
    return made


async def write_events(made: list[tuple[Conference, list[Agency], str]]) -> None:
    kinds = ["referral.received", "referral.decided", "action.assigned", "minutes.ready", "referral.received"]
    for start in range(0, EVENTS, 500):
        async with in_transaction() as conn:
            for n in range(start, min(start + 500, EVENTS)):
                conference, agencies, referral_id = made[n % CONFERENCES]
                kind = "agenda.published" if n % 50 == 0 else kinds[n % len(kinds)]
                about = {"referral_id": referral_id} if kind.startswith("referral.") else {}
                await emit(
                    kind,
                    conference_id=conference.id,
                    agency_id=agencies[1 + n % (AGENCIES_EACH - 1)].id,
                    conn=conn,
                    **about,
                )


async def tell_through_redis() -> float:
    await queue.stop()
    await queue.start()
    began = time.perf_counter()
    await queue.enqueue("notify_people")
    worker = Worker(
        functions=WorkerSettings.functions,
        redis_settings=queue.redis_settings(),
        job_serializer=queue.serialize,
        job_deserializer=queue.deserialize,
        burst=True,
        poll_delay=0.05,
        handle_signals=False,
    )
    await worker.async_run()
    await worker.close()
    elapsed = time.perf_counter() - began
    assert not await Event.filter(notified_at__isnull=True).exists(), "events left untold"
    return elapsed


async def baseline(notices: int, emails: int) -> float:
    """The same rows written by bulk inserts alone, in batches as the fan-out writes them."""
    users = await User.filter(role="member").limit(50).values_list("id", flat=True)
    event_ids = await Event.all().order_by("id").limit(notices).values_list("id", flat=True)
    began = time.perf_counter()
    for start in range(0, notices, 500):
        async with in_transaction() as conn:
            rows = [
                Notification(
                    user_id=users[i % len(users)],
                    kind=f"bench{i // len(event_ids)}",
                    day=uk_date(now()),
                    event_id=event_ids[i % len(event_ids)],
                )
                for i in range(start, min(start + 500, notices))
            ]
            await Notification.bulk_create(rows, batch_size=500, using_db=conn)
            mails = [
                fanout.email(users[i % len(users)], {"referral_received": 1})
                for i in range(start, min(start + 500, emails))
            ]
            if mails:
                await OutboxEmail.bulk_create(mails, batch_size=500, using_db=conn)
    return time.perf_counter() - began


async def main() -> None:
    config = settings.get()
    assert config.database_url.startswith("postgres"), "PostgreSQL: set MARAC_DATABASE_URL"
    assert config.redis_url, "Redis: set MARAC_REDIS_URL"
    await db.migrate()
    await db.init()
    try:
        made = await world()
        await fanout.fan_out()  # the referrals' own events, told before the measurement
        began = time.perf_counter()
        await write_events(made)
        written = time.perf_counter() - began
        elapsed = await tell_through_redis()
        notices = await Notification.filter(event__kind__in=list(kinds.NOTICE_OF)).count()
        emails = await OutboxEmail.filter(kind="notice").count()
        base = await baseline(notices, emails)
        print(f"machine: {os.cpu_count()} cores, CPython {platform.python_version()}")
        print(f"{EVENTS} events, {CONFERENCES * AGENCIES_EACH} agencies, {notices} notices, {emails} e-mails")
        print("| measurement | seconds |")
        print("|---|---|")
        print(f"| {EVENTS} events written (emit, 500 a transaction) | {written:.2f} |")
        print(f"| fan-out through Redis and a worker: every event told | {elapsed:.2f} |")
        print(f"| baseline: the same notices and e-mails bulk-inserted, nobody resolved | {base:.2f} |")
        print(f"target < {TARGET_S:.0f} s: {'met' if elapsed < TARGET_S else 'NOT met'}")
    finally:
        await queue.stop()
        await db.close()


if __name__ == "__main__":
    asyncio.run(main())
