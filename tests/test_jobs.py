"""Background jobs: the same task functions in-process (embedded default) and on arq workers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import timedelta

import pytest
from arq import Worker
from redis.asyncio import Redis

from marac import clock
from marac.agencies import auth
from marac.agencies.models import Session
from marac.jobs import queue
from marac.jobs.models import Job
from marac.jobs.worker import WorkerSettings
from tests.flows import queue_mode

REDIS_URL = os.environ.get("MARAC_TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="MARAC_TEST_REDIS_URL not set (scripts/test sets it)")


async def _expired_session(persona) -> None:
    await auth.start_session(persona.user, mfa_passed=True)
    await Session.filter(user_id=persona.user.id).update(last_seen_at=clock.now() - timedelta(hours=1))


async def test_without_redis_jobs_run_in_process(personas):
    await _expired_session(personas["police"])
    async with queue_mode(None):
        job = await queue.enqueue("purge_expired_sessions", requested_by=personas["coordinator"].user.id)
        await queue.drain()
    assert (await Job.get(id=job.id)).status == "done"
    assert not await Session.filter(user_id=personas["police"].user.id).exists()


async def test_a_caller_sees_only_the_jobs_they_asked_for(client, personas):
    async with queue_mode(None):
        job = await queue.enqueue("purge_expired_sessions", requested_by=personas["coordinator"].user.id)
        await queue.drain()
    mine = await client.get(f"/api/v1/jobs/{job.id}", headers=personas["coordinator"].bearer)
    assert mine.status_code == 200 and mine.json()["status"] == "done" and mine.json()["progress"] == 100
    assert (await client.get(f"/api/v1/jobs/{job.id}", headers=personas["chair"].bearer)).status_code == 404


@needs_redis
async def test_with_redis_a_worker_runs_the_job_from_a_json_payload_of_ids(personas):
    await _expired_session(personas["police"])
    async with queue_mode(REDIS_URL):
        job = await queue.enqueue("purge_expired_sessions", requested_by=personas["coordinator"].user.id)
        redis = Redis.from_url(REDIS_URL)
        raw = await redis.get(f"arq:job:purge_expired_sessions:{job.id}")
        await redis.aclose()
        payload = json.loads(raw)  # JSON, not pickle
        assert payload["f"] == "purge_expired_sessions" and payload["a"] == [job.id] and payload["k"] == {}
        worker = Worker(
            functions=WorkerSettings.functions,
            redis_settings=queue.redis_settings(),
            burst=True,
            job_serializer=queue.serialize,
            job_deserializer=queue.deserialize,
            poll_delay=0.05,
        )
        await worker.main()
        await worker.close()
    assert (await Job.get(id=job.id)).status == "done"
    assert not await Session.filter(user_id=personas["police"].user.id).exists()


@needs_redis
async def test_the_worker_process_runs_jobs_and_stops_on_sigterm(personas):
    async with queue_mode(REDIS_URL):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "marac.cli",
            "worker",
            env={**os.environ, "MARAC_REDIS_URL": REDIS_URL},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            job = await queue.enqueue("purge_expired_sessions", requested_by=personas["coordinator"].user.id)
            for _ in range(200):
                if (await Job.get(id=job.id)).status == "done":
                    break
                await asyncio.sleep(0.1)
            assert (await Job.get(id=job.id)).status == "done"
        finally:
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), timeout=20)
    assert code == 0
