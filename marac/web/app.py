"""The Starlette application: routes, middleware, error handlers and the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from tortoise import connections
from tortoise.contrib.starlette import RegisterTortoise

from marac import db, metrics, settings
from marac.conference_types import conference_types, instruments
from marac.documents import pool
from marac.jobs import queue
from marac.web import (
    api,
    api_actions,
    api_meetings,
    api_minutes,
    api_notifications,
    api_referrals,
    api_reports,
    api_todo,
    api_webhooks,
    errors,
    openapi,
)
from marac.web.kick import NotifyAfterChange
from marac.web.language import LanguageMiddleware
from marac.web.middleware import BodyTooLarge, SecurityMiddleware
from marac.web.pages import (
    account,
    actions,
    admin,
    break_glass,
    dashboard,
    disclosures,
    governance,
    history,
    jobs,
    meetings,
    minutes,
    notifications,
    preparation,
    referrals,
    reports,
    signin,
    webhooks,
)

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Ours, plain (an "M"): GOV.UK Frontend's crown is for GOV.UK services only. Read at import,
# so it is there before (and without) the front-end asset build.
FAVICON = (Path(__file__).resolve().parent / "favicon.ico").read_bytes()


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def favicon(request: Request) -> Response:
    return Response(FAVICON, media_type="image/x-icon")


async def readyz(request: Request) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        await connections.get("default").execute_query("SELECT 1")
        checks["database"] = "ok"
    except Exception:  # any failure means not ready; the reason is for the logs, not callers
        checks["database"] = "unavailable"
    try:
        checks["queue"] = "ok" if await queue.ping() else "unavailable"
    except Exception:
        checks["queue"] = "unavailable"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )


def create_app() -> Starlette:
    settings.get()  # production with a weak secret stops here, whoever starts the app
    conference_types()  # a broken agendas/*.toml stops start-up here, naming file and key
    instruments()
    routes = [
        *signin.routes,
        *account.routes,
        *dashboard.routes,
        *admin.routes,
        *webhooks.routes,
        *referrals.routes,
        *meetings.routes,
        *preparation.routes,
        *minutes.routes,
        *notifications.routes,
        *disclosures.routes,
        *break_glass.routes,
        *governance.routes,
        *history.routes,
        *actions.routes,
        *reports.routes,
        *jobs.routes,
        *api.routes,
        *api_referrals.routes,
        *api_meetings.routes,
        *api_actions.routes,
        *api_minutes.routes,
        *api_notifications.routes,
        *api_reports.routes,
        *api_todo.routes,
        *api_webhooks.routes,
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/favicon.ico", favicon, methods=["GET"]),
        # 404 unless MARAC_METRICS_TOKEN is set and sent as a bearer token; nginx never passes it on.
        Route("/metrics", metrics.endpoint, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static"),
    ]
    routes.append(Route("/api/v1/openapi.json", openapi.endpoint(routes), methods=["GET"]))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=db.tortoise_config()):
            await queue.start()
            try:
                yield
            finally:
                await queue.stop()
                pool.shutdown()

    return Starlette(
        routes=routes,
        middleware=[Middleware(SecurityMiddleware), Middleware(LanguageMiddleware), Middleware(NotifyAfterChange)],
        exception_handlers={
            HTTPException: errors.http_exception,
            BodyTooLarge: errors.too_large,
            **{kind: errors.database_unavailable for kind in db.UNAVAILABLE},
            Exception: errors.server_error,
        },
        lifespan=lifespan,
    )
