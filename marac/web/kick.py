"""Telling people starts as soon as a change that emitted events is answered (marac/alerts/fanout.py).

The events were written in the change's own transaction, so by the time the handler has answered they are
committed; the `notify_people` job is queued then. A lost kick (Redis away, a process killed) only delays the
telling until the sweep a minute later."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from marac.jobs import queue
from marac.notices import events

log = logging.getLogger("marac.web")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class NotifyAfterChange:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        emitted = events.watch()
        await self.app(scope, receive, send)
        if emitted:
            try:
                await queue.enqueue("notify_people")
            except Exception as exc:  # the answer is sent; the sweep tells them within a minute
                log.warning("notify_people not queued (%s): the sweep will tell", type(exc).__name__)
