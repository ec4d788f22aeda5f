"""/metrics and the request log lines: what an operator's Prometheus and log search see.

- /metrics answers 404 unless MARAC_METRICS_TOKEN is set and sent as a bearer token;
- after a whole meeting cycle, it has the metrics the dashboard uses, labelled by route
  template, and none of the world's names, ids or e-mail addresses;
- each request writes one JSON line with its request id (the X-Request-Id answered), method,
  route template, status, duration and user id, and nothing the request carried.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest

from marac import logs, metrics, settings
from marac.agencies.models import Agency, Conference, User
from marac.audit.models import AuditEvent
from marac.meetings.models import AgendaItem, Meeting
from marac.referrals.models import Referral
from tests.conftest import make_client, session_cookie_for
from tests.flows import meeting_cycle

TOKEN = "t" * 8 + uuid.uuid4().hex
MARK = uuid.uuid4().hex[:12]
TEXT = f"Fixture {MARK} {{}}".format


@pytest.fixture
def token() -> Iterator[str]:
    before = settings.get()
    settings.override(dataclasses.replace(before, metrics_token=TOKEN))
    try:
        yield TOKEN
    finally:
        settings.override(before)


@pytest.fixture
def request_lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.Json())
    logger = logging.getLogger("marac.requests")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield out
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def test_metrics_answer_404_without_the_token(client):
    assert (await client.get("/metrics")).status_code == 404  # no token configured: nothing is there


async def test_metrics_need_the_exact_bearer_token(client, token):
    assert (await client.get("/metrics")).status_code == 404
    assert (await client.get("/metrics", headers={"Authorization": f"Bearer {token}x"})).status_code == 404
    answer = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")


async def test_metrics_after_a_meeting_cycle_name_templates_and_no_record_values(app, client, personas, token):
    async with make_client(app) as chair_page:
        chair_page.cookies.update(await session_cookie_for(personas["chair"]))
        cycle = await meeting_cycle(client, chair_page, personas, TEXT)
        await chair_page.get(f"/referrals/{cycle.referral_id}")
    answer = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    scraped = answer.text

    for name in metrics.EXPORTED:
        assert re.search(rf"^# TYPE {name}", scraped, re.M), name
    assert 'route="/api/v1/referrals/{referral_id}/decision"' in scraped
    assert re.search(
        r'marac_http_request_duration_seconds_count\{method="POST",route="/api/v1/referrals",status="201"\}'
        r" [1-9]",
        scraped,
    )
    assert re.search(r'marac_job_duration_seconds_count\{outcome="done",task="render_minutes"\} [1-9]', scraped)
    assert re.search(r'marac_render_duration_seconds_count\{function="[a-z_]+"\} [1-9]', scraped)
    chain = int(float(re.search(r"^marac_audit_chain_length (\S+)", scraped, re.M).group(1)))
    assert chain == await AuditEvent.all().count() > 0

    secret = {MARK, token, *dataclasses.astuple(cycle)}
    for persona in personas.values():
        secret |= {persona.email, persona.user.id, persona.user.agency_id, persona.token}
    for model in (User, Agency, Conference, Referral, Meeting, AgendaItem):
        secret |= {str(pk) for pk in await model.all().values_list("id", flat=True)}
    secret |= set(await Conference.all().values_list("slug", flat=True))
    secret |= set(await Agency.all().values_list("name", flat=True))
    found = sorted(value for value in secret if value and value in scraped)
    assert not found, found


async def test_each_request_logs_one_json_line_with_its_request_id_and_template(client, personas, request_lines):
    police = personas["police"]
    answer = await client.get(f"/api/v1/referrals/{'a' * 32}", params={"q": MARK}, headers=police.bearer)
    assert answer.status_code == 404
    lines = [json.loads(line) for line in request_lines.getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == answer.headers["x-request-id"]]
    assert len(mine) == 1, lines
    line = mine[0]
    assert {"time", "level", "request_id", "method", "route", "status", "duration_ms", "user_id"} <= set(line)
    assert line["route"] == "/api/v1/referrals/{referral_id}"
    assert line["status"] == 404 and line["method"] == "GET" and line["user_id"] == police.user.id
    assert MARK not in request_lines.getvalue() and "a" * 32 not in request_lines.getvalue()


async def test_an_incoming_request_id_is_not_taken(client):
    answer = await client.get("/healthz", headers={"X-Request-Id": MARK})
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"]) and answer.headers["x-request-id"] != MARK


@pytest.mark.parametrize(
    "environ, expected",
    [({"MARAC_ENV": "development"}, "text"), ({"MARAC_ENV": "development", "MARAC_LOG_FORMAT": "json"}, "json")],
)
def test_log_format_is_text_in_development_unless_asked(environ, expected):
    assert settings.load(environ).log_format == expected


def test_log_format_and_metrics_token_refuse_bad_values():
    with pytest.raises(settings.SettingsError, match="MARAC_LOG_FORMAT"):
        settings.load({"MARAC_LOG_FORMAT": "xml"})
    with pytest.raises(settings.SettingsError, match="MARAC_METRICS_TOKEN"):
        settings.load({"MARAC_METRICS_TOKEN": "short"})


# --- on real servers -------------------------------------------------------------------------------


@pytest.mark.server
async def test_under_uvicorn_json_lines_carry_the_request_id_a_500_answered(app, tmp_path):
    from tests.test_served import serve

    server, port = await serve(tmp_path, "tests.broken_app:create_app", "json", {"MARAC_LOG_FORMAT": "json"})
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            failed = await client.get("/test-only/fails", params={"value": MARK})
    finally:
        logged = server.stop()
    assert failed.status_code == 500
    request_id = failed.headers["x-request-id"]
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    assert all("time" in line and "level" in line for line in lines)
    mine = [line for line in lines if line.get("request_id") == request_id]
    assert {line["logger"] for line in mine} >= {"marac.web", "marac.requests"}, mine
    request = next(line for line in mine if line["logger"] == "marac.requests")
    assert request["route"] == "/test-only/fails" and request["status"] == 500 and request["user_id"] is None
    assert any("unhandled ValueError" in line["message"] for line in mine if line["logger"] == "marac.web"), mine
    assert MARK not in logged, logged


@pytest.mark.server
async def test_marac_serve_with_two_processes_counts_every_processs_requests(app, tmp_path):
    from tests.test_faults import free_port, wait_for
    from tests.test_served import Served, answering

    port = free_port()
    server = Served(
        [sys.executable, "-m", "marac.cli", "serve", "--port", str(port), "--workers", "2"],
        tmp_path / "serve.log",
        {"MARAC_METRICS_TOKEN": TOKEN},
    )
    try:
        if not await wait_for(lambda: answering(f"http://127.0.0.1:{port}/healthz"), 60):
            pytest.fail(f"marac serve did not start:\n{server.stop()}")
        for _ in range(40):  # new connections: uvicorn's processes share the socket, both answer some
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as one:
                assert (await one.get("/healthz")).status_code == 200
        counts = []
        for _ in range(6):
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as one:
                scraped = (await one.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).text
            found = re.search(
                r'marac_http_request_duration_seconds_count\{method="GET",route="/healthz",'
                r'status="200"\} (\S+)',
                scraped,
            )
            counts.append(float(found.group(1)))
    finally:
        logged = server.stop()
    # Whichever process answered the scrape, it counted every process's requests (40 and the probes).
    assert min(counts) >= 40, (counts, logged)
