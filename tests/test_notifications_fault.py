"""The mail server is down while 50 events are told: once it is back, every e-mail arrives exactly once within
2 minutes, sent by a real worker's own sweep (docs/notifications.md, Delivery), with nobody queueing anything."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter

import pytest
from aiosmtpd.controller import Controller

from marac.agencies.access import viewer_for
from marac.agencies.models import Membership
from marac.jobs import queue
from marac.notices.models import Event
from marac.notify.models import OutboxEmail
from marac.referrals import service as referrals
from tests.builders import TODAY
from tests.conftest import dash_body
from tests.flows import queue_mode
from tests.mail import Inbox, free_port
from tests.test_jobs import REDIS_URL, needs_redis

pytestmark = [pytest.mark.fault, needs_redis]
EVENTS = 50


async def start_worker(smtp_url: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "marac.cli",
        "worker",
        env={**os.environ, "MARAC_REDIS_URL": REDIS_URL or "", "MARAC_SMTP_URL": smtp_url},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )


async def wait_for(condition, seconds: float) -> bool:
    for _ in range(int(seconds * 4)):
        if await condition():
            return True
        await asyncio.sleep(0.25)
    return False


def body(n: int) -> dict:
    victim = {**dash_body()["victim"], "name": f"Victim Number{n:02d}", "date_of_birth": f"{1950 + n}-01-15"}
    victim["address"] = {**victim["address"], "postcode": f"NS{n} 2BB"}
    perpetrators = [{"name": f"Other Person{n:02d}", "date_of_birth": f"{1940 + n}-06-01"}]
    return dash_body(victim=victim, perpetrators=perpetrators, children=[])


async def test_smtp_down_while_50_events_are_told_every_email_arrives_once_when_it_is_back(personas):
    # The IDVA service receives the conference's referrals: each event tells two people.
    await Membership.filter(agency_id=personas["idva"].user.agency_id).update(receives_referrals=True)
    port = free_port()
    inbox = Inbox()
    police = await viewer_for(personas["police"].user)
    async with queue_mode(REDIS_URL):
        worker = await start_worker(f"smtp://127.0.0.1:{port}")  # nothing listens there yet
        try:
            for n in range(EVENTS):
                await referrals.submit(police, body(n), TODAY)
            assert await Event.filter(kind="referral.received").count() == EVENTS
            await queue.enqueue("notify_people")  # the kick a request gives

            async def told() -> bool:
                return not await Event.filter(notified_at__isnull=True).exists()

            async def tried() -> bool:
                return await OutboxEmail.filter(kind="notice", attempts__gte=1).count() == expected

            assert await wait_for(told, 90), "the worker told nobody"
            expected = await OutboxEmail.filter(kind="notice").count()
            assert expected >= 2 * EVENTS
            assert await wait_for(tried, 90), "the worker never tried to send"
            assert not await OutboxEmail.filter(kind="notice", status="sent").exists()

            controller = Controller(inbox, hostname="127.0.0.1", port=port)
            controller.start()
            back = time.monotonic()
            try:

                async def arrived() -> bool:
                    return len(inbox.messages) >= expected

                assert await wait_for(arrived, 120), f"{len(inbox.messages)} of {expected} e-mails in 2 minutes"
                assert time.monotonic() - back <= 120
                await asyncio.sleep(5)  # and no second copy follows
            finally:
                controller.stop()
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(worker.wait(), timeout=30)
            except TimeoutError:
                os.killpg(worker.pid, signal.SIGKILL)
    assert len(inbox.messages) == expected
    sent = Counter(to for recipients in inbox.recipients for to in recipients)
    rows = Counter(email for email in await OutboxEmail.filter(kind="notice").values_list("user__email", flat=True))
    assert sent == rows
    assert await OutboxEmail.filter(kind="notice", status="sent").count() == expected
