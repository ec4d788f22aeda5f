"""Building, changing and publishing a meeting's agenda; the research list it releases.

Rules (docs/domain.md#the-agenda, #research-list):
- automatic and repeatable until publication: accepted referrals received by the cut-off
  and not yet on an earlier agenda; later ones wait for the next meeting;
- over capacity the overflow moves to the next meeting with the reason shown; repeats
  first, then the highest risk, then the earliest received;
- sections in the order the conference type defines; within each case section the cases follow the
  type's case_order (the SafeLives order by default: cases with children first, then adult-only
  cases; repeats flagged where they fall), new cases taking their place among those the coordinator
  has already arranged; case numbers follow the agenda order and are frozen at publication;
- the coordinator may reorder, defer (with a reason: the case goes to the next meeting)
  and add cases; every change is audited; publishing freezes the agenda as a snapshot;
- the research list carries limited identifiers only: names, dates of birth, addresses of
  victim, perpetrators and children; never the narrative, safe contact or risk answers.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from marac import clock
from marac.agencies import access
from marac.agencies.access import Viewer
from marac.agencies.models import Agency, Membership
from marac.audit.service import disclose, record
from marac.clock import now
from marac.conference_types import DEFAULT_CASE_ORDER
from marac.errors import AccessDenied, Conflict, NotFound, RuleViolation
from marac.i18n import format_number
from marac.i18n import gettext as _
from marac.meetings.models import VICTIM_CONTACT, AgendaItem, Meeting, Research
from marac.notices.events import emit
from marac.referrals.models import Referral, ReferralPerson
from marac.referrals.rules import add_months
from marac.wording import count

CASE_SECTIONS = ("cases", "new_cases", "repeat_cases", "transfers")
LEVEL_RANK = {"low": 0, "medium": 1, "high": 2}
# The case sections a case of each kind may go in, first choice first: a type lists the ones it uses
# (domestic abuse: new and repeat cases together in "cases"; hate crime: each in its own).
_SECTIONS_OF_KIND = {
    "transfer": ("transfers", "cases", "new_cases"),
    "repeat": ("repeat_cases", "cases", "new_cases"),
    "new": ("new_cases", "cases"),
}


def kind_of(referral: Referral) -> str:
    if referral.transfer_from:
        return "transfer"
    return "repeat" if referral.is_repeat else "new"


def section_for(referral: Referral, meeting: Meeting) -> str:
    """The case section of the meeting's type the referral goes in."""
    listed = {s["key"] for s in meeting.conference.type_settings["sections"]}
    return next((key for key in _SECTIONS_OF_KIND[kind_of(referral)] if key in listed), "cases")


def _risk_value(referral: Referral) -> int:
    risk = referral.risk or {}
    value = risk.get("score") if risk.get("score") is not None else LEVEL_RANK.get(risk.get("level") or "", 0) * 100
    return int(value or 0)


def priority(referral: Referral) -> tuple:
    """Who is heard when there are more cases than places: repeats first, then the highest risk,
    then the earliest received."""
    return (not referral.is_repeat, -_risk_value(referral), referral.received_at, referral.created_at)


def case_order(meeting: Meeting) -> list[str]:
    """The type's order of cases within a section (conference_types.CASE_ORDER_KEYS)."""
    return list(meeting.conference.type_settings.get("case_order") or DEFAULT_CASE_ORDER)


def order_key(referral: Referral, order: list[str]) -> tuple:
    """Where a case goes in its section under `order`; the referral's people must be fetched."""
    parts = {
        "children": not any(p.role == "child" for p in referral.people),
        "repeat": not referral.is_repeat,
        "risk": -_risk_value(referral),
        "received": (referral.received_at, referral.created_at),
    }
    return (*(parts[key] for key in order), referral.received_at, referral.created_at, referral.id)


def label(meeting: Meeting, item: AgendaItem) -> str:
    return label_of(meeting.date, item.number)


def label_of(meeting_date: date, number: int) -> str:
    # A case label that names nobody: safe for any recipient's document.
    return f"{meeting_date.isoformat()} case {number}"


async def visible_meeting(viewer: Viewer, meeting_id: str) -> Meeting:
    meeting = await Meeting.filter(access.meeting_filter(viewer), id=meeting_id).prefetch_related("conference").first()
    if meeting is None:
        raise NotFound(_("Meeting not found"))
    return meeting


async def agenda_meeting(viewer: Viewer, meeting_id: str) -> Meeting:
    """A meeting whose full agenda the caller may see (chair and coordinator); 404 otherwise."""
    meeting = await visible_meeting(viewer, meeting_id)
    if not access.may_see_agenda(viewer, meeting.conference_id):
        raise NotFound(_("Meeting not found"))
    return meeting


# --- building ------------------------------------------------------------------------------


async def _eligible(meeting: Meeting) -> list[Referral]:
    """Accepted referrals received by the cut-off that no earlier, live meeting has taken.
    Only referrals not yet heard are read: never the conference's history."""
    pool = await Referral.filter(
        conference_id=meeting.conference_id, status="accepted", received_at__lte=meeting.cut_off
    )
    # The meetings holding some of them, by primary key: a join here let PostgreSQL hash
    # every conference's meetings.
    elsewhere = {r.meeting_id for r in pool if r.meeting_id and r.meeting_id != meeting.id}
    taken = (
        set(
            await Meeting.filter(id__in=list(elsewhere), date__lte=meeting.date)
            .exclude(status="cancelled")
            .values_list("id", flat=True)
        )
        if elsewhere
        else set()
    )
    return [r for r in pool if r.meeting_id not in taken]


async def _lapsed(meeting: Meeting, previous: Meeting | None) -> list[Referral]:
    """Heard cases whose window has lapsed since the previous meeting, with no referral since."""
    months = int(meeting.conference.type_settings["repeat"]["window_months"])
    latest = add_months(meeting.date, -months)
    earliest = add_months(previous.date, -months) if previous else latest
    candidates = await Referral.filter(
        conference_id=meeting.conference_id, status="heard", received_at__gt=earliest, received_at__lte=latest
    )
    if not candidates:
        return []
    later = await Referral.filter(
        conference_id=meeting.conference_id,
        victim_person_id__in=[r.victim_person_id for r in candidates],
        received_at__gt=earliest,
        status__in=["received", "accepted", "heard"],
    ).values_list("victim_person_id", "received_at")
    newest: dict[str, date] = {}
    for person, received in later:
        newest[person] = max(received, newest.get(person, received))
    return [r for r in candidates if newest.get(r.victim_person_id, r.received_at) <= r.received_at]


async def build(meeting: Meeting) -> None:
    """(Re)build the agenda. Idempotent: building twice changes nothing; the coordinator's
    order, deferrals and added cases are kept."""
    if meeting.status != "scheduled":
        raise Conflict(_("The agenda of a %(status)s meeting is frozen") % {"status": meeting.status})
    conference = meeting.conference
    capacity = int(conference.type_settings["capacity"])
    items = {i.referral_id: i for i in await AgendaItem.filter(meeting=meeting)}
    pinned = {rid for rid, i in items.items() if i.state == "deferred" or i.added_manually}
    manual = [rid for rid, i in items.items() if i.added_manually and i.state == "listed"]
    # An emergency meeting hears only the cases the coordinator puts on it.
    pool = await _eligible(meeting) if meeting.kind == "scheduled" else []
    candidates = sorted((r for r in pool if r.id not in pinned), key=priority)
    slots = max(capacity - len(manual), 0)
    listed, overflow = candidates[:slots], candidates[slots:]
    previous = (
        await Meeting.filter(conference_id=meeting.conference_id, date__lt=meeting.date, kind="scheduled")
        .exclude(status="cancelled")
        .order_by("-date")
        .first()
    )
    lapsed = await _lapsed(meeting, previous) if meeting.kind == "scheduled" else []
    keep = pinned | {r.id for r in listed} | {r.id for r in overflow} | {r.id for r in lapsed}
    async with in_transaction() as conn:
        await AgendaItem.filter(meeting=meeting).exclude(referral_id__in=list(keep)).using_db(conn).delete()
        numbers = [i.number for rid, i in items.items() if rid in keep]
        next_number = max(numbers, default=0) + 1
        positions: dict[str, int] = {}
        for i in items.values():
            if i.referral_id in keep:
                positions[i.section] = max(positions.get(i.section, 0), i.position)

        async def place(referral: Referral, section: str, state: str, reason: str | None) -> None:
            nonlocal next_number
            item = items.get(referral.id)
            if item is None:
                positions[section] = positions.get(section, 0) + 1
                await AgendaItem.create(
                    meeting=meeting,
                    referral=referral,
                    number=next_number,
                    section=section,
                    position=positions[section],
                    state=state,
                    reason=reason,
                    using_db=conn,
                )
                next_number += 1
            elif (item.state, item.reason, item.section) != (state, reason, section):
                item.state, item.reason = state, reason
                if item.section != section:
                    positions[section] = positions.get(section, 0) + 1
                    item.section, item.position = section, positions[section]
                await item.save(using_db=conn, update_fields=["state", "reason", "section", "position"])

        for referral in listed:
            await place(referral, section_for(referral, meeting), "listed", None)
        reason = f"Over capacity ({count(capacity, 'case')}): moved to the next meeting"
        for referral in overflow:
            await place(referral, section_for(referral, meeting), "overflow", reason)
        for referral in lapsed:
            await place(referral, "lapsed_reviews", "listed", None)
        await Referral.filter(id__in=[r.id for r in listed]).using_db(conn).update(meeting_id=meeting.id)
        await (
            Referral.filter(id__in=[r.id for r in overflow], meeting_id=meeting.id)
            .using_db(conn)
            .update(meeting_id=None)
        )
        await _arrange(meeting, conn, new={r.id for r in listed if r.id not in items})


async def _arrange(meeting: Meeting, conn: BaseDBAsyncClient, new: AbstractSet[str] = frozenset()) -> None:
    """Put the cases new to the agenda (referral ids in `new`) in their place by the type's case order,
    among the listed cases whose order is kept (the coordinator may have moved them), then number every
    case in agenda order: sections in the type's order, then place; cases moved on come last. Only
    before publication: a published agenda's numbers never change."""
    order = case_order(meeting)
    sections = [s["key"] for s in meeting.conference.type_settings["sections"]]
    items = await AgendaItem.filter(meeting=meeting).using_db(conn).prefetch_related("referral", "referral__people")
    listed: dict[str, list[AgendaItem]] = {}
    before = {i.id: (i.number, i.position) for i in items}
    for item in sorted(items, key=lambda i: (i.position, i.number)):
        if item.state == "listed":
            listed.setdefault(item.section, []).append(item)
    arranged: list[AgendaItem] = []
    for section in sorted(listed, key=lambda key: sections.index(key) if key in sections else len(sections)):
        kept = [i for i in listed[section] if i.referral_id not in new]
        for item in sorted(
            (i for i in listed[section] if i.referral_id in new), key=lambda i: order_key(i.referral, order)
        ):
            mine = order_key(item.referral, order)
            at = next((n for n, other in enumerate(kept) if order_key(other.referral, order) > mine), len(kept))
            kept.insert(at, item)
        for position, item in enumerate(kept, start=1):
            item.position = position
        arranged += kept
    arranged += sorted((i for i in items if i.state != "listed"), key=lambda i: i.number)
    for number, item in enumerate(arranged, start=1):
        item.number = number
        if before[item.id] != (item.number, item.position):
            await item.save(using_db=conn, update_fields=["number", "position"])


# --- the coordinator's changes ---------------------------------------------------------------


async def _item(viewer: Viewer, meeting: Meeting, case_id: str) -> AgendaItem:
    access.require_manage_meeting(viewer, meeting.conference_id)
    if meeting.status != "scheduled":
        raise Conflict(_("The agenda of a %(status)s meeting is frozen") % {"status": meeting.status})
    item = await AgendaItem.get_or_none(id=case_id, meeting=meeting)
    if item is None:
        raise NotFound(_("Case not found on this agenda"))
    return item


async def _audit(viewer: Viewer, action: str, meeting: Meeting, object_id: str, conn) -> None:
    await record(
        action,
        user_id=viewer.user_id,
        agency_id=viewer.agency_id,
        object_type="agenda_item",
        object_id=object_id,
        conference_id=meeting.conference_id,
        conn=conn,
    )


async def move_item(viewer: Viewer, meeting: Meeting, case_id: str, direction: int) -> None:
    """Swap a case with its neighbour in its section (direction -1: up, +1: down)."""
    item = await _item(viewer, meeting, case_id)
    siblings = await AgendaItem.filter(meeting=meeting, section=item.section, state="listed").order_by("position")
    index = next(n for n, s in enumerate(siblings) if s.id == item.id)
    other = index + direction
    if not 0 <= other < len(siblings):
        return
    neighbour = siblings[other]
    item.position, neighbour.position = neighbour.position, item.position
    async with in_transaction() as conn:
        await item.save(using_db=conn, update_fields=["position"])
        await neighbour.save(using_db=conn, update_fields=["position"])
        await _arrange(meeting, conn)
        await _audit(viewer, "agenda.reorder", meeting, item.id, conn)


async def defer(viewer: Viewer, meeting: Meeting, case_id: str, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(
            _("A deferral needs a reason"),
            {"reason": _("Say why the case is deferred (for example: referrer not present)")},
        )
    item = await _item(viewer, meeting, case_id)
    item.state, item.reason = "deferred", reason[:500]
    async with in_transaction() as conn:
        await item.save(using_db=conn, update_fields=["state", "reason"])
        await Referral.filter(id=item.referral_id, meeting_id=meeting.id).using_db(conn).update(meeting_id=None)
        await _arrange(meeting, conn)
        await _audit(viewer, "agenda.defer", meeting, item.id, conn)


async def add_case(viewer: Viewer, meeting: Meeting, referral_id: str) -> AgendaItem:
    """Add an accepted referral not yet on an agenda (urgent, or after the cut-off). After publication
    (docs/domain.md#the-agenda, urgent cases) the case takes the next number, the numbers already published
    stay, the referral is heard at this meeting, the frozen agenda is taken again, and the research list
    goes to every member agency as a new version, each entered in the disclosure log; flows.add_case
    queues its documents."""
    access.require_manage_meeting(viewer, meeting.conference_id)
    if meeting.status not in ("scheduled", "published"):
        raise Conflict(_("The agenda of a %(status)s meeting is frozen") % {"status": meeting.status})
    urgent = meeting.status == "published"
    referral = await Referral.filter(
        access.referral_filter(viewer), id=referral_id, conference_id=meeting.conference_id, status="accepted"
    ).first()
    if referral is None:
        raise RuleViolation(
            _("Not an accepted referral of this conference"), {"referral_id": _("Choose an accepted referral")}
        )
    async with in_transaction() as conn:
        existing = await AgendaItem.get_or_none(meeting=meeting, referral=referral, using_db=conn)
        if existing:
            await existing.delete(using_db=conn)
        number = await AgendaItem.filter(meeting=meeting).using_db(conn).order_by("-number").first()
        position = (
            await AgendaItem.filter(meeting=meeting, section=section_for(referral, meeting))
            .using_db(conn)
            .order_by("-position")
            .first()
        )
        item = await AgendaItem.create(
            meeting=meeting,
            referral=referral,
            number=(number.number + 1) if number else 1,
            section=section_for(referral, meeting),
            position=(position.position + 1) if position else 1,
            state="listed",
            added_manually=True,
            using_db=conn,
        )
        if not urgent:
            await Referral.filter(id=referral.id).using_db(conn).update(meeting_id=meeting.id)
            await _arrange(meeting, conn, new={referral.id})
            await _audit(viewer, "agenda.add", meeting, item.id, conn)
            return item
        await Referral.filter(id=referral.id).using_db(conn).update(meeting_id=meeting.id, status="heard")
        meeting.research_list_version += 1
        await meeting.save(using_db=conn, update_fields=["research_list_version"])
        for membership in await Membership.filter(conference_id=meeting.conference_id).using_db(conn):
            await disclose(
                "research_list_reissue",
                conference_id=meeting.conference_id,
                meeting_id=meeting.id,
                document_id=None,
                version=meeting.research_list_version,
                agency_id=membership.agency_id,
                user_id=viewer.user_id,
                conn=conn,
            )
        await _audit(viewer, "agenda.add_urgent", meeting, item.id, conn)
        await _research_due(meeting, True, conn)
    # The frozen agenda, taken again with the case (the research list itself is read from the items).
    snapshot = await agenda(meeting, fresh=True)
    meeting.snapshot = {**snapshot, "status": meeting.status}
    await meeting.save(update_fields=["snapshot"])
    return item


async def addable(meeting: Meeting) -> list[Referral]:
    """Accepted referrals the coordinator could add: not listed at this or an earlier live meeting."""
    listed_here = set(await AgendaItem.filter(meeting=meeting, state="listed").values_list("referral_id", flat=True))
    pool = await Referral.filter(
        Q(meeting_id__isnull=True) | Q(meeting__date__gte=meeting.date) | Q(meeting__status="cancelled"),
        conference_id=meeting.conference_id,
        status="accepted",
    ).prefetch_related("people")
    return [r for r in pool if r.id not in listed_here]


# --- reading and publishing --------------------------------------------------------------------


async def outstanding_actions(meeting: Meeting) -> list:
    """The actions reviewed at this meeting (docs/domain.md#outstanding-actions): those of earlier meetings
    still open or in progress past their due date; those closed as not possible or not done by the agency
    whose end no meeting has reviewed yet (reviewed once, at the next meeting, then they leave the list);
    and any action already reviewed at this meeting, whatever its status now, so the list does not change
    under the chair. Done actions, and undone ones reviewed at an earlier meeting, are never read: each part
    comes from the index on (conference, status, ...), so the list does not grow with the years."""
    from marac.actions.models import OPEN, UNDONE, Action, ActionReview

    reviewed_here = list(await ActionReview.filter(meeting_id=meeting.id).values_list("action_id", flat=True))
    # A due date is never before its meeting, so the overdue ones are all of earlier meetings: no join
    # with meeting (which let PostgreSQL read every conference's meetings).
    due = Q(status__in=list(OPEN), due_date__lt=meeting.date)
    unreviewed_end = Q(status__in=list(UNDONE), end_reviewed_meeting_id__isnull=True) & ~Q(meeting_id=meeting.id)
    ended_here = Q(status__in=list(UNDONE), end_reviewed_meeting_id=meeting.id)
    which = due | unreviewed_end | ended_here
    if reviewed_here:
        which |= Q(id__in=reviewed_here)
    # Not the cases' referrals and people: opening them costs a decryption a field, for hundreds of actions,
    # and a page wants at most the victim's name (victim_names).
    return (
        await Action.filter(which, conference_id=meeting.conference_id)
        .prefetch_related("owner_agency", "item", "meeting", "reviews")
        .order_by("due_date", "created_at")
    )


async def victim_names(referral_ids: list[str]) -> dict[str, str]:
    """The victim's name of each referral, by referral id: one query, and no other sealed field opened. For
    callers already entitled to the names (the agenda: access.may_see_agenda)."""
    if not referral_ids:
        return {}
    victims = await ReferralPerson.filter(referral_id__in=list(set(referral_ids)), role="victim").only(
        "id", "referral_id", "name"
    )
    return {p.referral_id: p.name for p in victims}


def action_entry(action, names: dict[str, str]) -> dict[str, Any]:
    return {
        "action_id": action.id,
        "case_label": label(action.meeting, action.item),
        # The agenda is the chair's and coordinator's, names and all (access.may_see_agenda).
        "victim_name": names.get(action.item.referral_id),
        "owner_agency": action.owner_agency.name,
        "owner_agency_id": action.owner_agency_id,
        "description": action.description,
        "due_date": action.due_date.isoformat(),
        "status": action.status,
    }


async def agenda(meeting: Meeting, fresh: bool = False) -> dict[str, Any]:
    """The agenda as the chair and coordinator see it: the frozen snapshot once published (unless `fresh`)."""
    if meeting.snapshot is not None and not fresh:
        return meeting.snapshot
    items = await AgendaItem.filter(meeting=meeting).prefetch_related("referral").order_by("position", "number")
    outstanding = await outstanding_actions(meeting)
    names = await victim_names([i.referral_id for i in items] + [a.item.referral_id for a in outstanding])
    by_section: dict[str, list[dict[str, Any]]] = {}
    moved = []
    deferred = await deferred_from(meeting, [i.referral_id for i in items])
    for item in items:
        referral = item.referral
        entry = {
            "case_id": item.id,
            "referral_id": referral.id,
            "label": label(meeting, item),
            "kind": kind_of(referral),
            "victim_name": names.get(referral.id),
            "received_at": referral.received_at.isoformat(),
            "risk": {k: referral.risk.get(k) for k in ("instrument", "score", "level")},
            "criteria_met": referral.criteria_met,
            "summary": referral.summary,
            "transfer_from": referral.transfer_from,
            "added_manually": item.added_manually,
            "state": item.state,
            "reason": item.reason,
            "deferred_from": deferred.get(referral.id),
        }
        if item.state == "listed":
            by_section.setdefault(item.section, []).append(entry)
        else:
            moved.append(entry)
    by_section["outstanding_actions"] = [action_entry(a, names) for a in outstanding]
    sections = [
        {"key": s["key"], "title": s["title"], "items": by_section.get(s["key"], [])}
        for s in meeting.conference.type_settings["sections"]
    ]
    return {
        "meeting_id": meeting.id,
        "date": meeting.date.isoformat(),
        "status": meeting.status,
        "sections": sections,
        "moved": moved,
    }


async def deferred_from(meeting: Meeting, referral_ids: list[str]) -> dict[str, dict[str, Any]]:
    """For each referral deferred at an earlier meeting (by the coordinator before it, or by the chair at it):
    that meeting's date and id, the case there and the reason, the latest deferral only. The earlier case
    (its notes) is one link away: /meetings/{meeting_id}/cases/{case_id}, when it was heard at the meeting."""
    if not referral_ids:
        return {}
    earlier = (
        await AgendaItem.filter(Q(state="deferred") | Q(outcome="deferred"), referral_id__in=referral_ids)
        .filter(meeting__date__lt=meeting.date)
        .prefetch_related("meeting")
        .order_by("meeting__date")
    )
    found: dict[str, dict[str, Any]] = {}
    for item in earlier:  # oldest first: the latest deferral is kept
        at_meeting = item.state == "listed"
        found[item.referral_id] = {
            "date": item.meeting.date.isoformat(),
            "meeting_id": item.meeting_id,
            "case_id": item.id if at_meeting else None,
            "reason": (item.outcome_reason if at_meeting else item.reason) or "",
        }
    return found


async def read_agenda(viewer: Viewer, meeting: Meeting) -> dict[str, Any]:
    """The agenda for the conference's chair or coordinator, built afresh until it is published,
    the frozen snapshot after; the read is audited. The meeting page and the API both call this."""
    if not access.may_see_agenda(viewer, meeting.conference_id):
        raise NotFound(_("Meeting not found"))
    if meeting.status == "scheduled":
        await build(meeting)
    found = await agenda(meeting)
    await record(
        "agenda.read",
        user_id=viewer.user_id,
        agency_id=viewer.agency_id,
        object_type="meeting",
        object_id=meeting.id,
        conference_id=meeting.conference_id,
    )
    return found


async def publish(viewer: Viewer, meeting: Meeting) -> dict[str, Any]:
    """A last build, then the agenda is frozen and the research list released."""
    access.require_manage_meeting(viewer, meeting.conference_id)
    await build(meeting)
    snapshot = await agenda(meeting)
    listed = (
        await AgendaItem.filter(meeting=meeting, state="listed")
        .exclude(section="lapsed_reviews")
        .values_list("referral_id", flat=True)
    )
    meeting.status, meeting.published_at = "published", now()
    snapshot["status"] = "published"
    meeting.snapshot = snapshot
    async with in_transaction() as conn:
        await meeting.save(using_db=conn, update_fields=["status", "published_at", "snapshot"])
        await Referral.filter(id__in=list(listed), status="accepted").using_db(conn).update(status="heard")
        await record(
            "agenda.publish",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="meeting",
            object_id=meeting.id,
            conference_id=meeting.conference_id,
            conn=conn,
        )
        await _research_due(meeting, False, conn)
    return snapshot


async def _research_due(meeting: Meeting, reissued: bool, conn: BaseDBAsyncClient) -> None:
    # Member agencies bring their research to the meeting, so it is due by the meeting's date.
    await emit(
        "agenda.published",
        conference_id=meeting.conference_id,
        meeting_id=meeting.id,
        research_due=meeting.date.isoformat(),
        reissued=reissued,
        conn=conn,
    )


# --- research --------------------------------------------------------------------------------


def _address(victim: dict[str, Any]) -> str | None:
    address = victim.get("address") or {}
    parts = [address.get("line1"), address.get("line2"), address.get("town"), address.get("postcode")]
    return ", ".join(p for p in parts if p) or None


@dataclass(frozen=True)
class ResearchCase:
    case_id: str
    label: str
    kind: str
    victim: dict[str, Any]
    perpetrators: list[dict[str, Any]]
    children: list[dict[str, Any]]
    transfer_from: str | None = None  # a transfer in: the MARAC it came from (not an identifier)


async def research_meeting(viewer: Viewer, meeting_id: str) -> Meeting:
    """A published meeting of a conference the caller's agency is a member of; 404 otherwise."""
    meeting = await visible_meeting(viewer, meeting_id)
    if meeting.status not in ("published", "held") or await access.member_tier(viewer, meeting.conference_id) is None:
        raise NotFound(_("Research list not found"))
    return meeting


async def research_list(meeting: Meeting) -> list[ResearchCase]:
    """Limited identifiers only, built field by field: nothing else is ever copied in."""
    items = (
        await AgendaItem.filter(meeting=meeting, state="listed", section__in=list(CASE_SECTIONS))
        .prefetch_related("referral", "referral__people")
        .order_by("number")
    )
    cases = []
    for item in items:
        people = sorted(item.referral.people, key=lambda p: p.position)

        def who(role: str, people: list[ReferralPerson] = people) -> list[dict[str, Any]]:
            # A perpetrator's address, and a child's where it is not the victim's (details).
            return [
                {"name": p.name, "date_of_birth": p.date_of_birth, "address": _address(p.details or {})}
                for p in people
                if p.role == role
            ]

        victim = who("victim")[0] if who("victim") else {"name": None, "date_of_birth": None}
        cases.append(
            ResearchCase(
                case_id=item.id,
                label=label(meeting, item),
                kind=kind_of(item.referral),
                victim={
                    "name": victim["name"],
                    "date_of_birth": victim["date_of_birth"],
                    "address": _address(item.referral.victim),
                },
                perpetrators=who("perpetrator"),
                children=who("child"),
                transfer_from=item.referral.transfer_from,
            )
        )
    return cases


async def read_research_list(viewer: Viewer, meeting: Meeting) -> list[ResearchCase]:
    """The research list of a published meeting for a member agency of its conference; the read
    is audited. The meeting page and the API both call this."""
    if meeting.status not in ("published", "held") or await access.member_tier(viewer, meeting.conference_id) is None:
        raise NotFound(_("Research list not found"))
    cases = await research_list(meeting)
    await record(
        "research_list.read",
        user_id=viewer.user_id,
        agency_id=viewer.agency_id,
        object_type="meeting",
        object_id=meeting.id,
        conference_id=meeting.conference_id,
    )
    return cases


RESEARCH_TEXT_MAX = 5000  # a research summary, or the victim's views: as the API's limit (web/api_meetings.py)


@dataclass(frozen=True)
class VictimContact:
    """The advocate's contact with the victim before the meeting (docs/domain.md#the-advocate-sees-referrals)."""

    victim_contacted: str  # yes | no | unable
    contacted_on: date | None = None
    victim_views: str | None = None


def check_contact(contact: VictimContact, today: date) -> None:
    """Contacted yes, no or unable; a contact date, if given, not in the future."""
    if contact.victim_contacted not in VICTIM_CONTACT:
        raise RuleViolation(
            _("The contact with the victim is not valid"),
            {"victim_contacted": _("Say whether the victim was contacted: yes, no or unable")},
        )
    if contact.contacted_on is not None and contact.contacted_on > today:
        raise RuleViolation(
            _("The contact date is in the future"),
            {"contacted_on": _("Enter the date the victim was contacted: today or earlier")},
        )
    if len(contact.victim_views or "") > RESEARCH_TEXT_MAX:
        raise RuleViolation(
            _("The victim's views are too long"),
            {
                "victim_views": _("Write the victim's views in %(max)s characters or fewer")
                % {"max": format_number(RESEARCH_TEXT_MAX)}
            },
        )


async def record_research(
    viewer: Viewer,
    meeting: Meeting,
    case_id: str,
    known: bool,
    summary: str,
    contact: VictimContact | None = None,
) -> Research:
    """One member agency's research on one case; from the advocacy agency (access.records_victim_contact)
    also its contact with the victim. Without `contact` a contact recorded earlier is kept."""
    if meeting.status != "published":
        raise Conflict(_("Research is recorded between publication and the meeting"))
    if len(summary) > RESEARCH_TEXT_MAX:  # refused whole, never cut: the form keeps what was typed
        raise RuleViolation(
            _("The research summary is too long"),
            {
                "summary": _("Write the summary in %(max)s characters or fewer")
                % {"max": format_number(RESEARCH_TEXT_MAX)}
            },
        )
    item = await AgendaItem.get_or_none(id=case_id, meeting=meeting, state="listed")
    if item is None:
        raise NotFound(_("Case not found on this agenda"))
    if contact is not None:
        check_contact(contact, clock.today())
        if not await access.records_victim_contact(viewer.agency_id, meeting.conference_id):
            raise AccessDenied(_("Only the victim's advocacy service records its contact with the victim"))
    async with in_transaction() as conn:
        research = await Research.get_or_none(item=item, agency_id=viewer.agency_id, using_db=conn)
        if research is None:
            research = Research(item=item, agency_id=viewer.agency_id)
        research.known, research.summary, research.updated_by = known, summary, viewer.user_id
        if contact is not None:
            research.victim_contacted = contact.victim_contacted
            research.contacted_on = contact.contacted_on
            research.victim_views = contact.victim_views or None
        await research.save(using_db=conn)
        await record(
            "research.record",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="agenda_item",
            object_id=item.id,
            conference_id=meeting.conference_id,
            conn=conn,
        )
    return research


async def research_progress(meeting: Meeting) -> dict[str, Any]:
    """Which member agencies have researched which cases (for the coordinator and chair)."""
    agencies = await Agency.filter(memberships__conference_id=meeting.conference_id).order_by("name")
    items = await AgendaItem.filter(meeting=meeting, state="listed", section__in=list(CASE_SECTIONS)).order_by("number")
    done = await Research.filter(item_id__in=[i.id for i in items])  # models: the summary is sealed
    by_key = {
        (r.item_id, r.agency_id): {
            "item_id": r.item_id,
            "agency_id": r.agency_id,
            "known": r.known,
            "summary": r.summary,
        }
        for r in done
    }
    return {
        "agencies": [{"id": a.id, "name": a.name} for a in agencies],
        "cases": [
            {
                "case_id": i.id,
                "label": label(meeting, i),
                "research": {a.id: by_key.get((i.id, a.id)) for a in agencies},
            }
            for i in items
        ],
        "missing": {a.name: sum(1 for i in items if (i.id, a.id) not in by_key) for a in agencies},
    }


async def agenda_document(viewer: Viewer, meeting_id: str):
    """The research-list PDF for the caller's agency; 404 when it is not a member or none is rendered yet.
    Each download is audited."""
    from marac.documents.models import Document

    meeting = await research_meeting(viewer, meeting_id)
    document = (
        await Document.filter(kind="agenda", meeting=meeting, agency_id=viewer.agency_id).order_by("-version").first()
    )
    if document is None:
        raise NotFound(_("The research list document is not ready yet"))
    async with in_transaction() as conn:
        await disclose(
            "research_list",
            conference_id=meeting.conference_id,
            meeting_id=meeting.id,
            document_id=document.id,
            version=document.version,
            agency_id=viewer.agency_id,
            user_id=viewer.user_id,
            conn=conn,
        )
        await record(
            "document.download",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="document",
            object_id=document.id,
            conference_id=meeting.conference_id,
            conn=conn,
        )
    return document


async def members(meeting: Meeting) -> list[Membership]:
    return await Membership.filter(conference_id=meeting.conference_id).prefetch_related("agency")


async def pending_research_lists(older_than: timedelta = timedelta(minutes=5)) -> list[str]:
    """Published meetings with a member agency still without its research list: what the
    reconciler queues again, as it does the minutes' outbox rows. Publication is the request
    (written in the same transaction as the status); the stored documents say what is done."""
    from marac.documents.models import Document

    meetings = dict(
        await Meeting.filter(status="published", published_at__lt=now() - older_than).values_list("id", "conference_id")
    )
    if not meetings:
        return []
    members: dict[str, set[str]] = {}
    for conference_id, agency_id in await Membership.filter(conference_id__in=set(meetings.values())).values_list(
        "conference_id", "agency_id"
    ):
        members.setdefault(conference_id, set()).add(agency_id)
    versions = dict(await Meeting.filter(id__in=list(meetings)).values_list("id", "research_list_version"))
    done: dict[str, set[str]] = {}
    stored = Document.filter(kind="agenda", meeting_id__in=list(meetings))
    for meeting_id, agency_id, version in await stored.values_list("meeting_id", "agency_id", "version"):
        if version == versions.get(meeting_id):  # the current version of its list
            done.setdefault(meeting_id, set()).add(agency_id)
    return sorted(m for m, c in meetings.items() if members.get(c, set()) - done.get(m, set()))
