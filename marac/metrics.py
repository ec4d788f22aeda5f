"""Prometheus metrics: what /metrics (marac.web.app) and `marac worker --metrics-port` expose.

Two kinds, so that several uvicorn processes and several workers add up to one true picture:
- events a process sees (a request's latency, a job's or a render's duration) are
  prometheus-client histograms; `marac serve --workers N` gives its processes one
  PROMETHEUS_MULTIPROC_DIR (multiprocess mode), and each `marac worker` serves its own on a
  separate port;
- states (queue depth, what waits to be rendered or sent, sign-in failures and throttles,
  the audit chain's length) are read from the database and Redis at scrape time, so any
  process answers the same, whichever processes did the work.
Labels are route templates, task and function names and statuses: never a path, a record id
or anything a user typed (tests/test_metrics.py scans a scrape for a world's names and ids).
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from arq.constants import default_queue_name
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from marac import settings

disable_created_metrics()  # a *_created series per label set would double what Prometheus stores, for nothing
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# A page render and a PDF render: from milliseconds to the render time limit.
SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

REQUEST_SECONDS = Histogram(
    "marac_http_request_duration_seconds",
    "Time to answer a request, by route template",
    ["method", "route", "status"],
    buckets=SECONDS,
)
JOB_SECONDS = Histogram(
    "marac_job_duration_seconds", "Time a background job ran, by task and outcome", ["task", "outcome"], buckets=SECONDS
)
RENDER_SECONDS = Histogram(
    "marac_render_duration_seconds", "Time of one call in a render process", ["function"], buckets=SECONDS
)
RENDER_FAILURES = Counter(
    "marac_render_failures_total",
    "Render process calls that failed (error, time limit, a killed process)",
    ["function"],
)

# Names of the gauges computed at scrape time (the dashboard and tests/test_compose.py use them).
GAUGES = {
    "marac_job_queue_depth": "Jobs waiting in the Redis queue (0 without Redis: jobs run in the web process)",
    "marac_jobs_unfinished": "Tracked jobs not yet done, by task and status",
    "marac_minutes_renders_pending": "Minutes copies (one per recipient agency) waiting to be rendered",
    "marac_research_lists_pending": "Published meetings with a member agency still without its research list",
    "marac_email_outbox_pending": "E-mails in the outbox not yet sent",
    "marac_signin_failures_recent": "Failed sign-ins within the throttle window",
    "marac_signin_throttled": "Account-and-address pairs and addresses refused sign-in now (throttled)",
    "marac_accounts_locked": "Accounts locked after wrong security codes",
    "marac_audit_chain_length": "Events in the audit chain",
}
EXPORTED = {
    "marac_http_request_duration_seconds",
    "marac_job_duration_seconds",
    "marac_render_duration_seconds",
    "marac_render_failures_total",
    *GAUGES,
}


@contextmanager
def timed_render(function: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    except BaseException:
        RENDER_FAILURES.labels(function).inc()
        raise
    finally:
        RENDER_SECONDS.labels(function).observe(time.perf_counter() - started)


async def _state() -> list[GaugeMetricFamily]:
    from marac.agencies.auth import MAX_FAILURES_PER_ACCOUNT_AND_IP, MAX_FAILURES_PER_IP, THROTTLE_WINDOW
    from marac.agencies.models import LoginFailure, User
    from marac.audit.models import AuditEvent
    from marac.clock import now
    from marac.jobs import queue
    from marac.jobs.models import Job
    from marac.meetings.agenda import pending_research_lists
    from marac.minutes.models import MinutesRecipient
    from marac.notify.models import OutboxEmail

    def gauge(name: str, value: float, labels: dict[str, str] | None = None) -> GaugeMetricFamily:
        family = GaugeMetricFamily(name, GAUGES[name], labels=list(labels or {}))
        family.add_metric(list((labels or {}).values()), value)
        return family

    pool = queue._pool
    depth = await pool.zcard(default_queue_name) if pool is not None else 0
    unfinished = GaugeMetricFamily("marac_jobs_unfinished", GAUGES["marac_jobs_unfinished"], labels=["task", "status"])
    counts: dict[tuple[str, str], int] = {}
    for name, status in await Job.filter(status__in=("queued", "running")).values_list("name", "status"):
        counts[(name, status)] = counts.get((name, status), 0) + 1
    for (name, status), count in sorted(counts.items()):
        unfinished.add_metric([name, status], count)

    since = now() - THROTTLE_WINDOW
    recent = LoginFailure.filter(at__gte=since)
    pairs: dict[tuple[str, str], int] = {}
    addresses: dict[str, int] = {}
    for key, ip in await recent.values_list("account_key", "ip"):
        pairs[(key, ip)] = pairs.get((key, ip), 0) + 1
        addresses[ip] = addresses.get(ip, 0) + 1
    throttled = GaugeMetricFamily("marac_signin_throttled", GAUGES["marac_signin_throttled"], labels=["scope"])
    throttled.add_metric(["account_and_address"], sum(n >= MAX_FAILURES_PER_ACCOUNT_AND_IP for n in pairs.values()))
    throttled.add_metric(["address"], sum(n >= MAX_FAILURES_PER_IP for n in addresses.values()))

    return [
        gauge("marac_job_queue_depth", depth),
        unfinished,
        gauge("marac_minutes_renders_pending", await MinutesRecipient.filter(status="pending").count()),
        gauge("marac_research_lists_pending", len(await pending_research_lists(older_than=timedelta(0)))),
        gauge("marac_email_outbox_pending", await OutboxEmail.filter(status="pending").count()),
        gauge("marac_signin_failures_recent", sum(pairs.values())),
        throttled,
        gauge("marac_accounts_locked", await User.filter(locked_at__isnull=False).count()),
        gauge("marac_audit_chain_length", await AuditEvent.all().count()),
    ]


class _Fixed:
    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self.families = families

    def collect(self) -> list[GaugeMetricFamily]:
        return self.families


class _ThisProcess:
    def collect(self) -> Iterator:
        yield from REGISTRY.collect()


def process_registry() -> CollectorRegistry:
    """This process's histograms, or every process's under PROMETHEUS_MULTIPROC_DIR."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    return registry


def allowed(request: Request) -> bool:
    token = settings.get().metrics_token
    if token is None:
        return False
    given = request.headers.get("authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


async def endpoint(request: Request) -> Response:
    # Not found, not 401: without the token nobody learns that there is anything here.
    if not allowed(request):
        return PlainTextResponse("Not Found", status_code=404)
    registry = process_registry()
    registry.register(_Fixed(await _state()))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE)
