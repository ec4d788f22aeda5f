"""Job functions: plain coroutines that take ids and call the domain.

The same functions run in the arq worker and, with no Redis configured, in-process;
a test calls them directly. Every task must be idempotent: arq delivers at least once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from marac.agencies import auth
from marac.jobs.models import Job

log = logging.getLogger("marac.jobs")


async def purge_expired_sessions() -> None:
    """Sessions past their timeouts and throttle records past their window are useless: delete them."""
    removed = await auth.purge_expired()
    log.info("purge_expired_sessions removed=%d", removed)


TASKS: dict[str, Callable[..., Awaitable[Any]]] = {
    "purge_expired_sessions": purge_expired_sessions,
}


async def run(name: str, job_id: str | None, **ids: str) -> None:
    """Run one task, keeping its Job row (what /api/v1/jobs/{id} reports) up to date."""
    if job_id:
        await Job.filter(id=job_id).update(status="running")
    try:
        await TASKS[name](**ids)
    except Exception as exc:
        log.error("job %s %s failed: %s", name, job_id, type(exc).__name__)
        if job_id:
            await Job.filter(id=job_id).update(status="failed", error=f"{type(exc).__name__}")
        raise
    if job_id:
        await Job.filter(id=job_id).update(status="done", progress=100)
