"""The only door the web layer uses to start background work.

With MARAC_REDIS_URL set, jobs go to arq workers through Redis, serialised as JSON and
carrying ids only (never personal data). Without it (the embedded default), the same
task functions run in-process on the event loop.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

from marac import settings
from marac.jobs import tasks
from marac.jobs.models import Job

_pool: ArqRedis | None = None
# In-process tasks are kept referenced here so the loop does not garbage-collect them mid-run.
_running: set[asyncio.Task[None]] = set()


def serialize(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def deserialize(data: bytes) -> dict[str, Any]:
    return json.loads(data)


def redis_settings() -> RedisSettings:
    url = settings.get().redis_url
    assert url, "redis_settings() needs MARAC_REDIS_URL"
    return RedisSettings.from_dsn(url)


async def start() -> None:
    global _pool
    if settings.get().redis_url and _pool is None:
        _pool = await create_pool(redis_settings(), job_serializer=serialize, job_deserializer=deserialize)


async def stop() -> None:
    global _pool
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
        await _pool.enqueue_job(name, job.id, _job_id=f"{name}:{job.id}", **ids)
    else:
        task = asyncio.create_task(tasks.run(name, job.id, **ids))
        _running.add(task)
        task.add_done_callback(_running.discard)
    return job


async def drain() -> None:
    """Wait for in-process jobs (tests and the CLI)."""
    while _running:
        await asyncio.gather(*list(_running), return_exceptions=True)
