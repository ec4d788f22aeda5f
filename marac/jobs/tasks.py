"""Job functions: plain coroutines that take ids and call the domain.

The same functions run in the arq worker and, with no Redis configured, in-process;
a test calls them directly. Every task must be idempotent: arq delivers at least once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from marac.actions import reminders
from marac.agencies import auth
from marac.jobs.models import Job

log = logging.getLogger("marac.jobs")


async def purge_expired_sessions() -> None:
    """Sessions past their timeouts and throttle records past their window are useless: delete them."""
    removed = await auth.purge_expired()
    log.info("purge_expired_sessions removed=%d", removed)


async def render_agendas(meeting_id: str) -> None:
    """One research-list PDF per member agency of a published meeting. Idempotent: a
    document already stored for an agency is kept (delivery is at least once)."""
    from marac.documents import pool, store
    from marac.documents.models import Document
    from marac.meetings import agenda
    from marac.meetings.models import Meeting

    meeting = await Meeting.get(id=meeting_id).prefetch_related("conference")
    if meeting.status not in ("published", "held"):
        return
    cases = [vars(case) for case in await agenda.research_list(meeting)]
    for membership in await agenda.members(meeting):
        if await Document.exists(kind="agenda", meeting=meeting, agency_id=membership.agency_id, version=1):
            continue
        reference = store.new_reference("agenda", meeting.date)
        context = {
            "conference_name": meeting.conference.name, "meeting_date": meeting.date, "cut_off": meeting.cut_off,
            "venue": meeting.venue, "recipient": membership.agency.name, "version": 1,
            "reference": reference, "cases": cases,
        }
        pdf, pages = await pool.render("agenda.html", context, title="MARAC research list")
        await store.save("agenda", meeting.id, membership.agency_id, 1, pdf, pages, reference=reference)


async def send_reminders() -> None:
    """Today's (UK date) due-soon and overdue action reminders. Idempotent per day."""
    await reminders.send_reminders(auth.today())


TASKS: dict[str, Callable[..., Awaitable[Any]]] = {
    "purge_expired_sessions": purge_expired_sessions,
    "render_agendas": render_agendas,
    "send_reminders": send_reminders,
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
