"""Transport-level protection for every response, as one pure ASGI middleware.

- a request id, for the audit trail, error pages and logs, sent back as X-Request-Id. Always
  our own: an incoming X-Request-Id is ignored, so no client chooses what its lines are
  filed under (nginx can log ours from the answer: $upstream_http_x_request_id);
- one log line per request (request id, method, route template, status, duration, user id:
  never the path or a value) and its latency in marac_http_request_duration_seconds;
- unsafe methods refused when the browser says the request is cross-site (CSRF, first line);
- request bodies over 1 MiB refused with 413, whether or not a Content-Length was sent;
- security headers on every response; no-store on everything but static assets;
- an unhandled error answered here, as a 500 with those headers. Starlette's own error
  answer is sent from outside every middleware, and the exception then reaches the server,
  which would log it with its message (which may hold what the user typed).
- a client that goes away mid-request logged as a disconnect, not as a server error.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from urllib.parse import urlsplit

import anyio
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from marac import metrics, settings
from marac.audit.service import request_id_var
from marac.web import errors

log = logging.getLogger("marac.web")
requests_log = logging.getLogger("marac.requests")

MAX_BODY = 1024 * 1024
# What reading the body or streaming the answer raises once the client has gone: Starlette's
# ClientDisconnect (the server said http.disconnect), anyio's stream errors (a response
# streamed to a closed connection). Nobody is left to answer, and nothing went wrong here.
DISCONNECTED = (ClientDisconnect, anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class BodyTooLarge(Exception):
    pass


class SecurityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        began = time.perf_counter()
        status = [0]  # what was answered; 0 if nothing was (a client gone)
        try:
            await self._handle(scope, receive, send, request_id, status)
        finally:
            _record(scope, request_id, status[0], time.perf_counter() - began)
            request_id_var.reset(token)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, request_id: str, status: list[int]) -> None:
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                status[0] = message["status"]
                message["headers"] = list(message.get("headers", [])) + _security_headers(path, request_id)
            await send(message)

        if scope["method"] not in SAFE_METHODS and _cross_site(headers, scope):
            await _refuse(send_with_headers, path, 403, "cross_site", "Cross-site requests are not accepted")
            return
        declared = headers.get("content-length")
        if declared is not None and (not re.fullmatch(r"[0-9]{1,18}", declared) or int(declared) > MAX_BODY):
            await _refuse(send_with_headers, path, 413, "too_large", "The request body is larger than 1 MiB")
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY:
                    raise BodyTooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(send_with_headers, path, 413, "too_large", "The request body is larger than 1 MiB")
        except DISCONNECTED as exc:
            # The route template, never the path (a path can carry a set-up token); no answer is sent.
            route = getattr(scope.get("route"), "path", "?")
            log.info(
                "client disconnected (%s) on %s %s request_id=%s",
                type(exc).__name__,
                scope["method"],
                route,
                request_id,
            )
        except Exception as exc:
            if started:  # the server can only end the connection (and log it: marac.logs keeps values out)
                raise
            response = await errors.server_error(Request(scope), exc)
            await response(scope, receive, send_with_headers)


def _record(scope: Scope, request_id: str, status: int, seconds: float) -> None:
    # The template a route matched (/cases/{case_id}), never the path: a path carries ids and tokens.
    route = getattr(scope.get("route"), "path", None) or "unmatched"
    caller = scope.get("state", {}).get("caller")
    user_id = getattr(getattr(caller, "user", None), "id", None)
    metrics.REQUEST_SECONDS.labels(scope["method"], route, str(status)).observe(seconds)
    requests_log.info(
        "%s %s %s",
        scope["method"],
        route,
        status,
        extra={
            "request_id": request_id,
            "method": scope["method"],
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "user_id": user_id,
        },
    )


def _cross_site(headers: dict[str, str], scope: Scope) -> bool:
    # Browsers send Sec-Fetch-Site on every request; trust it first. Under some referrer
    # policies Chromium sends "Origin: null" on same-origin form posts, so Origin alone
    # would refuse real users.
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = headers.get("origin")
    if not origin:
        return False  # not a browser form post: bearer-token clients send no Origin
    if origin == "null":
        return True
    allowed = {settings.get().base_url}
    host = headers.get("host")
    if host:
        allowed.add(f"{scope.get('scheme', 'http')}://{host}")
    parts = urlsplit(origin)
    return f"{parts.scheme}://{parts.netloc}" not in allowed


def _security_headers(path: str, request_id: str) -> list[tuple[bytes, bytes]]:
    values = [
        ("content-security-policy", CSP),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
        ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()"),
        ("x-request-id", request_id),
    ]
    if path.startswith("/static/") or path == "/favicon.ico":
        values.append(("cache-control", "public, max-age=3600"))
    else:
        # Pages and API answers carry case data: never kept by a browser or a proxy.
        values.append(("cache-control", "no-store"))
    if settings.get().production:
        values.append(("strict-transport-security", "max-age=63072000; includeSubDomains"))
    return [(k.encode(), v.encode()) for k, v in values]


async def _refuse(send: Send, path: str, status: int, code: str, message: str) -> None:
    if path.startswith("/api/"):
        body = json.dumps({"error": {"code": code, "message": message, "fields": {}}}).encode()
        content_type = b"application/json"
    else:
        body = message.encode()
        content_type = b"text/plain; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
