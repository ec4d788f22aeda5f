"""Telling people (marac/alerts/fanout.py) and agency systems (marac/webhooks/delivery.py) starts as soon as
a change that emitted events is answered.

The events were written in the change's own transaction, so by the time the handler has answered they are
committed; the `notify_people` and `deliver_webhooks` jobs are queued then. A lost kick (Redis away, a
process killed) only delays the telling until the sweep a minute later."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from marac.jobs import queue
from marac.notices import events

log = logging.getLogger("marac.web")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
TELLING = ("notify_people", "deliver_webhooks")


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
            for job in TELLING:
                try:
                    await queue.enqueue(job)
                except Exception as exc:  # the answer is sent; the sweep tells them within a minute
                    log.warning("%s not queued (%s): the sweep will tell", job, type(exc).__name__)
