"""The kinds of notice people receive, what each event becomes, how each may be e-mailed, and the words.

The notice kinds are the API's (`GET /api/v1/notifications`); docs/notifications.md has the table of events
and who is told. Every word here is for an e-mail too, so none names a person, a case or an agency."""

from __future__ import annotations

from typing import Literal

from marac.i18n import lazy_gettext, ngettext

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
    "referral_received": lazy_gettext("New referrals"),
    "referral_decided": lazy_gettext("Referrals decided"),
    "repeat_detected": lazy_gettext("Repeat referrals found"),
    "possible_duplicate": lazy_gettext("Possible duplicate referrals"),
    "agenda_published": lazy_gettext("Research due"),
    "action_assigned": lazy_gettext("Actions for your agency"),
    "action_due": lazy_gettext("Actions due within 3 days or overdue"),
    "minutes_ready": lazy_gettext("Minutes ready"),
    "minutes_late": lazy_gettext("Minutes not yet circulated"),
}


def preference(kind: str) -> str:
    """The kind of choice (KINDS) that governs how a notice of this kind is e-mailed."""
    return API_KIND.get(kind, kind)


def default_mode(role: str, kind: str) -> Mode:
    return DEFAULTS.get(role, {}).get(kind, "immediate")


def email_line(kind: str, n: int) -> str:
    """One line of an e-mail per kind, in the reader's language: a count and what it is, nothing about whom."""
    lines = {
        "referral_received": ngettext("%(num)d new referral received", "%(num)d new referrals received", n),
        "referral_decided": ngettext(
            "%(num)d referral you made was decided", "%(num)d referrals you made were decided", n
        ),
        "repeat_detected": ngettext(
            "%(num)d referral found to be a repeat", "%(num)d referrals found to be repeats", n
        ),
        "possible_duplicate": ngettext(
            "%(num)d referral found to be a possible duplicate", "%(num)d referrals found to be possible duplicates", n
        ),
        "agenda_published": ngettext(
            "%(num)d research list published: research is due", "%(num)d research lists published: research is due", n
        ),
        "action_assigned": ngettext(
            "%(num)d action of your agency assigned or changed", "%(num)d actions of your agency assigned or changed", n
        ),
        "overdue": ngettext("%(num)d action overdue", "%(num)d actions overdue", n),
        "due_soon": ngettext("%(num)d action due in the next 3 days", "%(num)d actions due in the next 3 days", n),
        "minutes_ready": ngettext(
            "%(num)d set of minutes ready for your agency", "%(num)d sets of minutes ready for your agency", n
        ),
        "minutes_late": ngettext(
            "%(num)d set of minutes not circulated within 3 working days",
            "%(num)d sets of minutes not circulated within 3 working days",
            n,
        ),
    }
    return "- " + lines[kind] % {"num": n}


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
