"""The arq worker: `marac worker`. Holds the Tortoise context it opened and closes that one."""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.worker import func

from marac import db
from marac.documents import pool
from marac.governance.retention import RUN_AT as RETENTION_AT
from marac.jobs import queue, tasks


async def startup(ctx: dict[str, Any]) -> None:
    ctx["tortoise"] = await db.init()


async def shutdown(ctx: dict[str, Any]) -> None:
    pool.shutdown()
    await db.close()


def _arq_function(name: str):  # noqa: ANN202
    async def run(ctx: dict[str, Any], job_id: str | None = None, **ids: str) -> None:
        await tasks.run(name, job_id, **ids)

    run.__qualname__ = name
    return func(run, name=name)


async def _hourly_purge(ctx: dict[str, Any]) -> None:
    await tasks.run("purge_expired_sessions", None)


async def _daily_reminders(ctx: dict[str, Any]) -> None:
    await tasks.run("send_reminders", None)


async def _daily_retention(ctx: dict[str, Any]) -> None:
    await tasks.run("apply_retention", None)


async def _reconcile(ctx: dict[str, Any]) -> None:
    await tasks.run("reconcile_minutes", None)


async def _break_glass_sweep(ctx: dict[str, Any]) -> None:
    await tasks.run("end_expired_break_glass", None)


class WorkerSettings:
    functions = [_arq_function(name) for name in tasks.TASKS]
    # arq reads cron times on this clock, not the container's: 07:00 is 07:00 in the UK,
    # summer and winter, whatever TZ the worker runs with. arq's unique cron job ids make
    # several workers enqueue each run once.
    timezone = queue.UK
    cron_jobs = [
        cron(_hourly_purge, minute=7, run_at_startup=False),
        cron(_daily_reminders, hour=queue.REMINDERS_AT.hour, minute=queue.REMINDERS_AT.minute, run_at_startup=False),
        cron(_daily_retention, hour=RETENTION_AT.hour, minute=RETENTION_AT.minute, run_at_startup=False),
        # Every five minutes: documents whose job was lost are queued again.
        cron(_reconcile, minute=set(range(0, 60, 5)), run_at_startup=True),
        # Every five minutes: break-glass grants that ran out get their end recorded.
        cron(_break_glass_sweep, minute=set(range(2, 60, 5)), run_at_startup=False),
    ]
    on_startup = startup
    on_shutdown = shutdown
    job_serializer = staticmethod(queue.serialize)
    job_deserializer = staticmethod(queue.deserialize)
    max_tries = 3

    @staticmethod
    def redis_settings_factory():  # noqa: ANN205
        return queue.redis_settings()
