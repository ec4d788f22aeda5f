"""Use cases that start background work, each written once: the pages and the API call
these, never the domain service and the queue one after the other themselves.

The access checks happen in the domain services they call; here only the job is added.
Job payloads carry ids only.
"""

from __future__ import annotations

from typing import Any

from marac import clock
from marac.actions import preparation
from marac.agencies import access, auth
from marac.agencies import service as directory
from marac.agencies.access import Viewer
from marac.agencies.models import Conference, User
from marac.documents.models import Document
from marac.errors import NotFound, Throttled
from marac.jobs import queue
from marac.jobs.models import Job
from marac.meetings import agenda
from marac.meetings.models import ChairPack, Meeting, Research
from marac.minutes import service as minutes
from marac.minutes import transfer
from marac.minutes.models import TransferPackage
from marac.referrals import break_glass, history
from marac.referrals.models import HistoryImport
from marac.reports.figures import Quarter


async def publish_agenda(viewer: Viewer, meeting: Meeting) -> dict[str, Any]:
    """Freeze the agenda, release the research list and queue each agency's research-list PDF."""
    snapshot = await agenda.publish(viewer, meeting)
    await queue.enqueue("render_agendas", requested_by=viewer.user_id, meeting_id=meeting.id)
    return snapshot


async def add_case(viewer: Viewer, meeting: Meeting, referral_id: str) -> None:
    """Add a case to the agenda; an urgent one after publication re-issues the research list: queue it."""
    await agenda.add_case(viewer, meeting, referral_id)
    if meeting.status == "published":
        await queue.enqueue("render_agendas", requested_by=viewer.user_id, meeting_id=meeting.id)


async def record_research(
    viewer: Viewer,
    meeting: Meeting,
    case_id: str,
    known: bool,
    summary: str,
    contact: agenda.VictimContact | None = None,
) -> Research:
    """An agency's research (and the advocate's contact with the victim); a chair's pack already
    made for the meeting is laid out again with it, in the background."""
    research = await agenda.record_research(viewer, meeting, case_id, known, summary, contact)
    if await ChairPack.exists(meeting=meeting):
        await _queue_pack(meeting, None)
    return research


async def _queue_pack(meeting: Meeting, requested_by: str | None) -> Job:
    """A job laying out the meeting's pack from its content as it is when the job runs. One still
    queued already will (for the same reader, or for no one: research coming in), so no second is added."""
    for pending in await ChairPack.filter(meeting=meeting, status="pending").order_by("-version"):
        job = await Job.get_or_none(id=pending.job_id) if pending.job_id else None
        if job is None:
            continue  # being queued by another request this moment
        if job.status in ("done", "failed"):
            await ChairPack.filter(id=pending.id, status="pending").delete()  # its job ended without it
        elif job.requested_by == requested_by and (job.status == "queued" or requested_by is not None):
            return job
    pack = await preparation.new_pack(meeting)
    job = await queue.enqueue("render_chair_pack", requested_by=requested_by, pack_id=pack.id)
    await ChairPack.filter(id=pack.id, job_id__isnull=True).update(job_id=job.id)
    return job


async def chair_pack(viewer: Viewer, meeting_id: str) -> bytes | Job:
    """The chair's pack with the reader's footer when the stored one shows the meeting as it is
    now; otherwise the job laying it out (the reader asks again when it is done)."""
    meeting = await preparation.pack_meeting(viewer, meeting_id)
    ready, _pending = await preparation.current_pack(meeting)
    if ready is not None:
        return await preparation.pack_for(viewer, ready, meeting)
    return await _queue_pack(meeting, viewer.user_id)


async def pack_state(meeting: Meeting, found: dict[str, Any] | None = None) -> dict[str, Any]:
    """For the preparation page: the current pack if stored, else the job laying one out. `found`: the
    content the page has just read (preparation.read_preparation)."""
    ready, pending = await preparation.current_pack(meeting, found)
    job = await Job.get_or_none(id=pending.job_id) if pending is not None and pending.job_id else None
    live = job is not None and job.status in ("queued", "running")
    return {"ready": ready, "job": job if live else None}


async def render_minutes(viewer: Viewer, meeting: Meeting) -> Job:
    """Queue one PDF per recipient agency of the current version of the minutes."""
    version = await minutes.request_render(viewer, meeting)
    return await queue.enqueue("render_minutes", requested_by=viewer.user_id, minutes_id=version.id)


async def minutes_document(viewer: Viewer, meeting_id: str, version: int | None) -> Document:
    """minutes.document_for, queueing the render when the agency's copy must be made again for
    a narrower view (its tier was lowered); that answer is 404 like any copy not rendered yet."""
    try:
        return await minutes.document_for(viewer, meeting_id, version)
    except minutes.Reissue as waiting:
        await queue.enqueue("render_minutes", requested_by=viewer.user_id, minutes_id=waiting.minutes_id)
        raise


async def _queue_transfer(package: TransferPackage, requested_by: str) -> Job:
    job = await queue.enqueue("render_transfer_package", requested_by=requested_by, package_id=package.id)
    await TransferPackage.filter(id=package.id, status="pending").update(job_id=job.id)
    return job


async def transfer_out(viewer: Viewer, referral_id: str, area: object, recipient: object) -> Job:
    """Send a heard case to another area's MARAC: marked transferred out, its package laid out by a job."""
    package = await transfer.send(viewer, referral_id, area, recipient, clock.today())
    return await _queue_transfer(package, viewer.user_id)


async def transfer_package(viewer: Viewer, referral_id: str) -> bytes | Job:
    """The case's transfer package for its coordinator once stored; until then the job laying it out
    (queued again when the last one ended without it, or was another reader's)."""
    package = await transfer.package_of(viewer, referral_id)
    if package.status == "ready":
        return await transfer.download(viewer, package)
    job = await Job.get_or_none(id=package.job_id) if package.job_id else None
    if job is not None and job.status in ("queued", "running") and job.requested_by == viewer.user_id:
        return job
    return await _queue_transfer(package, viewer.user_id)


async def add_user(viewer: Viewer, **details: Any) -> directory.NewUser:
    """A new account; its set-up link (and the coordinators' notice) leave from the outbox."""
    created = await directory.add_user(viewer, **details)
    await queue.enqueue("send_email", requested_by=viewer.user_id)
    return created


async def reset_sign_in(viewer: Viewer, user: User) -> directory.Reset:
    """Both factors cleared and a new set-up link e-mailed (from the outbox)."""
    reset = await directory.reset_sign_in(viewer, user)
    await queue.enqueue("send_email", requested_by=viewer.user_id)
    return reset


async def set_user_conferences(viewer: Viewer, user: User, slugs: list[str], roles: dict[str, str]) -> User:
    """A user's conferences and roles there changed; the coordinators' notices leave from the outbox."""
    changed = await directory.set_conferences(viewer, user, slugs, roles)
    await queue.enqueue("send_email", requested_by=viewer.user_id)
    return changed


async def open_case(viewer: Viewer, user: User, **details: str) -> break_glass.Opened:
    """Break-glass access to one case; the conference's coordinators are told by a job."""
    opened = await break_glass.start(viewer, user, **details)
    if opened.grant is not None:
        await queue.enqueue("notify_break_glass", grant_id=opened.grant.id)
    return opened


async def render_quarterly_report(viewer: Viewer, conference: Conference, quarter: Quarter) -> Job:
    """The steering-group PDF of a conference's quarter, rendered by a job."""
    access.require_report_render(viewer, conference.id)
    return await queue.enqueue(
        "render_quarterly_report", requested_by=viewer.user_id, conference_id=conference.id, quarter=str(quarter)
    )


async def tell_of_lock(exc: Throttled) -> None:
    """A second-factor try that has just locked the account: the user and the coordinators
    were told in the app and their e-mails wait in the outbox; send them now rather than at
    the outbox's next round."""
    if isinstance(exc, auth.AccountLocked) and exc.just_locked:
        await queue.enqueue("send_email")


async def find_job(viewer: Viewer, job_id: str) -> Job:
    """A background job, for whoever asked for it; 404 for anyone else, as for none."""
    job = await Job.filter(access.job_filter(viewer), id=job_id).first()
    if job is None:
        raise NotFound("Job not found")
    return job


async def import_history(viewer: Viewer, slug: str, content: bytes) -> HistoryImport:
    """The coordinator's history file: kept (sealed) and loaded by a job; `marac import history`
    calls history.start and history.run itself. Refusals of the whole file come at once."""
    conference = await history.conference_for(viewer, slug)
    upload = await history.start(viewer, conference, content)
    job = await queue.enqueue("import_history", requested_by=viewer.user_id, import_id=upload.id)
    await HistoryImport.filter(id=upload.id).update(job_id=job.id)
    return upload
