"""Kill the worker in the middle of rendering minutes: every document still appears, once,
within the job timeout plus 30 s, with nobody queueing anything again."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from datetime import timedelta

import pytest

from marac.actions import service as actions
from marac.agencies.access import viewer_for
from marac.documents.models import Document
from marac.jobs import queue, tasks
from marac.meetings.models import Meeting
from marac.minutes import service as minutes
from marac.minutes.models import MinutesRecipient, MinutesVersion
from tests.builders import close, published_meeting
from tests.test_jobs import REDIS_URL, needs_redis, queue_mode

pytestmark = [pytest.mark.fault, needs_redis]
# Short, so the test is: arq takes a job whose worker died back after its timeout (+10 s).
# Longer than one whole render of these minutes, or the second try would time out too.
JOB_TIMEOUT = 20


async def start_worker() -> asyncio.subprocess.Process:
    # Its own process group: killing it takes the render processes down with it.
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "marac.cli",
        "worker",
        env={**os.environ, "MARAC_REDIS_URL": REDIS_URL, "MARAC_JOB_TIMEOUT": str(JOB_TIMEOUT)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )


async def wait_for(condition, seconds: float) -> bool:
    for _ in range(int(seconds * 20)):
        if await condition():
            return True
        await asyncio.sleep(0.05)
    return False


async def long_minutes(personas) -> tuple[MinutesVersion, Meeting, int]:
    """Approved minutes long enough for a kill to land mid-render, their render requested
    (the outbox rows written); returns the version, the meeting and how many recipients."""
    world = await published_meeting(personas)
    chair = await viewer_for(personas["chair"].user)
    for n in range(150):
        text = f"Note {n}: " + "risk discussed and agreed " * 20
        await actions.add_note(chair, world.meeting, world.case_id, text, "all", [])
    meeting = (await close(personas, world)).meeting
    version = await minutes.approve(chair, meeting)
    await minutes.request_render(await viewer_for(personas["coordinator"].user), meeting)
    return version, meeting, await MinutesRecipient.filter(minutes=version).count()


async def test_a_worker_killed_mid_render_loses_and_duplicates_nothing(personas):
    version, meeting, total = await long_minutes(personas)

    async def some_done() -> bool:
        return await MinutesRecipient.filter(minutes=version, status="done").count() >= 1

    async def all_done() -> bool:
        return await MinutesRecipient.filter(minutes=version, status="done").count() == total

    async with queue_mode(REDIS_URL):
        worker = await start_worker()
        try:
            await queue.enqueue("render_minutes", minutes_id=version.id)
            assert await wait_for(some_done, 60), "the worker rendered nothing"
            assert not await all_done(), "rendering finished before the kill: make the minutes longer"
        finally:
            os.killpg(worker.pid, signal.SIGKILL)
            await worker.wait()
        killed_at = time.monotonic()
        # The queue thinks the job is still running; the outbox knows what is missing.
        assert version.id in await minutes.pending_versions(older_than=timedelta(0))
        worker = await start_worker()
        try:
            # Nothing queued again by hand: arq's own retry once the job timeout has run out.
            assert await wait_for(all_done, JOB_TIMEOUT + 30), "not every document within the job timeout plus 30 s"
            assert time.monotonic() - killed_at <= JOB_TIMEOUT + 30
        finally:
            worker.send_signal(signal.SIGTERM)
            await asyncio.wait_for(worker.wait(), timeout=30)
    per_agency = await Document.filter(kind="minutes", meeting=meeting, version=version.version).values_list(
        "agency_id", flat=True
    )
    assert len(per_agency) == total and len(set(per_agency)) == total  # each exactly once
    await tasks.render_minutes(version.id)  # and a late duplicate still adds nothing
    assert await Document.filter(kind="minutes", meeting=meeting).count() == total
