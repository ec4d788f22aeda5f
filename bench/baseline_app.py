"""The two HTTP baselines of bench/national.py, served exactly like marac (uvicorn, uvloop, httptools,
one worker) against the same database:

- GET /hello: a bare Starlette hello-world, the ceiling of the server itself;
- GET /one: a bare Starlette endpoint doing one Tortoise primary-key query (the action named
  by BENCH_ACTION_ID), the floor any data endpoint pays;
- GET /api/v1/actions and PATCH /api/v1/actions/{id}: the fair floors of marac's two action routes,
  at the same paths so the same wrk scripts drive them: the same page of open actions (the owner
  agency BENCH_AGENCY_ID's, in BENCH_CONFERENCE_IDS) as rows of similar width from one Tortoise query,
  and one UPDATE of the version; no sign-in, no access check, no decryption, no audit.

    uvicorn bench.baseline_app:create_app --factory --loop uvloop --http httptools
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from tortoise.contrib.starlette import RegisterTortoise
from tortoise.expressions import F

from marac import db
from marac.actions.models import OPEN, Action

PAGE = 50  # as GET /api/v1/actions


def create_app() -> Starlette:
    action_id = os.environ["BENCH_ACTION_ID"]
    agency_id = os.environ.get("BENCH_AGENCY_ID", "")
    conference_ids = os.environ.get("BENCH_CONFERENCE_IDS", "").split(",")

    async def hello(request: Request) -> JSONResponse:
        return JSONResponse({"hello": "world"})

    async def one(request: Request) -> JSONResponse:
        action = await Action.get(id=action_id)
        return JSONResponse({"id": action.id, "version": action.version})

    async def action_list(request: Request) -> JSONResponse:
        # The open statuses by name and the list's own order, as marac asks (actions/queries.py): the page
        # read from the index, not every action the agency ever owned sorted.
        rows = (
            await Action.filter(conference_id__in=conference_ids, owner_agency_id=agency_id, status__in=list(OPEN))
            .order_by("due_date", "created_at", "id")
            .limit(PAGE)
            .values("id", "item_id", "meeting_id", "conference_id", "owner_agency_id", "due_date", "status", "version")
        )
        return JSONResponse({"items": [{**r, "due_date": r["due_date"].isoformat()} for r in rows]})

    async def action_update(request: Request) -> JSONResponse:
        found = request.path_params["action_id"]
        await Action.filter(id=found).update(version=F("version") + 1)
        return JSONResponse({"id": found})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=db.tortoise_config()):
            yield

    routes = [
        Route("/hello", hello),
        Route("/one", one),
        Route("/api/v1/actions", action_list),
        Route("/api/v1/actions/{action_id}", action_update, methods=["PATCH"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
