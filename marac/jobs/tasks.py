"""Job functions: plain coroutines that take ids and call the domain.

The same functions run in the arq worker and, with no Redis configured, in-process;
a test calls them directly. Every task must be idempotent: arq delivers at least once.
TASKS is a plain registry that marac.jobs.queue reads; this module never imports the queue.
A task that queues follow-up work takes an ``enqueue`` argument, which the queue passes in.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from marac import clock, metrics
from marac.agencies import auth
from marac.errors import JobFailure
from marac.jobs.models import Job

log = logging.getLogger("marac.jobs")
Enqueue = Callable[..., Awaitable[Any]]  # marac.jobs.queue.enqueue's shape: (name, **ids) -> Job


async def purge_expired_sessions() -> None:
    """Sessions past their timeouts and throttle records past their window are useless: delete them."""
    removed = await auth.purge_expired()
    log.info("purge_expired_sessions removed=%d", removed)


async def render_agendas(meeting_id: str) -> None:
    """One research-list PDF per member agency of a published meeting (marac/meetings/render.py)."""
    from marac.meetings.render import render_research_lists

    await render_research_lists(meeting_id)


async def apply_retention() -> None:
    """The daily retention run (marac/governance/retention.py): list, withdraw, anonymise.
    Idempotent: a second run on the same day finds nothing more to do."""
    from marac.governance import retention

    await retention.run(clock.today())


async def render_minutes(minutes_id: str, job_id: str | None = None) -> None:
    """Render every pending recipient of one minutes version (marac/minutes/render.py), reporting progress."""
    from marac.minutes.render import render_pending

    async def progress(percent: int) -> None:
        if job_id:
            await Job.filter(id=job_id).update(progress=percent)

    await render_pending(minutes_id, progress)


async def render_chair_pack(pack_id: str, job_id: str | None = None) -> None:
    """Lay out one chair's pack (marac/actions/preparation.py), reporting progress. Idempotent:
    a pack laid out already, or content a stored pack already shows, is not laid out again."""
    from marac.actions import preparation

    async def progress(percent: int) -> None:
        if job_id:
            await Job.filter(id=job_id).update(progress=percent)

    await preparation.lay_out(pack_id, job_id, progress)


async def render_transfer_package(package_id: str, job_id: str | None = None) -> None:
    """Lay out one case's transfer package (marac/minutes/transfer.py), reporting progress. Idempotent:
    a package already stored is not laid out again."""
    from marac.minutes import transfer

    async def progress(percent: int) -> None:
        if job_id:
            await Job.filter(id=job_id).update(progress=percent)

    await transfer.lay_out(package_id, job_id, progress)


async def render_quarterly_report(conference_id: str, quarter: str, job_id: str | None = None) -> None:
    """The steering-group PDF of one conference's quarter (small numbers suppressed).
    Idempotent: a second delivery finds the document stored under the same job."""
    from marac.reports import service as reports

    if job_id is None:
        raise ValueError("render_quarterly_report keeps its document under its job: enqueue it")
    job = await Job.get(id=job_id)
    await reports.render(conference_id, quarter, job_id, job.requested_by, clock.today())


async def import_history(import_id: str, job_id: str | None = None) -> None:
    """Load one history file's earlier cases (marac/referrals/history.py), reporting progress.
    Idempotent: an import that has ended is left as it is."""
    from marac.referrals import history

    async def progress(percent: int) -> None:
        if job_id:
            await Job.filter(id=job_id).update(progress=percent)

    await history.run(import_id, progress)


async def reconcile_renders(enqueue: Enqueue) -> None:
    """Queue again every minutes version whose recipients wait and every published meeting
    whose research lists are not all stored: a lost message, a killed worker or a failed
    render (a full or unwritable store, a render past its time) delays a document, never loses it."""
    from marac.meetings.agenda import pending_research_lists
    from marac.minutes.service import pending_versions

    for minutes_id in await pending_versions():
        await enqueue("render_minutes", minutes_id=minutes_id)
    for meeting_id in await pending_research_lists():
        await enqueue("render_agendas", meeting_id=meeting_id)


async def notify_break_glass(grant_id: str) -> None:
    """E-mail the coordinators told about one break-glass grant. Idempotent: each
    notification is claimed before its e-mail is sent."""
    from marac.referrals import break_glass

    sent = await break_glass.email_coordinators(grant_id)
    log.info("notify_break_glass emails=%d", sent)


async def send_email() -> None:
    """Send what waits in the e-mail outbox (marac/notify/outbox.py). Idempotent: each message
    is claimed before it is sent and marked once it has gone."""
    from marac.notify import outbox

    sent = await outbox.send_pending()
    log.info("send_email sent=%d", sent)


async def notify_people(enqueue: Enqueue) -> None:
    """Tell people of the events not yet told (marac/alerts/fanout.py), then send the e-mails that are due.
    Idempotent: each batch of events is claimed and marked in one transaction."""
    from marac.alerts import fanout

    told = await fanout.fan_out()
    log.info("notify_people events=%d notices=%d emails=%d", told["events"], told["notices"], told["emails"])
    if told["emails"]:
        await enqueue("send_email")


async def send_digests(enqueue: Enqueue) -> None:
    """Today's digest e-mails (marac/alerts/daily.py), then send them. Idempotent: each notice is claimed once."""
    from marac.alerts import daily

    sent = await daily.put_digests()
    log.info("send_digests emails=%d", sent)
    if sent:
        await enqueue("send_email")


async def daily_events(enqueue: Enqueue) -> None:
    """The day's scheduled events (minutes not circulated in time, actions due within 3 days or overdue), then
    told. Idempotent: a meeting's lateness once, an action's reminder once a day."""
    from marac.alerts import daily

    emitted = await daily.emit_scheduled(clock.today())
    log.info("daily_events events=%d", emitted)
    if emitted:
        await enqueue("notify_people")


async def end_expired_break_glass() -> None:
    """Record the end of break-glass grants that ran out unnoticed (access already stopped at expiry)."""
    from marac.referrals import break_glass

    ended = await break_glass.end_expired()
    log.info("end_expired_break_glass ended=%d", ended)


async def deliver_webhooks() -> None:
    """New events into webhook deliveries, then the deliveries due sent (marac/webhooks/delivery.py).
    Idempotent: each event is fanned out once and each delivery claimed before it is sent."""
    from marac.webhooks import delivery

    made, delivered = await delivery.run()
    log.info("deliver_webhooks made=%d delivered=%d", made, delivered)


TASKS: dict[str, Callable[..., Awaitable[Any]]] = {
    "notify_break_glass": notify_break_glass,
    "end_expired_break_glass": end_expired_break_glass,
    "send_email": send_email,
    "notify_people": notify_people,
    "send_digests": send_digests,
    "daily_events": daily_events,
    "deliver_webhooks": deliver_webhooks,
    "render_minutes": render_minutes,
    "render_chair_pack": render_chair_pack,
    "render_transfer_package": render_transfer_package,
    "render_quarterly_report": render_quarterly_report,
    "import_history": import_history,
    "reconcile_renders": reconcile_renders,
    "purge_expired_sessions": purge_expired_sessions,
    "render_agendas": render_agendas,
    "apply_retention": apply_retention,
}


def describe(exc: BaseException) -> str:
    """What the job page says about a failure: a JobFailure's own words, else only the
    exception's type (its text may hold personal data). Renders run in task groups, so the
    cause may sit inside an ExceptionGroup."""
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return str(exc) if isinstance(exc, JobFailure) else type(exc).__name__


async def run(name: str, job_id: str | None, *, enqueue: Enqueue | None = None, **ids: str) -> None:
    """Run one task, keeping its Job row (what /api/v1/jobs/{id} reports) up to date."""
    if job_id:
        await Job.filter(id=job_id).update(status="running")
    task = TASKS[name]
    arguments: dict[str, Any] = dict(ids)
    parameters = inspect.signature(task).parameters
    if "job_id" in parameters:
        arguments["job_id"] = job_id  # tasks that report progress take it
    if "enqueue" in parameters:
        if enqueue is None:
            raise ValueError(f"task {name} queues follow-up work: run it through marac.jobs.queue.run")
        arguments["enqueue"] = enqueue
    started = time.perf_counter()
    try:
        await task(**arguments)
    except Exception as exc:
        metrics.JOB_SECONDS.labels(name, "failed").observe(time.perf_counter() - started)
        error = describe(exc)
        log.error("job %s %s failed: %s", name, job_id, error)
        if job_id:
            await Job.filter(id=job_id).update(status="failed", error=error[:500])
        raise
    metrics.JOB_SECONDS.labels(name, "done").observe(time.perf_counter() - started)
    if job_id:
        await Job.filter(id=job_id).update(status="done", progress=100)
