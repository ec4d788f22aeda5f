"""Daily reminders about actions that are due soon or overdue (docs/domain.md#action-reminders)."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import date, timedelta

from tortoise.exceptions import IntegrityError

from marac import notices, settings
from marac.actions.models import Action
from marac.agencies.models import User
from marac.notices.models import Notification
from marac.notify import email
from marac.wording import count

log = logging.getLogger("marac.reminders")

DUE_SOON_DAYS = 3
NOT_CLOSED = ("open", "in_progress")
CASE_ROLES = ("member", "coordinator", "chair")
SUBJECT = "MARAC: actions need your attention"


async def send_reminders(today: date) -> dict[str, int]:
    """Rule (docs/domain.md#action-reminders): once a day, every action not closed (open or in progress) that is due
    between today and today + 3 days ("due_soon") or already past its due date ("overdue")
    is brought to its owner agency's case-handling users: active members, coordinators and
    chairs of that agency who belong to the action's conference.

    Each of them gets one Notification per action, kind and day, and, when MARAC_SMTP_URL
    is set, one e-mail per run with counts and a link to /actions only: an e-mail leaves
    our control, so it names no person, case, action or agency. Running it again the same
    day creates nothing and sends nothing (delivery is at least once).
    """
    due = await _due_for_each_user(today)
    created = await _record(due, today)
    emails = await _email(list(due), today) if email.configured() else 0
    log.info("send_reminders notifications=%d emails=%d", created, emails)
    return {"notifications": created, "emails": emails}


async def _due_for_each_user(today: date) -> dict[str, set[tuple[str, str]]]:
    """{user id: {(action id, kind)}} for today."""
    users = await User.filter(active=True, role__in=CASE_ROLES).prefetch_related("conferences")
    # Who hears about an agency's actions in a conference.
    audience: dict[tuple[str, str], list[str]] = defaultdict(list)
    for user in users:
        for conference in user.conferences:
            audience[(user.agency_id, conference.id)].append(user.id)
    if not audience:
        return {}
    # Only open work up to the horizon, by owner agency and status: the
    # (owner_agency_id, status, due_date) index answers it, closed history is never read.
    actions = await Action.filter(
        owner_agency_id__in={agency_id for agency_id, _ in audience},
        status__in=NOT_CLOSED,
        due_date__lte=today + timedelta(days=DUE_SOON_DAYS),
    ).values_list("id", "owner_agency_id", "conference_id", "due_date")
    due: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for action_id, agency_id, conference_id, due_date in actions:
        kind = "overdue" if due_date < today else "due_soon"
        for user_id in audience.get((agency_id, conference_id), []):
            due[user_id].add((action_id, kind))
    return due


async def _record(due: dict[str, set[tuple[str, str]]], today: date) -> int:
    if not due:
        return 0
    existing = set(
        await Notification.filter(user_id__in=list(due), day=today).values_list("user_id", "action_id", "kind")
    )
    created = 0
    for user_id, items in due.items():
        for action_id, kind in items:
            if (user_id, action_id, kind) in existing:
                continue
            try:
                await notices.post(user_id, kind, today, action_id=action_id)
            except IntegrityError:
                continue  # Another run got there first: the unique (user, action, kind, day) holds.
            created += 1
    return created


async def _email(user_ids: list[str], today: date) -> int:
    if not user_ids:
        return 0
    # Break-glass notifications share the table but have their own e-mail (referrals/break_glass.py).
    pending = await Notification.filter(
        user_id__in=user_ids, day=today, emailed=False, kind__in=("due_soon", "overdue")
    ).values_list("id", "user_id", "kind")
    by_user: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for notification_id, user_id, kind in pending:
        by_user[user_id].append((notification_id, kind))
    addresses = dict(await User.filter(id__in=list(by_user)).values_list("id", "email"))
    sent = failed = 0
    for user_id, items in by_user.items():
        ids = [notification_id for notification_id, _ in items]
        # Claimed before sending, so of two runs at once only the one whose update changed
        # the rows sends; the other finds nothing left to claim.
        if not await Notification.filter(id__in=ids, emailed=False).update(emailed=True):
            continue
        counts = Counter(kind for _, kind in items)
        try:
            await email.send(addresses[user_id], SUBJECT, _body(counts["due_soon"], counts["overdue"]))
        except OSError:  # smtplib's and ssl's errors are OSErrors
            # Released, so running the job again today sends it.
            await Notification.filter(id__in=ids).update(emailed=False)
            failed += 1
            continue
        sent += 1
    if failed:
        log.error("send_reminders emails_failed=%d", failed)
    return sent


def _body(due_soon: int, overdue: int) -> str:
    lines = ["Your agency has MARAC actions that need attention:", ""]
    if overdue:
        lines.append(f"- {count(overdue, 'action')} overdue")
    if due_soon:
        lines.append(f"- {count(due_soon, 'action')} due in the next {DUE_SOON_DAYS} days")
    lines += [
        "",
        f"Sign in to see them: {settings.get().base_url}/actions",
        "",
        "This message holds no case details on purpose. Please do not reply to it.",
    ]
    return "\n".join(lines)
