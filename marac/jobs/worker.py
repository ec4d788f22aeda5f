"""The arq worker: `marac worker`, supervised.

arq 0.28's worker stops when it loses Redis (a restart, a failover). `run()` keeps one
process going: it opens the database and render processes once, runs an arq worker, and
when that worker loses Redis starts a new one with backoff, until SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import logging
import logging.config
import signal
from collections.abc import Sequence
from typing import Any

from arq import cron
from arq.cron import CronJob
from arq.typing import StartupShutdown, WorkerCoroutine
from arq.worker import Function, Worker, create_worker, func

from marac import db, logs, settings
from marac.documents import pool
from marac.governance.retention import RUN_AT as RETENTION_AT
from marac.jobs import queue, tasks

log = logging.getLogger("marac.worker")
RETRY_FIRST, RETRY_MAX = 1.0, 30.0  # seconds between attempts to reach Redis again


def _arq_function(name: str) -> Function:
    async def run(ctx: dict[str, Any], job_id: str | None = None, **ids: str) -> None:
        await queue.run(name, job_id, **ids)

    run.__qualname__ = name
    return func(run, name=name)


async def _hourly_purge(ctx: dict[str, Any]) -> None:
    await queue.run("purge_expired_sessions", None)


async def _daily_retention(ctx: dict[str, Any]) -> None:
    await queue.run("apply_retention", None)


async def _reconcile(ctx: dict[str, Any]) -> None:
    await queue.run("reconcile_renders", None)


async def _break_glass_sweep(ctx: dict[str, Any]) -> None:
    await queue.run("end_expired_break_glass", None)


async def _email_sweep(ctx: dict[str, Any]) -> None:
    await queue.run("send_email", None)


async def _notify_sweep(ctx: dict[str, Any]) -> None:
    await queue.run("notify_people", None)


async def _daily_events(ctx: dict[str, Any]) -> None:
    await queue.run("daily_events", None)


async def _daily_digests(ctx: dict[str, Any]) -> None:
    await queue.run("send_digests", None)


async def _webhook_sweep(ctx: dict[str, Any]) -> None:
    await queue.run("deliver_webhooks", None)


class WorkerSettings:
    # Typed as arq's settings protocol names them.
    functions: Sequence[WorkerCoroutine | Function] = [_arq_function(name) for name in tasks.TASKS]
    # arq reads cron times on this clock, not the container's: 07:00 is 07:00 in the UK,
    # summer and winter, whatever TZ the worker runs with. arq's unique cron job ids make
    # several workers enqueue each run once.
    timezone = queue.UK
    cron_jobs: Sequence[CronJob] | None = [
        cron(_hourly_purge, minute=7, run_at_startup=False),
        cron(_daily_retention, hour=RETENTION_AT.hour, minute=RETENTION_AT.minute, run_at_startup=False),
        # Every five minutes: documents whose job was lost are queued again.
        cron(_reconcile, minute=set(range(0, 60, 5)), run_at_startup=True),
        # Every five minutes: break-glass grants that ran out get their end recorded.
        cron(_break_glass_sweep, minute=set(range(2, 60, 5)), run_at_startup=False),
        # Every minute: e-mails in the outbox that failed or whose job was lost are tried again.
        cron(_email_sweep, run_at_startup=True),
        # Every minute: events whose kick was lost, or that a daily run emitted, are told.
        cron(_notify_sweep, run_at_startup=True),
        cron(_daily_events, hour=queue.EVENTS_AT.hour, minute=queue.EVENTS_AT.minute, run_at_startup=False),
        cron(_daily_digests, hour=queue.DIGEST_AT.hour, minute=queue.DIGEST_AT.minute, run_at_startup=False),
        # Every minute: new events to agency systems, and deliveries to try again.
        cron(_webhook_sweep, run_at_startup=True),
    ]
    job_serializer = staticmethod(queue.serialize)
    job_deserializer = staticmethod(queue.deserialize)
    max_tries = 3
    # Nothing to run when a worker starts or stops.
    on_startup: StartupShutdown | None = None
    on_shutdown: StartupShutdown | None = None


def run() -> int:
    """`marac worker`: exits 0 on SIGTERM or SIGINT, never because Redis went away."""
    logging.config.dictConfig(logs.config())
    asyncio.run(_supervise())
    return 0


async def _supervise() -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    config = settings.get()
    await db.init()
    delay = RETRY_FIRST
    try:
        while not stopping.is_set():
            worker = create_worker(
                WorkerSettings,
                redis_settings=queue.redis_settings(),
                handle_signals=False,
                job_timeout=config.job_timeout_seconds,
                max_jobs=config.worker_concurrency,
            )
            started = loop.time()
            main = asyncio.create_task(worker.async_run())
            stop = asyncio.create_task(stopping.wait())
            await asyncio.wait({main, stop}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if stopping.is_set():
                main.cancel()
                await asyncio.gather(main, return_exceptions=True)
                await _close(worker)
                break
            if loop.time() - started > RETRY_MAX:
                delay = RETRY_FIRST  # it had been working: a new outage starts from a short wait
            # The exception's type only: its text can carry the Redis address.
            error = None if main.cancelled() else main.exception()
            log.warning(
                "worker stopped (%s); starting it again in %.0f s", type(error).__name__ if error else "no error", delay
            )
            await _abandon(worker, stopping)
            try:
                await asyncio.wait_for(stopping.wait(), timeout=delay)
            except TimeoutError:
                pass
            delay = min(delay * 2, RETRY_MAX)
    finally:
        pool.shutdown()
        await db.close()


async def _close(worker: Worker) -> None:
    """A clean stop with Redis up: arq cancels running jobs (they are retried) and says goodbye."""
    try:
        await worker.close()
    except Exception as error:  # Redis may be gone too: nothing more to tell it
        log.warning("worker stopped without reaching Redis (%s)", type(error).__name__)


async def _abandon(worker: Worker, stopping: asyncio.Event) -> None:
    """Redis is gone: let running jobs finish their database work (what they could not
    report, the reconciler or arq's retry after the job timeout picks up) unless we are
    told to stop, then drop the connections."""
    running = list(worker.tasks.values())
    if running:
        finished = asyncio.gather(*running, return_exceptions=True)
        stop = asyncio.create_task(stopping.wait())
        either: set[asyncio.Future[Any]] = {finished, stop}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not finished.done():
            finished.cancel()  # SIGTERM meanwhile: the jobs are retried after their timeout
            await asyncio.gather(finished, return_exceptions=True)
    try:
        await worker.pool.aclose(close_connection_pool=True)
    except Exception:
        pass
