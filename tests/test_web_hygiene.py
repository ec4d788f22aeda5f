"""Headers, CSRF, body limit, escaping and error answers: the transport-level promises."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from contextlib import contextmanager

import httpx

from marac import settings
from marac.agencies.models import Agency
from tests.conftest import csrf_token, dash_body, make_client, session_cookie_for


@contextmanager
def production():
    real = settings.get()
    # The data keys the test database was sealed with (TOTP seeds are sealed too).
    keys = ",".join(f"{version}:{base64.b64encode(key).decode()}" for version, key in real.data_keys.items())
    settings.override(
        settings.load(
            {
                **os.environ,
                "MARAC_ENV": "production",
                "MARAC_SECRET_KEY": "p" * 48,
                "MARAC_BASE_URL": "https://marac.example.org",
                "MARAC_DATA_KEYS": keys,
            }
        )
    )
    try:
        yield
    finally:
        settings.override(real)


async def test_every_response_carries_the_security_headers(client, personas):
    client.cookies.update(await session_cookie_for(personas["police"]))
    for path in ["/login", "/", "/api/v1/agencies", "/no-such-page", "/healthz"]:
        answer = await client.get(path)
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
        assert answer.headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in answer.headers


async def test_production_adds_hsts_and_host_prefixed_secure_cookies(app, personas):
    with production():
        async with make_client(app, base_url="https://testserver") as client:
            answer = await client.get("/login")
            assert answer.headers["strict-transport-security"].startswith("max-age=")
            cookie = answer.headers["set-cookie"]
            assert cookie.startswith("__Host-marac_csrf=") and "Secure" in cookie and "HttpOnly" in cookie
            token = await csrf_token(client)
            police = personas["police"]
            signed = await client.post(
                "/login", data={"email": police.email, "password": police.password, "csrf_token": token}
            )
            session_cookie = signed.headers["set-cookie"]
            assert session_cookie.startswith("__Host-marac_session=")
            assert "Secure" in session_cookie and "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
            assert "Domain" not in session_cookie


async def test_pages_have_no_inline_script(client, personas):
    assert '<script type="module" src="/static/init.js"></script>' in (await client.get("/login")).text
    client.cookies.update(await session_cookie_for(personas["admin"]))
    for path in ["/", "/account", "/admin/users", "/admin/agencies", "/admin/conferences"]:
        text = (await client.get(path)).text
        assert "<script>" not in text and "onclick" not in text
        assert '<script type="module" src="/static/init.js"></script>' in text


async def test_a_cross_site_form_post_is_refused_and_changes_nothing(client, personas):
    client.cookies.update(await session_cookie_for(personas["admin"]))
    token = await csrf_token(client, "/admin/agencies")
    refused = (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://testserver"},
    )
    for headers in refused:
        answer = await client.post(
            "/admin/agencies", data={"name": "Evil Agency", "kind": "other", "csrf_token": token}, headers=headers
        )
        assert answer.status_code == 403
    assert not await Agency.filter(name="Evil Agency").exists()
    same_site = await client.post(
        "/admin/agencies",
        data={"name": "Good Agency", "kind": "other", "csrf_token": token},
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    )
    assert same_site.status_code == 303
    assert await Agency.filter(name="Good Agency").exists()


async def test_a_same_origin_post_with_a_null_origin_is_accepted(client, personas):
    # What Chromium sends for a form on this site under some referrer policies.
    client.cookies.update(await session_cookie_for(personas["admin"]))
    token = await csrf_token(client, "/admin/agencies")
    answer = await client.post(
        "/admin/agencies",
        data={"name": "Null Origin Agency", "kind": "other", "csrf_token": token},
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
    )
    assert answer.status_code == 303


async def test_a_token_from_another_session_is_refused(app, personas):
    async with make_client(app) as attacker, make_client(app) as victim:
        attacker.cookies.update(await session_cookie_for(personas["police"]))
        stolen = await csrf_token(attacker, "/")
        victim.cookies.update(await session_cookie_for(personas["admin"]))
        answer = await victim.post("/admin/agencies", data={"name": "Planted", "kind": "other", "csrf_token": stolen})
        assert answer.status_code == 403
    assert not await Agency.filter(name="Planted").exists()


async def test_a_body_over_1_mib_is_refused_with_413(client, personas):
    big = {"name": "x" * (1024 * 1024 + 10), "kind": "other"}
    answer = await client.post("/api/v1/agencies", json=big, headers=personas["admin"].bearer)
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_large"

    async def stream():  # no Content-Length: the limit still holds while reading
        for _ in range(20):
            yield b"x" * 65536

    chunked = await client.post(
        "/api/v1/agencies", content=stream(), headers={**personas["admin"].bearer, "Content-Type": "application/json"}
    )
    assert chunked.status_code == 413
    assert await Agency.filter(name__startswith="xxx").count() == 0


async def test_user_text_is_escaped_on_pages(client, personas):
    await Agency.create(name='<script>alert("x")</script>', kind="other")
    client.cookies.update(await session_cookie_for(personas["admin"]))
    page = (await client.get("/admin/agencies")).text
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;" in page


async def test_errors_use_the_contract_envelope_and_show_no_internals(client, personas):
    missing = await client.get("/api/v1/nothing-here", headers=personas["police"].bearer)
    assert missing.status_code == 404
    assert set(missing.json()["error"]) == {"code", "message", "fields"}
    unauthenticated = await client.get("/api/v1/agencies", headers={"Authorization": "Bearer marac_wrong"})
    assert unauthenticated.status_code == 401 and unauthenticated.json()["error"]["code"] == "unauthorized"
    page = await client.get("/definitely/not/here")
    assert page.status_code == 404 and "Traceback" not in page.text and "Page not found" in page.text


async def test_an_id_no_record_can_have_is_not_found_not_a_server_error(client, personas):
    # Longer than the id column (the ORM refuses to compare it), a NUL byte (PostgreSQL refuses
    # it), a slug that breaks the slug rule: each answers like any missing record.
    for bad in ["a" * 40, "%00", "ab%2Fcd", "A" * 32]:
        for path, who in [
            (f"/api/v1/referrals/{bad}", "police"),
            (f"/api/v1/meetings/{bad}/agenda", "housing"),
            (f"/api/v1/actions/{bad}", "admin"),
            (f"/api/v1/conferences/{bad}", "police"),
        ]:
            answer = await client.request("PATCH" if "actions" in path else "GET", path, headers=personas[who].bearer)
            assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found", (path, answer.text)
    client.cookies.update(await session_cookie_for(personas["police"]))
    assert (await client.get(f"/referrals/{'a' * 40}")).status_code == 404
    for name, value in [("user", "a" * 40), ("object_id", "x" * 65), ("object_id", "a%00b")]:
        refused = await client.get(f"/api/v1/audit?{name}={value}", headers=personas["auditor"].bearer)
        assert refused.status_code == 422 and name in refused.json()["error"]["fields"], refused.text


async def test_text_no_database_can_store_is_refused_as_input(client, personas):
    # A NUL character (PostgreSQL refuses it) or half a surrogate pair (no database can encode
    # it) is bad input: 422 naming the field on the API, 400 on a page, nothing stored.
    admin = {**personas["admin"].bearer, "Content-Type": "application/json"}
    for raw in [
        '{"name": "Nul\\u0000Agency", "kind": "other"}',
        '{"name": "Half\\ud800Agency", "kind": "other"}',
        '{"name": "Key Agency", "kind": "other", "\\u0000": 1}',
    ]:
        answer = await client.post("/api/v1/agencies", content=raw, headers=admin)
        assert answer.status_code == 422 and answer.json()["error"]["fields"], raw
    body = dash_body()
    body["victim"]["name"] = "Jane\x00Doe"
    referral = await client.post("/api/v1/referrals", json=body, headers=personas["police"].bearer)
    assert referral.status_code == 422 and "victim.name" in referral.json()["error"]["fields"]
    client.cookies.update(await session_cookie_for(personas["admin"]))
    token = await csrf_token(client, "/admin/agencies")
    page = await client.post("/admin/agencies", data={"name": "Form\x00Agency", "kind": "other", "csrf_token": token})
    assert page.status_code == 400
    assert not await Agency.filter(name__contains="Agency").exists()


async def test_health_endpoints_answer_without_authentication(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = (await client.get("/readyz")).json()
    assert ready["status"] == "ok" and ready["checks"]["database"] == "ok" and ready["checks"]["queue"] == "ok"


async def test_every_page_links_the_favicon_and_it_is_served(client, personas):
    """A browser asks for /favicon.ico whatever the page says: it must not be a 404 in the log."""
    assert '<link rel="icon" href="/favicon.ico"' in (await client.get("/login")).text
    client.cookies.update(await session_cookie_for(personas["police"]))
    assert '<link rel="icon" href="/favicon.ico"' in (await client.get("/")).text
    client.cookies.clear()
    icon = await client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
    assert icon.headers["cache-control"] == "public, max-age=3600"  # no case data: a browser may keep it
    assert "content-security-policy" in icon.headers


def _post_scope(path: str, length: int) -> dict:
    headers = [
        (b"host", b"testserver"),
        (b"content-type", b"application/x-www-form-urlencoded"),
        (b"content-length", str(length).encode()),
    ]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def test_a_client_that_disconnects_mid_request_is_logged_as_a_disconnect_not_a_500(app, caplog):
    # What the server hands the app when the connection drops halfway through the body.
    messages = [{"type": "http.request", "body": b"email=someone%40", "more_body": True}, {"type": "http.disconnect"}]

    async def receive() -> dict:
        return messages.pop(0) if len(messages) > 1 else messages[0]

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    with caplog.at_level(logging.INFO, logger="marac"):
        await app(_post_scope("/login", 200), receive, send)  # raises nothing
    assert "client disconnected (ClientDisconnect) on POST /login request_id=" in caplog.text
    assert "unhandled" not in caplog.text and not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [m for m in sent if m["type"] == "http.response.start"]  # nobody to answer
    assert "someone" not in caplog.text


async def test_a_real_server_logs_no_error_when_a_client_hangs_up_mid_body(app, tmp_path):
    from tests.test_faults import free_port, web_process

    port, output = free_port(), tmp_path / "serve.log"
    async with web_process(dict(os.environ), port, output):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 500\r\n\r\nemail=someone%40"
        )
        await writer.drain()
        await asyncio.sleep(0.5)  # the server is now waiting for the rest of the body
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(0.5)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            assert (await http.get("/healthz")).status_code == 200  # and it carries on
    logged = output.read_text()
    for error in ("Exception in ASGI application", "Traceback", "unhandled"):
        assert error not in logged, logged
