"""E-mails about accounts locked after wrong security codes (auth.LOCK_PERIOD says why and
for how long). The notifications in the app are written with the lock; this sends each one
once, claimed before sending as for break-glass. An e-mail leaves our control, so it holds
counts and a link only: never whose account, and nothing about any case."""

from __future__ import annotations

import logging

from marac import settings
from marac.notices.models import Notification
from marac.notify import email

log = logging.getLogger("marac.locks")
KINDS = ("own_lock", "account_lock")
SUBJECT = {
    "own_lock": "MARAC: your account is locked",
    "account_lock": "MARAC: an account of your conference was locked",
}


async def email_locks() -> int:
    """Send every lock notification not yet e-mailed; without MARAC_SMTP_URL the app's own
    notifications are all. Returns how many were sent."""
    if not email.configured():
        return 0
    sent = 0
    for notification in await Notification.filter(kind__in=KINDS, emailed=False).prefetch_related("user"):
        if not await Notification.filter(id=notification.id, emailed=False).update(emailed=True):
            continue  # another delivery of the job has it
        recipient = notification.user
        if not recipient.active:
            continue
        today = await Notification.filter(user_id=recipient.id, kind=notification.kind, day=notification.day).count()
        try:
            await email.send(recipient.email, SUBJECT[notification.kind], _body(notification.kind, today))
        except OSError:  # released so a retry sends it
            await Notification.filter(id=notification.id).update(emailed=False)
            log.error("lock e-mail failed")
            continue
        sent += 1
    return sent


def _body(kind: str, today: int) -> str:
    base = settings.get().base_url
    if kind == "own_lock":
        lines = [
            "Your MARAC account was locked after 5 wrong security codes in a row.",
            f"Locks of your account today: {today}",
            "",
            "It opens again by itself after an hour. If these were not your attempts, someone knows",
            "your password: ask your administrator to reset your sign-in now.",
            "",
            f"Sign in: {base}/login",
        ]
    else:
        lines = [
            "An account of one of your conferences was locked after 5 wrong security codes in a row.",
            f"Such locks you were told of today: {today}",
            "",
            f"Sign in to see your notifications: {base}/notifications",
        ]
    return "\n".join([*lines, "", "This message holds no names or case details on purpose. Please do not reply to it."])
