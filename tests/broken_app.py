"""The marac app with two routes that fail, for tests of what a failure shows and what is
logged (tests/test_served.py); the routes exist in no other app."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from marac.web.app import create_app as create_marac_app


async def fails(request: Request) -> Response:
    int(request.query_params.get("value", ""))  # ValueError: invalid literal for int() ... 'the value'
    return Response("unreachable")


async def fails_midway(request: Request) -> Response:
    value = request.query_params.get("value", "")

    async def body() -> AsyncIterator[bytes]:
        yield b"first part\n"
        raise ValueError(f"could not go on with {value}")

    return StreamingResponse(body(), media_type="text/plain")


def create_app() -> Starlette:
    app = create_marac_app()
    app.router.routes += [
        Route("/test-only/fails", fails),
        Route("/api/v1/test-only/fails", fails),
        Route("/test-only/fails-midway", fails_midway),
    ]
    return app
