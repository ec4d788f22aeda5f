"""The only door the web layer uses to start background work.

With MARAC_REDIS_URL set, jobs go to arq workers through Redis, serialised as JSON and
carrying ids only (never personal data). Without it (the embedded default), the same
task functions run in-process on the event loop, and small timers here run the daily
jobs (scheduled events such as the action reminders, digests, retention), the break-glass
sweep, the e-mail outbox and the render reconciler that the arq worker's cron runs otherwise.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

from marac import i18n, settings
from marac.governance.retention import RUN_AT as RETENTION_AT
from marac.jobs import tasks
from marac.jobs.models import Job

UK = ZoneInfo("Europe/London")
SWEEP_EVERY = timedelta(minutes=5)  # break-glass expiries no request has noticed yet
EMAIL_EVERY = timedelta(minutes=1)  # e-mails to try again (the outbox)
NOTIFY_EVERY = timedelta(minutes=1)  # events no request's kick told (a lost kick, a scheduled event)
EVENTS_AT = time(6, 45)  # UK time: the day's scheduled events (late minutes, action reminders), before the digest
DIGEST_AT = time(7, 0)  # UK time: each user's daily digest
WEBHOOKS_EVERY = timedelta(minutes=1)  # events not yet told to agency systems, and deliveries to try again
# What runs once a day, at what UK time, in both modes (the worker's cron or the timer here).
DAILY = (
    (RETENTION_AT, "apply_retention"),
    (EVENTS_AT, "daily_events"),
    (DIGEST_AT, "send_digests"),
)

_pool: ArqRedis | None = None
# In-process tasks are kept referenced here so the loop does not garbage-collect them mid-run.
_running: set[asyncio.Task[None]] = set()
_timers: list[asyncio.Task[None]] = []


def serialize(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def deserialize(data: bytes) -> dict[str, Any]:
    return json.loads(data)


def redis_settings() -> RedisSettings:
    url = settings.get().redis_url
    assert url, "redis_settings() needs MARAC_REDIS_URL"
    return RedisSettings.from_dsn(url)


def next_run(at: time, now: datetime) -> datetime:
    """The next `at` on the UK clock after `now` (an aware datetime), in UTC."""
    local = now.astimezone(UK)
    target = datetime.combine(local.date(), at, tzinfo=UK)
    if target <= local:
        target = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=UK)
    return target.astimezone(UTC)


async def _timer(name: str, next_at: Callable[[datetime], datetime]) -> None:
    """Run task `name` at each next_at(now), for ever (the in-process stand-in for arq's cron)."""
    while True:
        target = next_at(datetime.now(UTC))
        # Re-checked on waking: a sleep can end early against the wall clock (suspend,
        # clock changes), and an early run would run twice.
        while (wait := (target - datetime.now(UTC)).total_seconds()) > 0:
            await asyncio.sleep(wait)
        try:
            await run(name, None)
        except Exception:
            pass


async def start() -> None:
    global _pool
    config = settings.get()
    if config.redis_url and _pool is None:
        _pool = await create_pool(redis_settings(), job_serializer=serialize, job_deserializer=deserialize)
    # With Redis the worker's cron runs the daily jobs and the sweep; tests call the tasks directly.
    if not config.redis_url and config.env != "test" and not _timers:
        _timers.extend(asyncio.create_task(_timer(name, partial(next_run, at))) for at, name in DAILY)
        _timers.append(asyncio.create_task(_timer("end_expired_break_glass", lambda now: now + SWEEP_EVERY)))
        _timers.append(asyncio.create_task(_timer("send_email", lambda now: now + EMAIL_EVERY)))
        _timers.append(asyncio.create_task(_timer("notify_people", lambda now: now + NOTIFY_EVERY)))
        _timers.append(asyncio.create_task(_timer("deliver_webhooks", lambda now: now + WEBHOOKS_EVERY)))
        # Documents whose render failed (minutes, research lists) are tried again, as the worker's cron does.
        _timers.append(asyncio.create_task(_timer("reconcile_renders", lambda now: now + SWEEP_EVERY)))


async def stop() -> None:
    global _pool
    for timer in _timers:
        timer.cancel()
    await asyncio.gather(*_timers, return_exceptions=True)
    _timers.clear()
    if _running:
        await asyncio.gather(*_running, return_exceptions=True)
    if _pool is not None:
        await _pool.aclose()
        _pool = None


async def ping() -> bool:
    if _pool is None:
        return True
    return bool(await _pool.ping())


async def enqueue(name: str, *, requested_by: str | None = None, **ids: str) -> Job:
    if name not in tasks.TASKS:
        raise ValueError(f"unknown task {name}")
    job = await Job.create(name=name, requested_by=requested_by)
    if _pool is not None:
        # The job id is in arq's id: a re-delivery of the same request is not a second job.
        arguments: dict[str, Any] = ids  # the task's own; arq's options (`_job_id` ...) start with "_"
        await _pool.enqueue_job(name, job.id, _job_id=f"{name}:{job.id}", **arguments)
    else:
        # A task copies the request's context: it starts in the default language, as a worker's job does.
        with i18n.use(i18n.DEFAULT):
            task = asyncio.create_task(run(name, job.id, **ids))
        _running.add(task)
        task.add_done_callback(_running.discard)
    return job


async def run(name: str, job_id: str | None, **ids: str) -> None:
    """Run one task here (in-process or in the worker), able to queue follow-up jobs."""
    await tasks.run(name, job_id, enqueue=enqueue, **ids)


async def drain() -> None:
    """Wait for in-process jobs (tests and the CLI)."""
    while _running:
        await asyncio.gather(*list(_running), return_exceptions=True)
