"""Each user's choice, per kind of notice, of how they are e-mailed: at once, in the daily digest, or not at all.
Notices of a duty cannot be switched off, only moved to the digest (kinds.DUTIES). The account page and
`GET/PUT /api/v1/notifications/preferences` both read and write them here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from marac.alerts import kinds
from marac.alerts.kinds import Mode
from marac.errors import RuleViolation
from marac.i18n import gettext as _
from marac.notices.models import NotificationPreference


@dataclass(frozen=True)
class Preference:
    kind: str
    label: str
    mode: Mode
    duty: bool  # cannot be off


async def modes_for(
    users: Iterable[tuple[str, str]], conn: BaseDBAsyncClient | None = None
) -> dict[str, dict[str, Mode]]:
    """{user id: {kind: mode}} for (user id, own role) pairs: each user's choices over their role's defaults."""
    roles = dict(users)
    chosen: dict[tuple[str, str], Mode] = {}
    if roles:
        for user_id, kind, mode in (
            await NotificationPreference.filter(user_id__in=list(roles))
            .using_db(conn)
            .values_list("user_id", "kind", "mode")
        ):
            chosen[(user_id, kind)] = mode
    return {
        user_id: {kind: chosen.get((user_id, kind), kinds.default_mode(role, kind)) for kind in kinds.KINDS}
        for user_id, role in roles.items()
    }


async def read(user_id: str, role: str) -> list[Preference]:
    modes = (await modes_for([(user_id, role)]))[user_id]
    return [Preference(kind, str(kinds.LABEL[kind]), modes[kind], kind in kinds.DUTIES) for kind in kinds.KINDS]


async def choose(user_id: str, role: str, choices: dict[str, object]) -> list[Preference]:
    """Set some kinds' modes (the others stay). Refused whole, with a message per kind, if a kind is unknown,
    a mode is not one of the three, or a duty is switched off."""
    errors: dict[str, str] = {}
    for kind, mode in choices.items():
        if kind not in kinds.KINDS:
            errors[kind] = _("Not a kind of notification")
        elif mode not in kinds.MODES:
            errors[kind] = _("Choose immediately, daily digest or off")
        elif mode == "off" and kind in kinds.DUTIES:
            errors[kind] = _("%(kind)s is a duty: choose immediately or the daily digest") % {"kind": kinds.LABEL[kind]}
    if errors:
        raise RuleViolation(_("The notification settings are not valid"), errors)
    async with in_transaction() as conn:
        for kind, mode in choices.items():
            await NotificationPreference.filter(user_id=user_id, kind=kind).using_db(conn).delete()
            await NotificationPreference.create(user_id=user_id, kind=kind, mode=mode, using_db=conn)
    return await read(user_id, role)
