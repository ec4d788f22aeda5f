"""E-mails about accounts locked after wrong security codes (auth.LOCK_PERIOD says why and
for how long). Written to the e-mail outbox (marac/notify/outbox.py) in the lock's own
transaction, beside the notifications in the app, so a lock is never told twice or lost. An
e-mail leaves our control, so it holds counts and a link only: never whose account, and
nothing about any case."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from marac import i18n, settings
from marac.agencies.models import User
from marac.clock import now
from marac.i18n import gettext as _
from marac.i18n import lazy_gettext
from marac.notices.models import Notification
from marac.notify import outbox

SUBJECT = {
    "own_lock": lazy_gettext("MARAC: your account is locked"),
    "account_lock": lazy_gettext("MARAC: an account of your conference was locked"),
}
# Past a day the lock has long run its course: the e-mail is no longer worth sending.
WORTH_SENDING = timedelta(days=1)


async def tell_by_email(user_id: str, kind: str, day: date, conn: Any = None) -> None:
    """Queue the e-mail that goes with a lock notification just posted in the app, in the user's language."""
    today = await Notification.filter(user_id=user_id, kind=kind, day=day).using_db(conn).count()
    found = await User.filter(id=user_id).using_db(conn).values("language")
    with i18n.use(found[0]["language"] if found else None):
        subject, body = str(SUBJECT[kind]), _body(kind, today)
    await outbox.put(user_id, kind, subject, body, now() + WORTH_SENDING, conn)


def _body(kind: str, today: int) -> str:
    base = settings.get().base_url
    if kind == "own_lock":
        lines = [
            _("Your MARAC account was locked after 5 wrong security codes in a row."),
            _("Locks of your account today: %(num)d") % {"num": today},
            "",
            _(
                "It opens again by itself after an hour. If these were not your attempts, someone knows "
                "your password: ask your administrator to reset your sign-in now."
            ),
            "",
            _("Sign in: %(link)s") % {"link": f"{base}/login"},
        ]
    else:
        lines = [
            _("An account of one of your conferences was locked after 5 wrong security codes in a row."),
            _("Such locks you were told of today: %(num)d") % {"num": today},
            "",
            _("Sign in to see your notifications: %(link)s") % {"link": f"{base}/notifications"},
        ]
    closing = _("This message holds no names or case details on purpose. Please do not reply to it.")
    return "\n".join([*lines, "", closing])
