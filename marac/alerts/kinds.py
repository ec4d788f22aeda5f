"""The kinds of notice people receive, what each event becomes, how each may be e-mailed, and the words.

The notice kinds are the API's (`GET /api/v1/notifications`); docs/notifications.md has the table of events
and who is told. Every word here is for an e-mail too, so none names a person, a case or an agency."""

from __future__ import annotations

from typing import Literal

# Event kind -> notice kind. The action reminders keep the in-app kinds they always had (due_soon, overdue).
NOTICE_OF = {
    "referral.received": "referral_received",
    "referral.decided": "referral_decided",
    "referral.repeat": "repeat_detected",
    "referral.duplicate": "possible_duplicate",
    "agenda.published": "agenda_published",
    "action.assigned": "action_assigned",
    "action.updated": "action_assigned",
    "action.due": "due_soon",
    "action.overdue": "overdue",
    "minutes.ready": "minutes_ready",
    "minutes.late": "minutes_late",
}
# What other in-app notices are called in the API; a notice's e-mail follows the choice for its API kind.
API_KIND = {"due_soon": "action_due", "overdue": "action_due", "minutes_version": "minutes_ready"}
# Told by a daily run, many at once: a user who wants them at once gets one e-mail per run with counts, not one each.
DAILY = frozenset({"due_soon", "overdue"})

KINDS = (
    "referral_received",
    "referral_decided",
    "repeat_detected",
    "possible_duplicate",
    "agenda_published",
    "action_assigned",
    "action_due",
    "minutes_ready",
    "minutes_late",
)
Mode = Literal["immediate", "digest", "off"]
MODES: tuple[Mode, ...] = ("immediate", "digest", "off")
# Notices of a duty (research due, an action to do, minutes to read): e-mailed at least in the digest.
DUTIES = frozenset({"agenda_published", "action_assigned", "minutes_ready"})

# By the user's own role; a kind not named is e-mailed at once. The coordinator hears at once of what waits
# for them and in the digest of what their agency must do; the chair's referrals come in the digest.
DEFAULTS: dict[str, dict[str, Mode]] = {
    "coordinator": {
        "agenda_published": "digest",
        "action_assigned": "digest",
        "action_due": "digest",
        "minutes_ready": "digest",
    },
    "chair": {"referral_received": "digest", "repeat_detected": "digest", "possible_duplicate": "digest"},
    "deputy_chair": {"referral_received": "digest", "repeat_detected": "digest", "possible_duplicate": "digest"},
}

LABEL = {
    "referral_received": "New referrals",
    "referral_decided": "Referrals decided",
    "repeat_detected": "Repeat referrals found",
    "possible_duplicate": "Possible duplicate referrals",
    "agenda_published": "Research due",
    "action_assigned": "Actions for your agency",
    "action_due": "Actions due within 3 days or overdue",
    "minutes_ready": "Minutes ready",
    "minutes_late": "Minutes not yet circulated",
}
# One line of an e-mail per kind, for one and for more: a count and what it is, nothing about whom.
_LINE = {
    "referral_received": ("new referral received", "new referrals received"),
    "referral_decided": ("referral you made was decided", "referrals you made were decided"),
    "repeat_detected": ("referral found to be a repeat", "referrals found to be repeats"),
    "possible_duplicate": ("referral found to be a possible duplicate", "referrals found to be possible duplicates"),
    "agenda_published": ("research list published: research is due", "research lists published: research is due"),
    "action_assigned": ("action of your agency assigned or changed", "actions of your agency assigned or changed"),
    "overdue": ("action overdue", "actions overdue"),
    "due_soon": ("action due in the next 3 days", "actions due in the next 3 days"),
    "minutes_ready": ("set of minutes ready for your agency", "sets of minutes ready for your agency"),
    "minutes_late": (
        "set of minutes not circulated within 3 working days",
        "sets of minutes not circulated within 3 working days",
    ),
}


def preference(kind: str) -> str:
    """The kind of choice (KINDS) that governs how a notice of this kind is e-mailed."""
    return API_KIND.get(kind, kind)


def default_mode(role: str, kind: str) -> Mode:
    return DEFAULTS.get(role, {}).get(kind, "immediate")


def email_line(kind: str, n: int) -> str:
    one, more = _LINE[kind]
    return f"- {n} {one if n == 1 else more}"


def link(kind: str, referral_id: str | None, meeting_id: str | None, action_id: str | None) -> str:
    """The page a notice leads to (ids only)."""
    if kind == "minutes_late":
        return f"/meetings/{meeting_id}/circulation"
    if referral_id:
        return f"/referrals/{referral_id}"
    if action_id:
        return f"/actions/{action_id}"
    if meeting_id:
        return f"/meetings/{meeting_id}"
    return "/notifications"
