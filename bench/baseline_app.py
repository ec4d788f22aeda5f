"""The two HTTP baselines of bench/national.py, served exactly like marac (uvicorn, uvloop, httptools,
one worker) against the same database:

- GET /hello: a bare Starlette hello-world, the ceiling of the server itself;
- GET /one: a bare Starlette endpoint doing one Tortoise primary-key query (the action named
  by BENCH_ACTION_ID), the floor any data endpoint pays.

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

from marac import db
from marac.actions.models import Action


def create_app() -> Starlette:
    action_id = os.environ["BENCH_ACTION_ID"]

    async def hello(request: Request) -> JSONResponse:
        return JSONResponse({"hello": "world"})

    async def one(request: Request) -> JSONResponse:
        action = await Action.get(id=action_id)
        return JSONResponse({"id": action.id, "version": action.version})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=db.tortoise_config()):
            yield

    return Starlette(routes=[Route("/hello", hello), Route("/one", one)], lifespan=lifespan)
