"""The e-mail outbox: messages written in the transaction of the change they tell about, sent by a job.

A message is a row first (put()), so a lost queue message, a dead worker or a refusing mail
server delays it and never loses it; send_pending() is the job, run after each change and
every few minutes, and tries each row again with a growing pause until it goes or stops being
worth sending (a set-up link past its expiry). Each message goes to one user's own address,
read when it is sent. The body is sealed while it waits and erased once it is sent or given
up; nothing here logs an address, a subject or a body.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q

from marac.clock import now
from marac.notify import email
from marac.notify.models import OutboxEmail

log = logging.getLogger("marac.notify")

# A sender holds a row this long; one that died mid-send leaves it to the next run.
CLAIM = timedelta(minutes=5)
# Half the sweep's minute: mail held while the server was down goes at the first sweep after it is back
# (tests/test_notifications_fault.py: every e-mail within 2 minutes).
FIRST_RETRY = timedelta(seconds=30)
LONGEST_PAUSE = timedelta(hours=1)
BATCH = 200


async def put(user_id: str, kind: str, subject: str, body: str, expires_at: datetime, conn: Any = None) -> OutboxEmail:
    """One message to one user, in the caller's transaction (`conn`)."""
    return await OutboxEmail.create(
        user_id=user_id,
        kind=kind,
        subject=subject,
        body=body,
        next_attempt_at=now(),
        expires_at=expires_at,
        using_db=conn,
    )


async def cancel(user_id: str, kind: str, conn: Any = None) -> int:
    """Drop a user's unsent messages of a kind (an earlier set-up link a reset replaces)."""
    return (
        await OutboxEmail.filter(user_id=user_id, kind=kind, status="pending")
        .using_db(conn)
        .update(status="cancelled", body=None)
    )


def _pause(attempts: int) -> timedelta:
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_PAUSE)


async def send_pending() -> int:
    """Send what is due; returns how many went. Without MARAC_SMTP_URL nothing is sent and
    every row waits. Delivery is at least once: a sender that dies after the server took a
    message and before marking it sent leaves it to be sent again."""
    at = now()
    await _give_up(at)
    if not email.configured():
        return 0
    due = Q(status="pending", next_attempt_at__lte=at) & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=at))
    sent = failed = 0
    for row_id in await OutboxEmail.filter(due).order_by("next_attempt_at").limit(BATCH).values_list("id", flat=True):
        # Claimed first, so of two senders at once only the one whose update changed the row sends.
        if not await OutboxEmail.filter(due, id=row_id).update(claimed_until=at + CLAIM):
            continue
        message = await OutboxEmail.get(id=row_id).prefetch_related("user")
        user = message.user
        if not user.active:  # a disabled account's set-up link would not work; nothing else goes to it either
            await OutboxEmail.filter(id=row_id).update(status="cancelled", body=None, claimed_until=None)
            continue
        try:
            await email.send(user.email, message.subject, message.body or "")
        except OSError:  # smtplib's and ssl's errors are OSErrors
            attempts = message.attempts + 1
            await OutboxEmail.filter(id=row_id).update(
                attempts=attempts, next_attempt_at=now() + _pause(attempts), claimed_until=None
            )
            failed += 1
            continue
        await OutboxEmail.filter(id=row_id).update(
            status="sent", sent_at=now(), body=None, claimed_until=None, attempts=message.attempts + 1
        )
        sent += 1
    if failed:
        log.error("email outbox failed=%d (each is tried again)", failed)
    return sent


async def _give_up(at: datetime) -> None:
    expired = await OutboxEmail.filter(status="pending", expires_at__lte=at).update(status="expired", body=None)
    if expired:
        log.error("email outbox expired=%d (never sent)", expired)
