"""Fan-out: each event not yet told becomes notices for the people it concerns (docs/notifications.md).

Run as the `notify_people` job after each change that emits an event, and every minute. A batch of events is
claimed, told and marked (`notified_at`) in one transaction: on PostgreSQL the rows are locked and skipped by
another worker (FOR UPDATE SKIP LOCKED), on SQLite transactions run one at a time; and a notice is unique per
user, event and kind, so no one is told twice. Recipients are decided by the access rules (marac/agencies/
access.py) applied to each user as they are now: nobody is told of a record they may not see. An e-mail is put in
the outbox in the same transaction when its user wants it at once (one per notice; the daily action reminders
one per user and batch, with counts); otherwise the notice waits for the digest (daily.py) or is not e-mailed at
all. The e-mail holds counts and a link, never a name or case text.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from marac import db, i18n, settings
from marac.agencies import access
from marac.agencies.access import CASE_ROLES, Can, Viewer
from marac.agencies.models import ConferenceRole, Membership, User
from marac.alerts import kinds
from marac.alerts.preferences import modes_for
from marac.clock import now, uk_date
from marac.i18n import gettext, lazy_gettext
from marac.notices.models import Event
from marac.notify.models import OutboxEmail
from marac.referrals.models import Referral

log = logging.getLogger("marac.alerts")

BATCH = 500
NOTICE_SQL = (
    'INSERT INTO "notification" ("user_id", "kind", "day", "event_id", "conference_id", "meeting_id", "action_id", '
    '"emailed", "created_at") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING'
)
EMAIL_LIFETIME = timedelta(days=7)  # an e-mail not sent within a week is no longer news: the app still shows it
SUBJECT = lazy_gettext("MARAC: something needs your attention")


@dataclass(frozen=True)
class _Referral:
    agency_id: str
    referrer_id: str | None
    monitoring_only: bool


def told(event: Event, viewer: Viewer, referral: _Referral | None, members: set[str]) -> bool:
    """Whether this user (as `viewer`, their entitlements now) is told of this event: the table in
    docs/notifications.md, each row also within what the user may see. `members`: the member agencies
    of the event's conference."""
    conference, kind = event.conference_id, event.kind
    if conference is None or viewer.role_in(conference) is None:
        return False
    if kind.startswith("referral."):
        if referral is None or not access.sees_referral(
            viewer, conference, referral.agency_id, referral.monitoring_only
        ):
            return False
        if kind == "referral.received":
            return viewer.can_in(conference, Can.TRIAGE_REFERRALS) or (
                conference in viewer.receiving and viewer.can_in(conference, Can.REFER)
            )
        if kind == "referral.decided":
            return viewer.user_id == referral.referrer_id
        return viewer.can_in(conference, Can.TRIAGE_REFERRALS)  # a repeat or a possible duplicate
    if kind == "agenda.published":  # each member agency's case handlers (access.member_tier)
        return viewer.role_in(conference) in CASE_ROLES and viewer.agency_id in members
    if kind.startswith("action."):  # the owner agency, which updates the action (access.action_access)
        return viewer.role_in(conference) in CASE_ROLES and viewer.agency_id == event.agency_id
    if kind == "minutes.ready":  # each recipient agency: an event per agency
        return (
            viewer.role_in(conference) in CASE_ROLES
            and viewer.can_in(conference, Can.READ_MINUTES)
            and viewer.agency_id == event.agency_id
        )
    if kind == "minutes.late":
        return viewer.can_in(conference, Can.MANAGE_MEETINGS)
    return False


Audience = dict[str, list[tuple[Viewer, str]]]


async def _audience(conference_ids: set[str], conn: BaseDBAsyncClient) -> tuple[Audience, dict[str, set[str]]]:
    """Per conference, every active user given it, as a Viewer of that conference alone, with their own role;
    and each conference's member agencies."""
    ids = list(conference_ids)
    members: dict[str, set[str]] = {}
    receiving: set[tuple[str, str]] = set()
    for conference_id, agency_id, receives in (
        await Membership.filter(conference_id__in=ids)
        .using_db(conn)
        .values_list("conference_id", "agency_id", "receives_referrals")
    ):
        members.setdefault(conference_id, set()).add(agency_id)
        if receives:
            receiving.add((conference_id, agency_id))
    given = {
        (user_id, conference_id): role
        for user_id, conference_id, role in await ConferenceRole.filter(conference_id__in=ids)
        .using_db(conn)
        .values_list("user_id", "conference_id", "role")
    }
    audience: Audience = defaultdict(list)
    for user_id, agency_id, role, conference_id in (
        await User.filter(active=True, conferences__id__in=ids)
        .using_db(conn)
        .values_list("id", "agency_id", "role", "conferences__id")
    ):
        member = agency_id in members.get(conference_id, set())
        viewer = access.viewer_of(
            User(id=user_id, agency_id=agency_id, role=role),
            [conference_id],
            [conference_id] if member else [],
            {conference_id: given.get((user_id, conference_id))},
            [conference_id] if (conference_id, agency_id) in receiving else [],
        )
        audience[conference_id].append((viewer, role))
    return audience, members


def body(counts: dict[str, int]) -> str:
    """An e-mail's text, in the current language: counts per kind and a link. Never a name, a case or an agency."""
    lines = [gettext("There is new MARAC work for you:"), ""]
    lines += [kinds.email_line(kind, n) for kind, n in counts.items() if n]
    lines += [
        "",
        gettext("Sign in to see it: %(link)s") % {"link": f"{settings.get().base_url}/notifications"},
        "",
        gettext("This message holds no case details on purpose. Please do not reply to it."),
    ]
    return "\n".join(lines)


def email(user_id: str, counts: dict[str, int], language: str | None = None) -> OutboxEmail:
    """In the user's language (their account's setting; English if they have none): an e-mail has no browser."""
    with i18n.use(language):
        subject, text = str(SUBJECT), body(counts)
    return OutboxEmail(
        user_id=user_id,
        kind="notice",
        subject=subject,
        body=text,
        next_attempt_at=now(),
        expires_at=now() + EMAIL_LIFETIME,
    )


async def languages(user_ids: set[str], conn: BaseDBAsyncClient | None = None) -> dict[str, str | None]:
    """Each user's language setting, for their e-mails."""
    if not user_ids:
        return {}
    return dict(await User.filter(id__in=list(user_ids)).using_db(conn).values_list("id", "language"))


def _day(event: Event) -> date:
    """The day a notice is for: a daily run's event names the day it ran for, any other is of the day it happened."""
    day = event.data.get("day")
    return date.fromisoformat(day) if isinstance(day, str) else uk_date(event.at)


async def _tell(events: list[Event], conn: BaseDBAsyncClient) -> tuple[int, int]:
    audience, members = await _audience({e.conference_id for e in events if e.conference_id}, conn)
    referral_ids = {e.referral_id for e in events if e.referral_id}
    referrals = {
        referral_id: _Referral(agency_id, referrer_id, monitoring_only)
        for referral_id, agency_id, referrer_id, monitoring_only in await Referral.filter(id__in=list(referral_ids))
        .using_db(conn)
        .values_list("id", "referring_agency_id", "referrer_id", "monitoring_only")
    }
    # The kinds told() tells one agency of (an action's owner, a minutes recipient) need ask only that agency's
    # users: a daily run's thousands of reminders would otherwise each be put to every user of the conference.
    by_agency: dict[tuple[str, str], list[tuple[Viewer, str]]] = defaultdict(list)
    for conference, given in audience.items():
        for viewer, role in given:
            by_agency[(conference, viewer.agency_id)].append((viewer, role))
    found: list[tuple[Event, str, str, str]] = []  # event, notice kind, user id, user's role
    for event in events:
        kind = kinds.NOTICE_OF.get(event.kind)
        if kind is None:
            continue
        referral = referrals.get(event.referral_id) if event.referral_id else None
        conference = event.conference_id or ""
        if event.kind.startswith("action.") or event.kind == "minutes.ready":
            asked = by_agency.get((conference, event.agency_id or ""), [])
        else:
            asked = audience.get(conference, [])
        for viewer, role in asked:
            if told(event, viewer, referral, members.get(conference, set())):
                found.append((event, kind, viewer.user_id, role))
    modes = await modes_for({(user_id, role) for _, _, user_id, role in found}, conn)
    notices: list[tuple[Any, ...]] = []
    emails = []
    daily: dict[str, Counter[str]] = defaultdict(Counter)  # a daily run's notices to e-mail at once, by user
    at_once = {user_id for _, kind, user_id, _ in found if modes[user_id][kinds.preference(kind)] == "immediate"}
    language = await languages(at_once, conn)
    days = {event.id: _day(event) for event in events}
    at = now()
    for event, kind, user_id, _ in found:
        mode = modes[user_id][kinds.preference(kind)]
        notices.append(
            (
                user_id,
                kind,
                days[event.id],
                event.id,
                event.conference_id,
                event.meeting_id,
                event.action_id,
                mode != "digest",
                at,
            )
        )
        if mode == "immediate" and kind in kinds.DAILY:
            daily[user_id][kind] += 1
        elif mode == "immediate":
            emails.append(email(user_id, {kind: 1}, language.get(user_id)))
    emails += [email(user_id, dict(sorted(counts.items())), language.get(user_id)) for user_id, counts in daily.items()]
    # Rows, not model instances: a daily run tells a million notices at national scale, and building a model for
    # each cost more than the database spends storing it (docs/benchmarks.md#background-work). A notice already
    # made (an event told twice) is left as it is, as before.
    await db.execute_many(NOTICE_SQL, notices, conn)
    if emails:
        await OutboxEmail.bulk_create(emails, batch_size=500, using_db=conn)
    return len(notices), len(emails)


async def fan_out() -> dict[str, int]:
    """Tell everything not yet told; returns counts of events, notices and e-mails."""
    totals = {"events": 0, "notices": 0, "emails": 0}
    while True:
        async with in_transaction() as conn:
            events = (
                await Event.filter(notified_at__isnull=True)
                .order_by("id")
                .limit(BATCH)
                .select_for_update(skip_locked=True)
                .using_db(conn)
            )
            if not events:
                break
            notices, emails = await _tell(events, conn)
            await Event.filter(id__in=[e.id for e in events]).using_db(conn).update(notified_at=now())
        totals["events"] += len(events)
        totals["notices"] += notices
        totals["emails"] += emails
    return totals
