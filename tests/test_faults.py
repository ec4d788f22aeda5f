"""Fault tests on loopback, with real servers killed by their pid: Redis (AOF on) under a
supervised worker, PostgreSQL under a running web process, and a document store that runs
out of space. (Killing the worker itself mid-render: test_minutes_fault.py.)

Each test starts the servers it kills in a temp directory and stops them, whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import inspect
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from marac import settings
from marac.agencies.access import viewer_for
from marac.clock import now
from marac.documents import store
from marac.documents.models import Document
from marac.jobs import queue
from marac.jobs.models import Job
from marac.minutes import service as minutes
from marac.minutes.models import MinutesRecipient
from marac.web import csrf
from marac.web.errors import UNAVAILABLE_MESSAGE
from tests.builders import held_meeting_with_markers
from tests.conftest import session_cookie_for
from tests.flows import page_post, queue_mode
from tests.test_minutes_fault import long_minutes

pytestmark = pytest.mark.fault
ROOT = Path(__file__).resolve().parent.parent  # subprocesses import this checkout's marac and tests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_for(condition: Callable[[], bool | Awaitable[bool]], seconds: float) -> bool:
    """Whether `condition` (a check, or a coroutine function) holds within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result or time.monotonic() > deadline:
            return bool(result)
        await asyncio.sleep(0.1)


def kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


# --- Redis -----------------------------------------------------------------------------------


class RedisServer:
    """redis-server with the append-only file on (as in production), in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.port, self.password = directory, free_port(), "fault-test"
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--requirepass",
                self.password,
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
                "--dir",
                str(self.directory),
                "--logfile",
                str(self.directory / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        async def up() -> bool:
            redis = Redis.from_url(self.url)
            try:
                return bool(await redis.ping())
            except Exception:
                return False
            finally:
                await redis.aclose()

        assert await wait_for(up, 10), "redis-server did not start"

    def kill(self) -> None:
        if self.process is not None:
            kill(self.process.pid)
            self.process.wait()


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path)
    yield server
    server.kill()


async def test_redis_killed_with_jobs_queued_the_worker_reconnects_and_every_job_finishes(personas, redis_server):
    version, meeting, total = await long_minutes(personas)
    await redis_server.start()
    async with queue_mode(redis_server.url):
        # One job at a time: the render runs while the other jobs wait in Redis.
        worker = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "marac.cli",
            "worker",
            start_new_session=True,
            cwd=ROOT,
            env={**os.environ, "MARAC_REDIS_URL": redis_server.url, "MARAC_WORKER_CONCURRENCY": "1"},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            await queue.enqueue("render_minutes", minutes_id=version.id)
            waiting = [await queue.enqueue("purge_expired_sessions") for _ in range(3)]

            async def rendering() -> bool:
                return await MinutesRecipient.filter(minutes=version, status="done").exists()

            assert await wait_for(rendering, 60), "the worker rendered nothing"
            # The render is under way and jobs still wait in Redis (one may already have run:
            # faster database calls sometimes finish a recipient and a purge before this check).
            assert "queued" in {job.status for job in await Job.filter(id__in=[j.id for j in waiting])}
            await asyncio.sleep(1.5)  # past appendfsync everysec: what was acknowledged is on disk
            redis_server.kill()

            await asyncio.sleep(3)
            assert worker.returncode is None, "the worker exited when Redis went away"
            # Rows left pending now look old enough to the reconciler the new worker runs at start.
            await MinutesRecipient.filter(minutes=version, status="pending").update(
                created_at=now() - timedelta(minutes=10)
            )
            await redis_server.start()  # the same directory: the append-only file is read back

            async def finished() -> bool:
                jobs_done = await Job.filter(id__in=[j.id for j in waiting], status="done").count() == len(waiting)
                return jobs_done and await MinutesRecipient.filter(minutes=version, status="done").count() == total

            assert await wait_for(finished, 60), "queued jobs or documents never finished after Redis came back"
            assert worker.returncode is None
        finally:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(worker.wait(), timeout=30)
                except TimeoutError:
                    os.killpg(worker.pid, signal.SIGKILL)
                    await worker.wait()
        assert worker.returncode == 0, "the worker did not stop cleanly on SIGTERM"
    agencies = await Document.filter(kind="minutes", meeting_id=meeting.id).values_list("agency_id", flat=True)
    assert len(agencies) == total == len(set(agencies))  # each exactly once


# --- PostgreSQL ------------------------------------------------------------------------------


class PostgresServer:
    """A throwaway cluster on loopback (fsync on, as in production). The postmaster is our own
    child, so once killed it is reaped here and a restart does not take it for a live server.
    As root it runs as `postgres` (initdb and postgres refuse root)."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            pytest.skip("PostgreSQL server binaries are not installed")
        self.bin = Path(found[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="marac-fault-pg-"))
        self.dir.chmod(0o755)
        self.data = self.dir / "data"
        self.port = free_port()
        self.user = {"user": "postgres", "group": "postgres", "extra_groups": []} if os.geteuid() == 0 else {}
        if self.user:
            shutil.chown(self.dir, "postgres", "postgres")
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/marac_fault"

    def init(self) -> None:
        done = subprocess.run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync"],
            cwd=self.dir,
            capture_output=True,
            timeout=60,
            **self.user,
        )
        assert done.returncode == 0, done.stderr.decode()

    async def start(self) -> None:
        log = (self.dir / "postgres.log").open("ab")
        self.process = subprocess.Popen(
            [
                str(self.bin / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-k",
                str(self.dir),
                "-c",
                "listen_addresses=127.0.0.1",
            ],
            cwd=self.dir,
            stdout=log,
            stderr=log,
            **self.user,
        )
        log.close()

        async def up() -> bool:
            try:
                connection = await asyncpg.connect(self.url.replace("/marac_fault", "/postgres"), timeout=2)
            except (OSError, asyncpg.PostgresError):
                return False
            await connection.close()
            return True

        assert await wait_for(up, 30), (self.dir / "postgres.log").read_text()[-2000:]

    def kill(self) -> None:
        """kill -9 the postmaster, then what it leaves running (as a crash of the server would)."""
        if self.process is None or self.process.poll() is not None:
            return
        children = [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == self.process.pid]
        kill(self.process.pid)
        for pid in children:
            kill(pid)
        self.process.wait()

    def remove(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


@pytest.fixture
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    yield server
    server.remove()


@contextlib.asynccontextmanager
async def web_process(env: dict[str, str], port: int, log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "marac.cli",
            "serve",
            "--port",
            str(port),
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=output,
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def up() -> bool:
                try:
                    return (await client.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            assert await wait_for(up, 30), "the web process did not start"
        yield process
    finally:
        kill(process.pid)
        await process.wait()


SEED = """
import asyncio, json, sys
from tests.fault_seed import seed
print(json.dumps(asyncio.run(seed(int(sys.argv[1])))))
"""


async def test_postgres_killed_while_clients_update_actions(postgres_server):
    """Every update answered 2xx survives; during the outage 503 with a clear message; the same
    web process serves again once PostgreSQL is back."""
    postgres_server.init()
    await postgres_server.start()
    admin = await asyncpg.connect(postgres_server.url.replace("/marac_fault", "/postgres"))
    await admin.execute("CREATE DATABASE marac_fault")
    await admin.close()
    env = {**os.environ, "MARAC_DATABASE_URL": postgres_server.url, "MARAC_DATABASE_POOL_SIZE": "4"}
    env.pop("MARAC_REDIS_URL", None)  # jobs in-process: this test is about the database
    seeded = subprocess.run([sys.executable, "-c", SEED, "4"], env=env, cwd=ROOT, capture_output=True, timeout=120)
    assert seeded.returncode == 0, seeded.stderr.decode()[-2000:]
    seed = json.loads(seeded.stdout)
    port = free_port()
    bearer = {"Authorization": f"Bearer {seed['token']}"}

    web_log = postgres_server.dir / "web.log"
    async with (
        web_process(env, port, web_log),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http,
    ):
        acknowledged: list[str] = []  # update texts answered 2xx
        answers: dict[int, int] = {}
        unclear: list[str] = []
        phase = {"name": "before"}
        after_restart = {"ok": 0}
        stop = asyncio.Event()

        async def version_of(action_id: str) -> int:
            listed = await http.get("/api/v1/actions", params={"status": "all"}, headers=bearer)
            return next(a["version"] for a in listed.json()["items"] if a["id"] == action_id)

        async def client(action_id: str, version: int) -> None:
            n = 0
            while not stop.is_set() and n < 5000:  # bounded, whatever happens
                n += 1
                text = f"{action_id}-{n}"
                answer = await http.patch(
                    f"/api/v1/actions/{action_id}", json={"update": text}, headers={**bearer, "If-Match": str(version)}
                )
                answers[answer.status_code] = answers.get(answer.status_code, 0) + 1
                if answer.status_code == 200:
                    acknowledged.append(text)
                    version = answer.json()["version"]
                    if phase["name"] == "after":
                        after_restart["ok"] += 1
                elif answer.status_code == 412:
                    # The connection dropped after a commit, before the answer: read the version again.
                    with contextlib.suppress(Exception):
                        version = await version_of(action_id)
                elif answer.status_code == 503:
                    body = answer.json()
                    if body["error"] != {"code": "database_unavailable", "message": UNAVAILABLE_MESSAGE, "fields": {}}:
                        unclear.append(answer.text)
                    await asyncio.sleep(0.05)
                else:
                    unclear.append(f"{answer.status_code} {answer.text[:300]}")

        clients = [asyncio.create_task(client(action_id, 1)) for action_id in seed["actions"]]
        try:
            assert await wait_for(lambda: len(acknowledged) >= 20, 30), "the clients could not update actions"

            postgres_server.kill()
            phase["name"] = "outage"
            refused_before = answers.get(503, 0)
            assert await wait_for(lambda: answers.get(503, 0) >= refused_before + 10, 15), answers
            ready = await http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["database"] == "unavailable"
            http.cookies.set(csrf.SESSION, seed["session"])
            page = await http.get("/actions")
            http.cookies.clear()
            assert page.status_code == 503 and "cannot reach its database" in page.text
            assert "Traceback" not in page.text and "asyncpg" not in page.text

            await postgres_server.start()  # crash recovery, then the same web process carries on
            phase["name"] = "after"
            assert await wait_for(lambda: after_restart["ok"] >= 20, 30), f"no recovery: {answers}"
            assert (await http.get("/readyz")).status_code == 200
        finally:
            stop.set()
            await asyncio.gather(*clients, return_exceptions=True)
        for task in clients:
            # Never a dropped connection or a timeout.
            assert task.exception() is None, (repr(task.exception()), web_log.read_text()[-3000:])
        assert not unclear, (unclear[:3], web_log.read_text()[-3000:])
        assert set(answers) <= {200, 412, 503}, answers

    # Straight from the restarted server: every update that was answered 2xx is there.
    connection = await asyncpg.connect(postgres_server.url)
    stored = {row["text"] for row in await connection.fetch("SELECT text FROM action_update")}
    await connection.close()
    missing = [text for text in acknowledged if text not in stored]
    assert not missing, f"{len(missing)} acknowledged updates lost, e.g. {missing[:3]}"


# --- the document store runs out of space ----------------------------------------------------


@pytest.fixture
def small_store(monkeypatch) -> Iterator[Path]:
    """A 2 MiB tmpfs as the document store: a real filesystem that fills up."""
    mount = Path(tempfile.mkdtemp(prefix="marac-fault-store-"))
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        mount.rmdir()
        pytest.skip(f"cannot mount a small tmpfs here (needs root and mount rights): {done.stderr.decode().strip()}")
    real = settings.get()
    monkeypatch.setenv("MARAC_DOCUMENT_STORE", str(mount))  # queue_mode() reads the environment again
    settings.override(replace(real, document_store=mount))
    try:
        yield mount
    finally:
        settings.override(real)
        subprocess.run(["umount", "-l", str(mount)], check=False)
        mount.rmdir()


def fill(directory: Path) -> Path:
    """Write until the filesystem refuses: every byte of free space taken."""
    filler = directory / "filler"
    with filler.open("wb") as file:
        with contextlib.suppress(OSError):
            while True:
                file.write(b"\0" * 65536)
                file.flush()
    return filler


async def test_a_full_document_store_fails_cleanly_and_a_retry_succeeds(app, client, personas, small_store):
    meeting, _ = await held_meeting_with_markers(personas)
    chair = await viewer_for(personas["chair"].user)
    version = await minutes.approve(chair, meeting)
    client.cookies.update(await session_cookie_for(personas["coordinator"]))
    filler = fill(small_store)

    async with queue_mode(None):  # in-process jobs: the job page reports the same either way
        started = await page_post(client, f"/meetings/{meeting.id}", f"/meetings/{meeting.id}/minutes/render", {})
        assert started.status_code == 303 and started.headers["location"].startswith("/jobs/"), started.text
        await queue.drain()
        job_page = await client.get(started.headers["location"])
        assert job_page.status_code == 200
        assert "Failed" in job_page.text and "The document store is full" in job_page.text
        job = await Job.get(id=started.headers["location"].removeprefix("/jobs/").split("?")[0])
        assert job.status == "failed" and job.error.startswith("The document store is full")
        # No partial file, no temporary file, no row pointing nowhere.
        assert sorted(p.name for p in small_store.iterdir()) == ["filler"]
        assert not await Document.filter(meeting_id=meeting.id).exists()
        assert not await MinutesRecipient.filter(minutes=version, status="done").exists()

        filler.unlink()  # space freed: the coordinator asks again, as they would
        again = await page_post(client, f"/meetings/{meeting.id}", f"/meetings/{meeting.id}/minutes/render", {})
        await queue.drain()
        retried = await Job.get(id=again.headers["location"].removeprefix("/jobs/").split("?")[0])
        assert retried.status == "done", retried.error
    recipients = await MinutesRecipient.filter(minutes=version).count()
    documents = await Document.filter(kind="minutes", meeting_id=meeting.id)
    assert len(documents) == recipients == len({d.agency_id for d in documents})
    assert sorted(p.name for p in small_store.iterdir()) == sorted(d.file_name for d in documents)
    for document in documents:
        assert store.read(document).startswith(b"%PDF")
