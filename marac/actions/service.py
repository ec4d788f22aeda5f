"""Running the meeting and tracking actions between meetings.

Rules (docs/domain.md#the-meeting, #actions, #outstanding-actions):
- the chair and coordinator keep the register, record the confidentiality statement's
  reading, take notes and agree actions case by case, and decide each case: heard, or
  deferred with a reason (a deferred case goes to the next meeting);
- a note's visibility is chosen when it is written: all, restricted (named agencies, plus
  chair and coordinator) or chair_only (never minuted);
- an action has an owner agency that is a member of the conference, a description and a
  due date (default: the type's action_due_days after the meeting);
- only the owner agency, the chair and the coordinator may update an action; concurrent
  edits are refused with the version (If-Match); every change is kept;
- "not possible because circumstances changed" and "not done by the agency" are different
  outcomes, never merged, and both need a note.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import cast

from tortoise.transactions import in_transaction

from marac import sealed
from marac.actions import queries
from marac.actions.models import (
    ACTION_STATUSES,
    UNDONE,
    VISIBILITIES,
    Action,
    ActionReview,
    ActionUpdate,
    Attendance,
    Note,
)
from marac.agencies import access
from marac.agencies.access import Viewer
from marac.agencies.models import Membership
from marac.audit.service import record
from marac.clock import now
from marac.errors import AccessDenied, Conflict, NotFound, RuleViolation, StaleVersion
from marac.meetings import agenda
from marac.meetings.models import AgendaItem, Meeting
from marac.referrals.models import Referral
from marac.wording import count, plural

MIN_DESCRIPTION = 10
STATUS_WORDS = {
    "open": "Open",
    "in_progress": "In progress",
    "done": "Done",
    "not_possible_changed_circumstances": "Not possible: circumstances changed",
    "not_done_by_agency": "Not done by the agency",
}


async def _audit(viewer: Viewer, action: str, object_type: str, object_id: str, conference_id: str, conn=None) -> None:
    await record(
        action,
        user_id=viewer.user_id,
        agency_id=viewer.agency_id,
        object_type=object_type,
        object_id=object_id,
        conference_id=conference_id,
        conn=conn,
    )


async def running_meeting(viewer: Viewer, meeting_id: str) -> Meeting:
    """A meeting the caller chairs or coordinates (404 for anyone else); changes to it check
    separately that it is live (published, not yet closed)."""
    return await agenda.agenda_meeting(viewer, meeting_id)


def _require_live(meeting: Meeting) -> None:
    # Once minutes are approved the record takes corrections, approved as the next version
    # (minutes.service.approve says what changed); between closing and approval it is frozen.
    if meeting.status != "published" and not (meeting.status == "held" and meeting.minutes_version):
        raise Conflict("The meeting runs once its agenda is published, until it is closed")


async def case_of(meeting: Meeting, case_id: str) -> AgendaItem:
    item = await AgendaItem.get_or_none(id=case_id, meeting=meeting, state="listed").prefetch_related(
        "referral", "referral__people"
    )
    if item is None:
        raise NotFound("Case not found on this agenda")
    return item


async def _member_ids(conference_id: str) -> set[str]:
    return set(
        cast("list[str]", await Membership.filter(conference_id=conference_id).values_list("agency_id", flat=True))
    )


# --- the register ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Present:
    agency_id: str
    name: str


@dataclass(frozen=True)
class Apology:
    agency_id: str
    name: str
    information_sent: bool
    information_sent_on: date | None = None


@dataclass(frozen=True)
class Observer:
    name: str
    confidentiality_signed: bool


async def set_attendance(
    viewer: Viewer, meeting: Meeting, present: list[Present], apologies: list[Apology], observers: list[Observer]
) -> None:
    """Replace the register. Present and apologising agencies must be members."""
    _require_live(meeting)
    members = await _member_ids(meeting.conference_id)
    errors = {}
    for index, p in enumerate(present):
        if p.agency_id not in members:
            errors[f"present.{index}.agency_id"] = "Choose a member agency of this conference"
        if not p.name.strip():
            errors[f"present.{index}.name"] = "Enter the name of the person attending"
    for index, a in enumerate(apologies):
        if a.agency_id not in members:
            errors[f"apologies.{index}.agency_id"] = "Choose a member agency of this conference"
        if not a.name.strip():
            errors[f"apologies.{index}.name"] = "Enter the name of the person sending apologies"
    for index, o in enumerate(observers):
        if not o.name.strip():
            errors[f"observers.{index}.name"] = "Enter the observer's name"
    if errors:
        raise RuleViolation("The register is not valid", errors)
    async with in_transaction() as conn:
        await Attendance.filter(meeting=meeting).using_db(conn).delete()
        for p in present:
            await Attendance.create(
                meeting=meeting, kind="present", agency_id=p.agency_id, name=p.name.strip()[:200], using_db=conn
            )
        for a in apologies:
            await Attendance.create(
                meeting=meeting,
                kind="apology",
                agency_id=a.agency_id,
                name=a.name.strip()[:200],
                information_sent=a.information_sent,
                information_sent_on=a.information_sent_on,
                using_db=conn,
            )
        for o in observers:
            await Attendance.create(
                meeting=meeting,
                kind="observer",
                name=o.name.strip()[:200],
                confidentiality_signed=o.confidentiality_signed,
                using_db=conn,
            )
        await _audit(viewer, "meeting.attendance", "meeting", meeting.id, meeting.conference_id, conn)


async def confidentiality_read(viewer: Viewer, meeting: Meeting) -> None:
    _require_live(meeting)
    meeting.confidentiality_read_at, meeting.confidentiality_read_by = now(), viewer.user_id
    async with in_transaction() as conn:
        await meeting.save(using_db=conn, update_fields=["confidentiality_read_at", "confidentiality_read_by"])
        await _audit(viewer, "meeting.confidentiality_read", "meeting", meeting.id, meeting.conference_id, conn)


# --- case by case ----------------------------------------------------------------------------


async def start_case(viewer: Viewer, meeting: Meeting, case_id: str) -> AgendaItem:
    """Start the case's timer (once: re-opening the screen does not restart it)."""
    _require_live(meeting)
    item = await case_of(meeting, case_id)
    if item.started_at is None:
        item.started_at = now()
        await item.save(update_fields=["started_at"])
    return item


async def decide_case(viewer: Viewer, meeting: Meeting, case_id: str, outcome: str, reason: str) -> AgendaItem:
    """Heard, or deferred with a reason: a deferred case waits for the next meeting's agenda."""
    _require_live(meeting)
    item = await case_of(meeting, case_id)
    reason = (reason or "").strip()
    if outcome not in ("heard", "deferred"):
        raise RuleViolation("Choose an outcome", {"outcome": "Choose heard or deferred"})
    if outcome == "deferred" and not reason:
        raise RuleViolation("A deferral needs a reason", {"outcome_reason": "Say why the case is deferred"})
    item.outcome, item.outcome_reason, item.ended_at = outcome, reason[:500] or None, now()
    async with in_transaction() as conn:
        await item.save(using_db=conn, update_fields=["outcome", "outcome_reason", "ended_at"])
        if outcome == "deferred":
            await Referral.filter(id=item.referral_id).using_db(conn).update(status="accepted", meeting_id=None)
        else:
            await Referral.filter(id=item.referral_id).using_db(conn).update(status="heard", meeting_id=meeting.id)
        await _audit(viewer, f"case.{outcome}", "agenda_item", item.id, meeting.conference_id, conn)
    return item


async def add_note(
    viewer: Viewer,
    meeting: Meeting,
    case_id: str,
    text: str,
    visibility: str,
    agencies: list[str],
    stage: str = "discussion",
) -> Note:
    _require_live(meeting)
    item = await case_of(meeting, case_id)
    text = (text or "").strip()
    errors = {}
    if not text:
        errors["text"] = "Write the note"
    if visibility not in VISIBILITIES:
        errors["visibility"] = "Choose who may read it: all, restricted or chair only"
    members = await _member_ids(meeting.conference_id)
    agencies = list(dict.fromkeys(agencies))
    if visibility == "restricted":
        if not agencies:
            errors["agencies"] = "Name the agencies that may read a restricted note"
        elif set(agencies) - members:
            errors["agencies"] = "Only member agencies of this conference can be named"
    elif agencies:
        agencies = []  # a note for all, or for the chair only, names nobody
    if errors:
        raise RuleViolation("The note is not valid", errors)
    async with in_transaction() as conn:
        note = await Note.create(
            item=item,
            stage=stage[:32],
            text=text,
            visibility=visibility,
            agencies=agencies,
            author_id=viewer.user_id,
            using_db=conn,
        )
        await _audit(viewer, "note.create", "note", note.id, meeting.conference_id, conn)
    return note


async def add_action(
    viewer: Viewer, meeting: Meeting, case_id: str, description: str, owner_agency_id: str, due_date: date | None
) -> Action:
    _require_live(meeting)
    item = await case_of(meeting, case_id)
    description = (description or "").strip()
    errors = {}
    if len(description) < MIN_DESCRIPTION:
        errors["description"] = "Say specifically who will do what, and by when"
    if owner_agency_id not in await _member_ids(meeting.conference_id):
        errors["owner_agency_id"] = "The owner must be a member agency of this conference"
    due = due_date or meeting.date + timedelta(days=int(meeting.conference.type_settings["action_due_days"]))
    if due < meeting.date:
        errors["due_date"] = "The due date cannot be before the meeting"
    if errors:
        raise RuleViolation("The action is not valid", errors)
    async with in_transaction() as conn:
        action = await Action.create(
            item=item,
            meeting=meeting,
            conference_id=meeting.conference_id,
            owner_agency_id=owner_agency_id,
            description=description,
            due_date=due,
            created_by=viewer.user_id,
            using_db=conn,
        )
        await ActionUpdate.create(
            action=action,
            status="open",
            text="Agreed at the meeting",
            version=1,
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            using_db=conn,
        )
        await _audit(viewer, "action.create", "action", action.id, meeting.conference_id, conn)
    return action


async def set_any_other_business(viewer: Viewer, meeting: Meeting, text: str) -> None:
    _require_live(meeting)
    meeting.any_other_business = (text or "").strip()[:5000]
    async with in_transaction() as conn:
        await meeting.save(using_db=conn, update_fields=["any_other_business"])
        await _audit(viewer, "meeting.any_other_business", "meeting", meeting.id, meeting.conference_id, conn)


async def close_meeting(viewer: Viewer, meeting: Meeting) -> None:
    """Every case decided, the meeting is held: minutes can be drafted."""
    _require_live(meeting)
    if meeting.status != "published":
        raise Conflict("The meeting is already closed")
    undecided = (
        await AgendaItem.filter(meeting=meeting, state="listed", outcome__isnull=True)
        .exclude(section="lapsed_reviews")
        .count()
    )
    if undecided:
        cases = f"{count(undecided, 'case')} {plural(undecided, 'has', 'have')}"
        raise Conflict(f"{cases} no decision yet: mark each heard or deferred")
    meeting.status, meeting.held_at = "held", now()
    async with in_transaction() as conn:
        await meeting.save(using_db=conn, update_fields=["status", "held_at"])
        await _audit(viewer, "meeting.close", "meeting", meeting.id, meeting.conference_id, conn)


# --- actions between meetings ------------------------------------------------------------------

FILTERS = ("open", "overdue", "due_this_week", "all")


@dataclass(frozen=True)
class After:
    """Where a page of actions ended: its last action's place in (due_date, created_at, id) order."""

    due_date: date
    created_at: datetime
    id: str


@dataclass(frozen=True)
class ActionRow:
    """An action as the lists and the API show it: no history, its case label ready."""

    id: str
    version: int
    status: str
    description: str
    conference_id: str
    owner_agency_id: str
    owner_agency_name: str | None  # only when asked for (list_actions named=True)
    due_date: date
    created_at: datetime
    meeting_id: str
    case_label: str


def _action_row(row, named: bool = False) -> ActionRow:
    fields = Action._meta.fields_map
    return ActionRow(
        id=row["id"],
        version=row["version"],
        status=row["status"],
        description=sealed.open_column(Action, "description", row["id"], row["description"]),
        conference_id=row["conference_id"],
        owner_agency_id=row["owner_agency_id"],
        owner_agency_name=row["owner_agency_name"] if named else None,
        due_date=fields["due_date"].to_python_value(row["due_date"]),
        created_at=fields["created_at"].to_python_value(row["created_at"]),
        meeting_id=row["meeting_id"],
        case_label=agenda.label_of(
            Meeting._meta.fields_map["date"].to_python_value(row["meeting_date"]), row["number"]
        ),
    )


async def list_actions(
    viewer: Viewer,
    which: str,
    today: date,
    conference_id: str | None = None,
    owner_agency_id: str | None = None,
    after: After | None = None,
    limit: int = 500,
    named: bool = False,
) -> list[ActionRow]:
    """The caller's actions by state, by due date; a conference or owner agency only narrows
    what access.action_scope lets them see. `after` and `limit` page through them; `named`
    also reads each owner agency's name (the page shows it; the API gives the id)."""
    if which not in FILTERS:
        raise RuleViolation("Unknown filter", {"status": f"Choose one of: {', '.join(FILTERS)}"})
    scope = access.action_scope(viewer)
    if scope is None:
        return []
    # Every owner's actions where the caller's role there manages them, their agency's elsewhere: a
    # user who chairs one conference and is a member in another gets both, in one order.
    parts = [(scope.every_owner, ()), (scope.own_agency, (scope.agency_id,))]
    rows: list[dict] = []
    ran = 0
    for conferences, owners in parts:
        chosen = sorted(c for c in conferences if not conference_id or c == conference_id)
        if not chosen:
            continue
        ran += 1
        # Hand-written (actions/queries.py): the API's busiest call, one round trip (per part).
        rows += await queries.page(
            chosen,
            owner_agency_ids=tuple(o for o in (*owners, owner_agency_id) if o),
            open_only=which in ("open", "overdue", "due_this_week"),
            due_before=today if which == "overdue" else None,
            due_from=today if which == "due_this_week" else None,
            due_to=today + timedelta(days=7) if which == "due_this_week" else None,
            after=(after.due_date, after.created_at, after.id) if after is not None else None,
            limit=limit,
            named=named,
        )
    if ran > 1:
        rows = sorted(rows, key=lambda r: (str(r["due_date"]), str(r["created_at"]), r["id"]))[:limit]
    return [_action_row(row, named) for row in rows]


def case_label(action: Action) -> str:
    """The minimum label: meeting date and case number, never a name."""
    return agenda.label(action.meeting, action.item)


async def get_action(viewer: Viewer, action_id: str) -> tuple[Action, str]:
    """(action with its owner, case and updates, 'update' or 'see'), for the action's page;
    404 when the caller may not see it."""
    action = await Action.get_or_none(id=action_id).prefetch_related("owner_agency", "item", "meeting", "updates")
    rights = await access.action_access(viewer, action.conference_id, action.owner_agency_id) if action else "none"
    if action is None or rights == "none":
        raise NotFound("Action not found")
    return action, rights


async def action_row(viewer: Viewer, action_id: str) -> tuple[ActionRow, str]:
    """(action, 'update' or 'see') without its history, in one query; 404 when the caller may not see it."""
    row = await queries.one(action_id)
    action = _action_row(row) if row else None
    rights = await access.action_access(viewer, action.conference_id, action.owner_agency_id) if action else "none"
    if action is None or rights == "none":
        raise NotFound("Action not found")
    return action, rights


async def update_action(
    viewer: Viewer, action_id: str, expected_version: int | None, status: str | None, text: str
) -> ActionRow:
    action, rights = await action_row(viewer, action_id)
    if rights != "update":
        raise AccessDenied("Only the owner agency, the chair and the coordinator update this action")
    new_status = status or action.status
    text = (text or "").strip()
    errors = {}
    if new_status not in ACTION_STATUSES:
        errors["status"] = f"Choose one of: {', '.join(ACTION_STATUSES)}"
    if new_status in UNDONE and not text:
        errors["update"] = "Say why: this outcome needs a note"
    if not text and new_status == action.status:
        errors["update"] = "Write an update or change the status"
    if errors:
        raise RuleViolation("The update is not valid", errors)
    if expected_version is None:
        raise RuleViolation("If-Match is required", {"If-Match": "Send the version you last read"})
    at = now()
    async with in_transaction() as conn:
        # Compare and bump in one statement: of two writers holding the same version, one wins.
        if not await queries.bump_version(action.id, expected_version, new_status, at, conn):
            raise StaleVersion(
                "Someone else updated this action after you opened it. Check the latest version and try again."
            )
        await ActionUpdate.create(
            action_id=action.id,
            status=new_status,
            text=text,
            version=expected_version + 1,
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            using_db=conn,
        )
        await _audit(viewer, "action.update", "action", action.id, action.conference_id, conn)
    # The row as written, without reading it again.
    return replace(action, status=new_status, version=expected_version + 1)


async def outstanding(meeting: Meeting) -> list[Action]:
    """Actions of earlier meetings not done by their due date: reviewed at this meeting."""
    return await agenda.outstanding_actions(meeting)


async def review_action(viewer: Viewer, meeting: Meeting, action_id: str, outcome: str, note: str) -> ActionReview:
    """The chair records what became of an outstanding action; the action takes that status."""
    _require_live(meeting)
    action = await Action.get_or_none(id=action_id, conference_id=meeting.conference_id)
    if action is None:
        raise NotFound("Action not found")
    note = (note or "").strip()
    if outcome not in ACTION_STATUSES:
        raise RuleViolation("Choose an outcome", {"outcome": "Choose what became of the action"})
    if outcome in UNDONE and not note:
        raise RuleViolation("This outcome needs a note", {"note": "Say why the action was not completed"})
    async with in_transaction() as conn:
        review, _ = await ActionReview.update_or_create(
            action=action,
            meeting=meeting,
            defaults={"outcome": outcome, "note": note, "user_id": viewer.user_id},
            using_db=conn,
        )
        if outcome != action.status:
            await (
                Action.filter(id=action.id)
                .using_db(conn)
                .update(status=outcome, version=action.version + 1, updated_at=now())
            )
            await ActionUpdate.create(
                action=action,
                status=outcome,
                text=note or "Reviewed at the meeting",
                version=action.version + 1,
                user_id=viewer.user_id,
                agency_id=viewer.agency_id,
                using_db=conn,
            )
        await _audit(viewer, "action.review", "action", action.id, meeting.conference_id, conn)
    return review
