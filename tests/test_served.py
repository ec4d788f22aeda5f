"""What an error shows and logs, and who a sign-in failure counts against, on real servers.

- An unhandled error answers 500 with the security headers and a reference, nothing of the
  input (in-process, and under uvicorn with `marac serve`'s own settings).
- Under those settings no log line carries an exception's message, and no Server header is sent.
- nginx, configured as deploy/nginx.conf, in front of `marac serve`: failed sign-ins count
  against each client's own address, so one client reaching the address-wide limit does
  not lock out everyone else behind the proxy.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from marac import settings
from marac.agencies.auth import MAX_FAILURES_PER_IP
from marac.agencies.models import LoginFailure
from marac.clock import now
from marac.web.middleware import CSP
from tests import broken_app
from tests.conftest import make_client
from tests.test_faults import free_port, wait_for

ROOT = Path(__file__).resolve().parent.parent
MARKER = f"personal-{uuid.uuid4().hex}"
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}
# uvicorn with exactly the settings `marac serve` uses, on an app factory named on the command line.
SERVE = (
    "import sys, uvicorn; from marac.cli import serve_options; "
    "uvicorn.run(sys.argv[1], factory=True, **serve_options('127.0.0.1', int(sys.argv[2])))"
)


def assert_safe_500(answer: httpx.Response) -> None:
    assert answer.status_code == 500
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get(name) == value, name
    assert MARKER not in answer.text and MARKER not in str(answer.headers)
    assert "Traceback" not in answer.text and "ValueError" not in answer.text
    assert answer.headers["x-request-id"] in answer.text  # the reference the user can quote


async def test_an_unhandled_error_answers_500_with_the_security_headers_and_nothing_of_the_input(app):
    broken = broken_app.create_app()  # the database is already up: the app fixture started it
    transport = httpx.ASGITransport(app=broken, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        page = await client.get("/test-only/fails", params={"value": MARKER})
        api = await client.get("/api/v1/test-only/fails", params={"value": MARKER})
    assert_safe_500(page)
    assert_safe_500(api)
    assert api.json()["error"]["code"] == "server_error"


class Served:
    """A process on loopback whose output goes to a file; stopped by its pid."""

    def __init__(self, command: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
            )

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.log.read_text(errors="replace")


async def answering(url: str) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            return (await client.get(url, timeout=2)).status_code == 200
    except httpx.HTTPError:
        return False


async def serve(tmp_path: Path, factory: str, name: str, env: dict[str, str] | None = None) -> tuple[Served, int]:
    port = free_port()
    server = Served([sys.executable, "-c", SERVE, factory, str(port)], tmp_path / f"{name}.log", env)
    if not await wait_for(lambda: answering(f"http://127.0.0.1:{port}/healthz"), 30):
        pytest.fail(f"uvicorn did not start:\n{server.stop()}")
    return server, port


@pytest.mark.server
async def test_marac_serve_answers_errors_safely_sends_no_server_header_and_logs_no_values(app, tmp_path):
    server, port = await serve(tmp_path, "tests.broken_app:create_app", "uvicorn")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            healthy = await client.get("/healthz")
            failed = await client.get("/test-only/fails", params={"value": MARKER})
            with pytest.raises(httpx.HTTPError):  # the answer had begun: the server can only cut it off
                await client.get("/test-only/fails-midway", params={"value": MARKER})
            refused = await client.get(f"/reports?conference={MARKER}")  # an ordinary 4xx page, for the header check
    finally:
        logged = server.stop()
    for answer in (healthy, failed, refused):
        assert "server" not in answer.headers, answer.headers
    assert_safe_500(failed)
    # Both failures are logged, the second with its traceback: types and places, never the value.
    assert "ValueError" in logged and "Traceback (most recent call last)" in logged, logged
    assert failed.headers["x-request-id"] in logged
    assert MARKER not in logged, logged


def test_the_log_configuration_keeps_exception_messages_out_of_every_line(tmp_path):
    """marac.logs as `marac worker` applies it: a chained traceback, and arq's way of naming
    a failed job's exception as a log argument."""
    script = f"""
import logging, logging.config
from marac import logs
logging.config.dictConfig(logs.config())
log = logging.getLogger("arq.worker")
try:
    try:
        int("{MARKER}")
    except ValueError as exc:
        raise KeyError("{MARKER}") from exc
except KeyError as exc:
    log.exception("%6.2fs ! %s failed, %s: %s", 0.1, "job:render", type(exc).__name__, exc)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Traceback (most recent call last)" in done.stderr
    assert "KeyError" in done.stderr and "ValueError" in done.stderr
    assert "job:render failed, KeyError: KeyError" in done.stderr
    assert MARKER not in done.stderr, done.stderr


# --- behind nginx ----------------------------------------------------------------------------------

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def swap(text: str, old: str, new: str) -> str:
    """A substitution that must apply: if deploy/nginx.conf changes shape, this test says so."""
    assert old in text, f"deploy/nginx.conf no longer has {old!r}"
    return text.replace(old, new)


def nginx_conf(directory: Path, listen: int, upstream: int) -> str:
    """deploy/nginx.conf with its proxy lines as they are, on loopback: the upstream is one
    `marac serve`, the load balancer in front (which names clients in X-Forwarded-For) is this
    test on 127.0.0.1, and files go to `directory`."""
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    conf = swap(conf, "worker_processes auto;", f"worker_processes 1; daemon off; pid {directory}/nginx.pid;")
    conf = re.sub(r"^\s*resolver .*;\n", "", conf, flags=re.M)  # Docker's DNS
    conf = swap(conf, "server web:8000 resolve;", f"server 127.0.0.1:{upstream};")
    conf, trusted = re.subn(r"^\s*set_real_ip_from .*;\n", "", conf, flags=re.M)
    assert trusted, "deploy/nginx.conf no longer takes the client's address from a load balancer"
    conf = swap(conf, "real_ip_header X-Forwarded-For;", "set_real_ip_from 127.0.0.1; real_ip_header X-Forwarded-For;")
    files = f"access_log {directory}/access.log marac; error_log {directory}/error.log;" + "".join(
        f" {kind}_temp_path {directory}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = swap(conf, "access_log /dev/stdout marac;", files)
    return swap(conf, "listen 8000;", f"listen 127.0.0.1:{listen};")


@pytest.fixture
async def behind_nginx(app, tmp_path) -> AsyncIterator[str]:
    if NGINX is None:
        pytest.skip("nginx is not installed (scripts/test installs it)")
    upstream, listen = free_port(), free_port()
    marac = Served(
        [sys.executable, "-m", "marac.cli", "serve", "--port", str(upstream)],
        tmp_path / "marac.log",
        {"MARAC_TRUSTED_PROXIES": "127.0.0.1"},
    )
    (tmp_path / "nginx.conf").write_text(nginx_conf(tmp_path, listen, upstream))
    proxy = Served(
        [NGINX, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
        tmp_path / "nginx.out",
    )
    try:
        if not await wait_for(lambda: answering(f"http://127.0.0.1:{listen}/healthz"), 30):
            pytest.fail(f"nginx or marac serve did not start:\n{proxy.stop()}\n{marac.stop()}")
        yield f"http://127.0.0.1:{listen}"
    finally:
        proxy.stop()
        marac.stop()


async def sign_in_as(base: str, client_address: str, email: str, password: str) -> httpx.Response:
    """A password sign-in as a browser at `client_address` makes it through the load balancer."""
    async with httpx.AsyncClient(base_url=base, headers={"X-Forwarded-For": client_address}) as client:
        page = await client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        return await client.post("/login", data={"email": email, "password": password, "csrf_token": token})


@pytest.mark.server
async def test_behind_nginx_one_clients_failures_do_not_lock_out_another(behind_nginx, personas):
    attacker, user = "203.0.113.10", "198.51.100.20"
    for i in range(MAX_FAILURES_PER_IP):
        refused = await sign_in_as(behind_nginx, attacker, f"nobody{i}@example.org", "wrong password")
        assert refused.status_code == 400, refused.status_code
    assert (await sign_in_as(behind_nginx, attacker, "nobody@example.org", "wrong password")).status_code == 429
    # Counted against the client, never against the proxy every request comes from.
    assert await LoginFailure.filter(ip=attacker).count() == MAX_FAILURES_PER_IP
    assert not await LoginFailure.filter(ip="127.0.0.1").exists()
    police = personas["police"]
    signed_in = await sign_in_as(behind_nginx, user, police.email, police.password)
    assert signed_in.status_code == 303 and signed_in.headers["location"].startswith("/login/mfa")


async def test_a_trusted_proxys_own_address_is_never_throttled_as_a_whole(app, personas):
    """The proxy's own address (a request it sent without naming a client) still gets the
    per-account limit, never the address-wide one that would lock every user out."""
    settings.override(settings.load({**os.environ, "MARAC_TRUSTED_PROXIES": "10.0.0.5"}))
    try:
        for address, limited in (("10.0.0.5", False), ("10.0.0.6", True)):
            for i in range(MAX_FAILURES_PER_IP):
                await LoginFailure.create(account_key=f"k{i}", ip=address, at=now())
            async with make_client(app, ip=address) as client:
                page = await client.get("/login")
                token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
                police = personas["police"]
                form = {"email": police.email, "password": police.password, "csrf_token": token}
                answer = await client.post("/login", data=form)
            assert answer.status_code == (429 if limited else 303), (address, answer.status_code)
    finally:
        settings.override(None)
