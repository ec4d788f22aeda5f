"""Background work at national scale (docs/benchmarks.md#background-work): measurement `jobs` of bench/run national.

Each job of the worker's schedule that grows with the data runs once, in a process of its own (as in `marac
worker`), against a throwaway copy of the generated database (`CREATE DATABASE ... TEMPLATE`: the jobs write, and
the next run must find the same world):

- the 06:45 daily events (minutes not circulated in time, actions due or overdue), the fan-out it queues, and the
  07:00 digests;
- the 03:00 retention run, on the first day the oldest generated cases are past retention (it lists them), and
  a week later (it anonymises them and lists the next week's);
- the render reconciler (every five minutes);
- the quarterly report of every conference (figures and the steering-group PDF, as the job renders it), at most
  settings.worker_concurrency at once, as one worker runs them.

For each: wall time, peak RSS of the job's process (and of its largest render process), and `GET
/api/v1/actions`'s p99 under wrk (as measurement 2) while the job runs, against its p99 without a job in the
same run. wrk runs in windows of WINDOW seconds; each side is the worst window's p99. Targets: each job under
5 minutes and 500 MiB, and the API's p99 during it at most twice its p99 without.

Generation leaves minutes out; the copy is given what the jobs read of them first: every held meeting's
minutes approved and sent to each member agency, except each conference's latest held meeting, whose copies
still wait (the reconciler finds them).

    python -m bench.jobs run NAME   (one job, in the database of MARAC_DATABASE_URL: prints its figures as JSON)
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
WINDOW = 5  # seconds of wrk per window
QUIET_WINDOWS = 3
TARGET_SECONDS, TARGET_MIB, TARGET_P99_RATIO = 300, 500, 2.0
# name, what the table calls it
JOBS = (
    ("daily", "06:45 daily events + fan-out + 07:00 digests"),
    ("retention_list", "03:00 retention run: listing"),
    ("retention_anonymise", "03:00 retention run, a week later: anonymising"),
    ("reconcile", "render reconciler"),
    ("quarterly", "quarterly report, every conference"),
)


# --- in the job's own process ---------------------------------------------------------------------


def _mib(kib: int) -> float:
    return kib / 1024  # /proc sizes are in KiB


def _status(pid: int | str, key: str) -> float:
    """A size from /proc/PID/status in MiB (VmRSS: now; VmHWM: the peak), 0 once the process is gone. Not
    ru_maxrss: Linux carries it across exec, so a job process started by the big measuring process would
    report that process's size as its own peak."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return _mib(int(line.split()[1]))
    except OSError:
        pass
    return 0.0


def _rss_now() -> float:
    return _status("self", "VmRSS")


def _render_peak() -> float:
    """The largest peak of this process's children (the render processes), read while they live."""
    children = [pid for task in Path("/proc/self/task").glob("*/children") for pid in task.read_text().split()]
    return max((_status(pid, "VmHWM") for pid in children), default=0.0)


async def _retention_days() -> tuple[date, date]:
    """The first day the oldest generated cases are past retention, a week on (so a few days' cases are listed),
    and the day a week after that, when they are anonymised."""
    from marac.governance.retention import DEFAULT_YEARS, _shift_years
    from marac.referrals.models import Referral

    first = await Referral.all().order_by("received_at").first().values_list("received_at", flat=True)
    listing = _shift_years(first, DEFAULT_YEARS) + timedelta(days=8)
    return listing, listing + timedelta(days=7)


async def _job(name: str) -> dict[str, Any]:
    """Run one job; returns its own counts and phase times."""
    from marac import settings
    from marac.alerts import daily, fanout
    from marac.documents import pool
    from marac.governance import retention
    from marac.jobs import tasks
    from marac.jobs.models import Job
    from marac.reports import service as reports
    from marac.reports.figures import Quarter

    today = date.today()
    render_peak = 0.0
    phases: dict[str, float] = {}
    counts: dict[str, int] = {}

    async def phase(label: str, work: Any) -> Any:
        started = time.perf_counter()
        result = await work
        phases[label] = time.perf_counter() - started
        return result

    if name == "daily":
        counts["events"] = await phase("events", daily.emit_scheduled(today))
        told = await phase("fan-out", fanout.fan_out())
        counts |= {"notices": told["notices"], "emails": told["emails"]}
        counts["digests"] = await phase("digests", daily.put_digests())
    elif name in ("retention_list", "retention_anonymise"):
        listing, anonymising = await _retention_days()
        day = listing if name == "retention_list" else anonymising
        outcomes = await phase(str(day), retention.run(day))
        counts = {
            "listed": sum(o.listed for o in outcomes),
            "anonymised cases": sum(o.anonymised_cases for o in outcomes),
            "anonymised referrals": sum(o.anonymised_referrals for o in outcomes),
        }
    elif name == "reconcile":
        queued: list[str] = []

        async def enqueue(task: str, **ids: str) -> None:  # the renders it queues are measured elsewhere
            queued.append(task)

        await phase("reconcile", tasks.reconcile_renders(enqueue))
        counts = {"minutes queued": queued.count("render_minutes"), "agendas queued": queued.count("render_agendas")}
    elif name == "quarterly":
        from marac.agencies.models import Conference

        quarter = str(Quarter.of(today - timedelta(days=92)))
        limit = asyncio.Semaphore(settings.get().worker_concurrency)

        async def one(conference_id: str) -> None:
            async with limit:
                job = await Job.create(name="render_quarterly_report")
                await reports.render(conference_id, quarter, job.id, None, today)

        conferences = await Conference.all().values_list("id", flat=True)

        async def every() -> None:
            async with asyncio.TaskGroup() as group:
                for conference_id in conferences:
                    group.create_task(one(conference_id))

        await phase(quarter, every())
        render_peak = _render_peak()
        pool.shutdown()
        counts = {"reports": len(conferences)}
    else:
        raise ValueError(name)
    return {"phases": phases, "counts": counts, "render_peak": render_peak}


async def _run(name: str) -> dict[str, Any]:
    import marac.jobs.worker  # noqa: F401  what `marac worker` has loaded before any job: not the job's memory
    from marac import db

    await db.init()
    try:
        before = _rss_now()
        started = time.perf_counter()
        found = await _job(name)
        wall = time.perf_counter() - started
    finally:
        await db.close()
    return found | {"seconds": wall, "rss_before": before, "rss_peak": _status("self", "VmHWM")}


# --- the copy and what the jobs need in it -----------------------------------------------------------


def _admin_url(url: str) -> tuple[str, str]:
    base, name = url.rsplit("/", 1)
    return base.replace("postgres://", "postgresql://", 1) + "/postgres", name


async def copy_database(url: str) -> str:
    """A copy of the database at `url` (nothing may be connected to it), named <name>_jobs; its URL."""
    admin, name = _admin_url(url)
    copy = f"{name}_jobs"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{copy}"')
        await conn.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"')
    finally:
        await conn.close()
    return url.rsplit("/", 1)[0] + "/" + copy


async def drop_database(url: str) -> None:
    admin, name = _admin_url(url)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def add_minutes(url: str) -> dict[str, int]:
    """Every held meeting's minutes approved (version 1, sealed content naming its cases and actions) and sent to
    each member agency; each conference's latest held meeting's copies still pending, queued ten minutes ago."""
    from marac.ids import new_id
    from marac.sealed import seal

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        meetings = await conn.fetch(
            "SELECT id, conference_id, date, row_number() OVER (PARTITION BY conference_id ORDER BY date DESC) AS n "
            "FROM meeting WHERE status = 'held'"
        )
        members: dict[str, list[tuple[str, str]]] = {}
        for row in await conn.fetch("SELECT conference_id, agency_id, tier FROM membership"):
            members.setdefault(row["conference_id"], []).append((row["agency_id"], row["tier"]))
        coordinators = dict(
            await conn.fetch(
                'SELECT uc.conference_id, min(u.id) FROM "user" u JOIN user_conference uc ON uc.user_id = u.id '
                "WHERE u.role = 'coordinator' GROUP BY uc.conference_id"
            )
        )
        cases: dict[str, list[tuple[str, int]]] = {}
        for row in await conn.fetch("SELECT id, meeting_id, number FROM agenda_item WHERE state = 'listed'"):
            cases.setdefault(row["meeting_id"], []).append((row["id"], row["number"]))
        actions: dict[str, list[str]] = {}
        for row in await conn.fetch("SELECT id, meeting_id FROM action"):
            actions.setdefault(row["meeting_id"], []).append(row["id"])
        versions, recipients = [], []
        for meeting in meetings:
            mid = new_id()
            content = {
                "cases": [
                    {
                        "case_id": item,
                        "case_label": f"{meeting['date'].isoformat()} case {number}",
                        "notes": [{"agency": "Police", "text": "Discussed; the plan below was agreed."}],
                        "outcome_reason": "",
                        "actions": [],
                    }
                    for item, number in sorted(cases.get(meeting["id"], []), key=lambda c: c[1])
                ],
                "actions": [{"action_id": a, "description": "As agreed"} for a in actions.get(meeting["id"], [])],
                "reviews": [],
            }
            approved = datetime.combine(meeting["date"] + timedelta(days=2), datetime.min.time(), tzinfo=UTC)
            latest = meeting["n"] == 1
            versions.append(
                (
                    mid,
                    meeting["id"],
                    1,
                    "approved",
                    seal("minutes_version", "content", mid, json.dumps(content, separators=(",", ":"))),
                    coordinators.get(meeting["conference_id"], ""),
                    approved,
                )
            )
            queued = datetime.now(UTC) - timedelta(minutes=10) if latest else approved
            for agency_id, tier in members.get(meeting["conference_id"], []):
                recipients.append(
                    (
                        new_id(),
                        mid,
                        agency_id,
                        tier,
                        "pending" if latest else "done",
                        0 if latest else 1,
                        None if latest else approved + timedelta(hours=1),
                        0,
                        queued,
                    )
                )
        await conn.copy_records_to_table(
            "minutes_version",
            records=versions,
            columns=("id", "meeting_id", "version", "status", "content", "approved_by", "approved_at"),
        )
        await conn.copy_records_to_table(
            "minutes_recipient",
            records=recipients,
            columns=(
                "id",
                "minutes_id",
                "agency_id",
                "tier",
                "status",
                "attempts",
                "notified_at",
                "downloads",
                "created_at",
            ),
        )
        await conn.execute(
            "UPDATE meeting SET minutes_version = 1 WHERE id IN (SELECT meeting_id FROM minutes_version)"
        )
        await conn.execute("VACUUM ANALYZE minutes_version, minutes_recipient, meeting")
    finally:
        await conn.close()
    return {"versions": len(versions), "recipients": len(recipients)}


# --- the measurement ---------------------------------------------------------------------------------


def _windows(url: str, env: dict[str, str], until: subprocess.Popen | None, count: int = 0) -> list[dict[str, float]]:
    """wrk windows of GET /api/v1/actions: `count` of them, or until the process `until` has ended."""
    from bench.national import wrk

    found = []
    while (until is not None and until.poll() is None) or len(found) < max(count, 1):
        found.append(wrk(f"{url}/api/v1/actions", "get_actions.lua", env, WINDOW))
    return found


async def measure(ctx: Any, source_url: str, env: dict[str, str]) -> None:
    """Measurement `jobs`: needs nothing connected to `source_url` (it is copied); `env` holds BENCH_TOKEN."""
    from bench.national import SERVER_LOG, serve, wrk

    url = await copy_database(source_url)
    try:
        added = await add_minutes(url)
        run_env = {**os.environ, **env, "MARAC_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
        server, api = serve("marac.web.app:create_app", {**env, "MARAC_DATABASE_URL": url})
        rows: list[dict[str, Any]] = []
        try:
            wrk(f"{api}/api/v1/actions", "get_actions.lua", run_env, 3)
            quiet = _windows(api, run_env, None, QUIET_WINDOWS)
            for name, what in JOBS:
                out = Path(tempfile.mkstemp(prefix=f"bench-job-{name}-", suffix=".json")[1])
                process = subprocess.Popen(
                    [sys.executable, "-m", "bench.jobs", "run", name, str(out)], env=run_env, cwd=ROOT
                )
                busy = _windows(api, run_env, process)
                if process.wait() != 0:
                    ctx.problems.append(f"job {name} failed (exit {process.returncode})")
                    continue
                found = json.loads(out.read_text())
                out.unlink()
                rows.append({"name": name, "what": what, "windows": busy} | found)
                # What the job left for the database to tidy (autovacuum) is not the next job's.
                _windows(api, run_env, None, 1)
        finally:
            server.terminate()
            server.wait()
            SERVER_LOG.unlink(missing_ok=True)
    finally:
        await drop_database(url)
    quiet_p99 = max(w["p99"] for w in quiet)
    print(
        f"\n7. Background work: each job once, in a process of its own, on a copy of the database "
        f"(plus {added['versions']:,} minutes versions, {added['recipients']:,} recipients); meanwhile wrk "
        f"-c64 on GET /api/v1/actions in {WINDOW}-s windows\n"
    )
    print(
        f"API without a job: {len(quiet)} windows, p99 worst {quiet_p99:.0f} ms, median "
        f"{statistics.median(w['p99'] for w in quiet):.0f} ms; "
        f"{statistics.median(w['rps'] for w in quiet):.0f} req/s\n"
    )
    print(
        "| job                                              |  wall s | peak MiB | render MiB | API p99 ms | "
        "/ without | req/s | target  |"
    )
    print(
        "|--------------------------------------------------|---------|----------|------------|------------|"
        "-----------|-------|---------|"
    )
    results = {"quiet_p99": quiet_p99}
    for row in rows:
        p99 = max(w["p99"] for w in row["windows"])
        rps = statistics.median(w["rps"] for w in row["windows"])
        peak = max(row["rss_peak"], row["render_peak"])
        met = row["seconds"] < TARGET_SECONDS and peak < TARGET_MIB and p99 <= TARGET_P99_RATIO * quiet_p99
        print(
            f"| {row['what']:<48} | {row['seconds']:7.1f} | {row['rss_peak']:8.0f} | {row['render_peak']:10.0f} "
            f"| {p99:10.0f} | {p99 / quiet_p99:9.2f} | {rps:5.0f} | {'met' if met else 'NOT met':<7} |"
        )
        results[row["name"]] = {
            "seconds": row["seconds"],
            "rss_peak": row["rss_peak"],
            "render_peak": row["render_peak"],
            "p99": p99,
            "counts": row["counts"],
        }
    print(
        f"targets: each < {TARGET_SECONDS // 60} min and < {TARGET_MIB} MiB; API p99 (worst window) <= "
        f"{TARGET_P99_RATIO:.0f}x without\n"
    )
    for row in rows:
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in row["phases"].items())
        counts = ", ".join(f"{k} {v:,}" for k, v in row["counts"].items())
        print(f"- {row['what']}: {phases}; {counts}; RSS before the job (modules loaded) {row['rss_before']:.0f} MiB")
    ctx.results["jobs"] = results


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "run":
        found = asyncio.run(_run(sys.argv[2]))
        Path(sys.argv[3]).write_text(json.dumps(found, default=str))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
