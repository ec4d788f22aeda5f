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
from marac.i18n import format_number, gettext, ngettext
from marac.meetings import agenda
from marac.meetings.models import AgendaItem, Meeting
from marac.notices.events import emit
from marac.referrals.models import Referral, ReferralPerson

MIN_DESCRIPTION = 10
# A note is whole in every document, so it is bounded where it is written (docs/domain.md#minutes).
MAX_NOTE = 10_000
MAX_DESCRIPTION = 5000


async def _audit(
    viewer: Viewer,
    action: str,
    object_type: str,
    object_id: str,
    conference_id: str,
    conn=None,
    case_id: str | None = None,
) -> None:
    await record(
        action,
        user_id=viewer.user_id,
        agency_id=viewer.agency_id,
        object_type=object_type,
        object_id=object_id,
        conference_id=conference_id,
        case_id=case_id,
        conn=conn,
    )


async def running_meeting(viewer: Viewer, meeting_id: str) -> Meeting:
    """A meeting the caller chairs or coordinates (404 for anyone else); changes to it check
    separately that it is live (published, not yet closed)."""
    return await agenda.agenda_meeting(viewer, meeting_id)


def require_live(meeting: Meeting) -> None:
    # Once minutes are approved the record takes corrections, approved as the next version
    # (minutes.service.approve says what changed); between closing and approval it is frozen.
    if meeting.status != "published" and not (meeting.status == "held" and meeting.minutes_version):
        raise Conflict(gettext("The meeting runs once its agenda is published, until it is closed"))


async def case_of(meeting: Meeting, case_id: str) -> AgendaItem:
    item = await AgendaItem.get_or_none(id=case_id, meeting=meeting, state="listed").prefetch_related(
        "referral", "referral__people"
    )
    if item is None:
        raise NotFound(gettext("Case not found on this agenda"))
    return item


@dataclass(frozen=True)
class CaseView:
    """A case as the chair and coordinator see it at the meeting."""

    item: AgendaItem
    label: str
    notes: list[Note]
    actions: list[ActionRow]


async def read_case(viewer: Viewer, meeting: Meeting, case_id: str) -> CaseView:
    """The case with its notes and actions (the caller already passed running_meeting); audited."""
    item = await case_of(meeting, case_id)
    notes = await Note.filter(item_id=item.id).order_by("created_at")
    actions = await Action.filter(item_id=item.id).order_by("due_date", "created_at")
    label = agenda.label(meeting, item)
    rows = [
        ActionRow(
            id=a.id,
            version=a.version,
            status=a.status,
            description=a.description,
            conference_id=a.conference_id,
            owner_agency_id=a.owner_agency_id,
            owner_agency_name=None,
            due_date=a.due_date,
            created_at=a.created_at,
            meeting_id=a.meeting_id,
            case_label=label,
        )
        for a in actions
    ]
    await _audit(viewer, "case.read", "agenda_item", item.id, meeting.conference_id)
    return CaseView(item=item, label=label, notes=notes, actions=rows)


async def _member_ids(conference_id: str) -> set[str]:
    return set(
        cast("list[str]", await Membership.filter(conference_id=conference_id).values_list("agency_id", flat=True))
    )


# --- the register ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Present:
    agency_id: str
    name: str
    # Everyone attending accepts the conference's confidentiality statement, not only observers
    # (docs/domain.md#the-meeting).
    confidentiality_signed: bool = False


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


async def attendance_errors(
    meeting: Meeting, present: list[Present], apologies: list[Apology], observers: list[Observer]
) -> dict[str, str]:
    """What is wrong with a register, by field (`present.0.agency_id`, ...): present and
    apologising agencies must be members, and every line names a person."""
    members = await _member_ids(meeting.conference_id)
    errors: dict[str, str] = {}
    for index, p in enumerate(present):
        if p.agency_id not in members:
            errors[f"present.{index}.agency_id"] = gettext("Choose a member agency of this conference")
        if not p.name.strip():
            errors[f"present.{index}.name"] = gettext("Enter the name of the person attending")
    for index, a in enumerate(apologies):
        if a.agency_id not in members:
            errors[f"apologies.{index}.agency_id"] = gettext("Choose a member agency of this conference")
        if not a.name.strip():
            errors[f"apologies.{index}.name"] = gettext("Enter the name of the person sending apologies")
    for index, o in enumerate(observers):
        if not o.name.strip():
            errors[f"observers.{index}.name"] = gettext("Enter the observer's name")
    return errors


async def set_attendance(
    viewer: Viewer, meeting: Meeting, present: list[Present], apologies: list[Apology], observers: list[Observer]
) -> None:
    """Replace the register (attendance_errors says what it must hold)."""
    require_live(meeting)
    errors = await attendance_errors(meeting, present, apologies, observers)
    if errors:
        raise RuleViolation(gettext("The register is not valid"), errors)
    async with in_transaction() as conn:
        await Attendance.filter(meeting=meeting).using_db(conn).delete()
        for p in present:
            await Attendance.create(
                meeting=meeting,
                kind="present",
                agency_id=p.agency_id,
                name=p.name.strip()[:200],
                confidentiality_signed=p.confidentiality_signed,
                using_db=conn,
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
    require_live(meeting)
    meeting.confidentiality_read_at, meeting.confidentiality_read_by = now(), viewer.user_id
    async with in_transaction() as conn:
        await meeting.save(using_db=conn, update_fields=["confidentiality_read_at", "confidentiality_read_by"])
        await _audit(viewer, "meeting.confidentiality_read", "meeting", meeting.id, meeting.conference_id, conn)


# --- case by case ----------------------------------------------------------------------------


async def start_case(viewer: Viewer, meeting: Meeting, case_id: str) -> AgendaItem:
    """Start the case's timer (once: re-opening the screen does not restart it)."""
    require_live(meeting)
    item = await case_of(meeting, case_id)
    if item.started_at is None:
        item.started_at = now()
        await item.save(update_fields=["started_at"])
    return item


async def decide_case(viewer: Viewer, meeting: Meeting, case_id: str, outcome: str, reason: str) -> AgendaItem:
    """Heard, or deferred with a reason: a deferred case waits for the next meeting's agenda."""
    require_live(meeting)
    item = await case_of(meeting, case_id)
    reason = (reason or "").strip()
    if outcome not in ("heard", "deferred"):
        raise RuleViolation(gettext("Choose an outcome"), {"outcome": gettext("Choose heard or deferred")})
    if outcome == "deferred" and not reason:
        raise RuleViolation(
            gettext("A deferral needs a reason"), {"outcome_reason": gettext("Say why the case is deferred")}
        )
    item.outcome, item.outcome_reason, item.ended_at = outcome, reason[:500] or None, now()
    async with in_transaction() as conn:
        await item.save(using_db=conn, update_fields=["outcome", "outcome_reason", "ended_at"])
        if outcome == "deferred":
            await Referral.filter(id=item.referral_id).using_db(conn).update(status="accepted", meeting_id=None)
        else:
            await Referral.filter(id=item.referral_id).using_db(conn).update(status="heard", meeting_id=meeting.id)
        await _audit(viewer, f"case.{outcome}", "agenda_item", item.id, meeting.conference_id, conn)
    return item


def note_length_error(text: str) -> str | None:
    if not text:
        return gettext("Write the note")
    if len(text) > MAX_NOTE:
        return gettext("A note can be at most %(max)s characters: this one has %(length)s") % {
            "max": format_number(MAX_NOTE),
            "length": format_number(len(text)),
        }
    return None


async def checked_note(meeting: Meeting, text: str, visibility: str, agencies: list[str]) -> tuple[str, list[str]]:
    """A note's text (1 to MAX_NOTE characters) and the agencies it names, or a RuleViolation:
    a restricted note names member agencies; a note for all, or for the chair only, names none."""
    text = (text or "").strip()
    errors = {}
    if problem := note_length_error(text):
        errors["text"] = problem
    if visibility not in VISIBILITIES:
        errors["visibility"] = gettext("Choose who may read it: all, restricted or chair only")
    members = await _member_ids(meeting.conference_id)
    agencies = list(dict.fromkeys(agencies))
    if visibility == "restricted":
        if not agencies:
            errors["agencies"] = gettext("Name the agencies that may read a restricted note")
        elif set(agencies) - members:
            errors["agencies"] = gettext("Only member agencies of this conference can be named")
    elif agencies:
        agencies = []
    if errors:
        raise RuleViolation(gettext("The note is not valid"), errors)
    return text, agencies


async def add_note(
    viewer: Viewer,
    meeting: Meeting,
    case_id: str,
    text: str,
    visibility: str,
    agencies: list[str],
    stage: str = "discussion",
) -> Note:
    require_live(meeting)
    item = await case_of(meeting, case_id)
    text, agencies = await checked_note(meeting, text, visibility, agencies)
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


async def check_action(meeting: Meeting, description: str, owner_agency_id: str, due: date) -> None:
    """An action says who will do what by when, is owned by a member agency, and is not due
    before the meeting that agreed it."""
    errors = {}
    if len(description) < MIN_DESCRIPTION:
        errors["description"] = gettext("Say specifically who will do what, and by when")
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = gettext("An action can be at most %(max)s characters") % {
            "max": format_number(MAX_DESCRIPTION)
        }
    if owner_agency_id not in await _member_ids(meeting.conference_id):
        errors["owner_agency_id"] = gettext("The owner must be a member agency of this conference")
    if due < meeting.date:
        errors["due_date"] = gettext("The due date cannot be before the meeting")
    if errors:
        raise RuleViolation(gettext("The action is not valid"), errors)


async def add_action(
    viewer: Viewer, meeting: Meeting, case_id: str, description: str, owner_agency_id: str, due_date: date | None
) -> Action:
    require_live(meeting)
    item = await case_of(meeting, case_id)
    description = (description or "").strip()
    due = due_date or meeting.date + timedelta(days=int(meeting.conference.type_settings["action_due_days"]))
    await check_action(meeting, description, owner_agency_id, due)
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
        await emit(
            "action.assigned",
            conference_id=meeting.conference_id,
            meeting_id=meeting.id,
            action_id=action.id,
            agency_id=owner_agency_id,
            due_date=due.isoformat(),
            conn=conn,
        )
    return action


async def set_any_other_business(viewer: Viewer, meeting: Meeting, text: str) -> None:
    require_live(meeting)
    text = (text or "").strip()
    if len(text) > MAX_NOTE:
        raise RuleViolation(
            gettext("Too long"),
            {"any_other_business": gettext("Use at most %(max)s characters") % {"max": format_number(MAX_NOTE)}},
        )
    meeting.any_other_business = text
    async with in_transaction() as conn:
        await meeting.save(using_db=conn, update_fields=["any_other_business"])
        await _audit(viewer, "meeting.any_other_business", "meeting", meeting.id, meeting.conference_id, conn)


def undecided_message(labels: list[str]) -> str:
    """'1 case has no decision yet: ...' / '2 cases have ...', naming them by label (never a name)."""
    return ngettext(
        "%(num)d case has no decision yet (%(cases)s): mark each heard or deferred",
        "%(num)d cases have no decision yet (%(cases)s): mark each heard or deferred",
        len(labels),
    ) % {"num": len(labels), "cases": ", ".join(labels)}


async def close_meeting(viewer: Viewer, meeting: Meeting) -> None:
    """Every case decided, the meeting is held: minutes can be drafted."""
    require_live(meeting)
    if meeting.status != "published":
        raise Conflict(gettext("The meeting is already closed"))
    undecided = (
        await AgendaItem.filter(meeting=meeting, state="listed", outcome__isnull=True)
        .exclude(section="lapsed_reviews")
        .order_by("number")
    )
    if undecided:
        raise Conflict(undecided_message([agenda.label(meeting, item) for item in undecided]))
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
    item_id: str = ""  # the case (agenda item) the action was agreed on
    case_id: str | None = None  # its referral, the case audit events name (read by action_row only)


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
        item_id=row["item_id"],
        case_id=row.get("case_id"),
    )


async def case_names(viewer: Viewer, cases: list[tuple[str, str]]) -> dict[str, str]:
    """The victim's name for each case (conference id, agenda item id) the caller may see it of
    (access.may_see_who_cases_are_about), by agenda item id; shown beside the case's label on pages."""
    allowed = {c for c in {c for c, _ in cases} if await access.may_see_who_cases_are_about(viewer, c)}
    items = [item for conference, item in cases if conference in allowed]
    if not items:
        return {}
    referral_of = dict(await AgendaItem.filter(id__in=items).values_list("id", "referral_id"))
    # Models (the names are sealed), with the name alone: no other sealed field is opened.
    victims = await ReferralPerson.filter(referral_id__in=set(referral_of.values()), role="victim").only(
        "id", "referral_id", "name"
    )
    name_of = {p.referral_id: p.name for p in victims}
    return {item: name_of[referral] for item, referral in referral_of.items() if referral in name_of}


async def transferred_out(item_ids: list[str]) -> dict[str, str]:
    """The MARAC area each case (by agenda item id) was transferred out to, if it was: its actions say so.
    An area's name is not personal data (minutes/transfer.py)."""
    if not item_ids:
        return {}
    rows = await AgendaItem.filter(id__in=item_ids, referral__transferred_out_to__isnull=False).values_list(
        "id", "referral__transferred_out_to"
    )
    return {str(item): str(area) for item, area in rows}


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
        raise NotFound(gettext("Action not found"))
    return action, rights


async def action_row(viewer: Viewer, action_id: str) -> tuple[ActionRow, str]:
    """(action, 'update' or 'see') without its history, in one query; 404 when the caller may not see it."""
    row = await queries.one(action_id)
    action = _action_row(row) if row else None
    rights = await access.action_access(viewer, action.conference_id, action.owner_agency_id) if action else "none"
    if action is None or rights == "none":
        raise NotFound(gettext("Action not found"))
    return action, rights


async def update_action(
    viewer: Viewer, action_id: str, expected_version: int | None, status: str | None, text: str
) -> ActionRow:
    action, rights = await action_row(viewer, action_id)
    if rights != "update":
        raise AccessDenied(gettext("Only the owner agency, the chair and the coordinator update this action"))
    new_status = status or action.status
    text = (text or "").strip()
    errors = {}
    if new_status not in ACTION_STATUSES:
        errors["status"] = gettext("Choose one of: %(choices)s") % {"choices": ", ".join(ACTION_STATUSES)}
    if new_status in UNDONE and not text:
        errors["update"] = gettext("Say why: this outcome needs a note")
    if not text and new_status == action.status:
        errors["update"] = gettext("Write an update or change the status")
    if errors:
        raise RuleViolation(gettext("The update is not valid"), errors)
    if expected_version is None:
        raise RuleViolation("If-Match is required", {"If-Match": "Send the version you last read"})
    at = now()
    async with in_transaction() as conn:
        # Compare and bump, and keep the update, in one statement: of two writers holding the same version, one wins.
        logged = await queries.bump_and_log(
            action.id, expected_version, new_status, at, text, viewer.user_id, viewer.agency_id, conn
        )
        if not logged:
            raise StaleVersion(
                gettext("Someone else updated this action after you opened it. Check the latest version and try again.")
            )
        await _audit(viewer, "action.update", "action", action.id, action.conference_id, conn, action.case_id)
    # The row as written, without reading it again.
    return replace(action, status=new_status, version=expected_version + 1)


async def outstanding(meeting: Meeting) -> list[Action]:
    """The actions reviewed at this meeting: see agenda.outstanding_actions."""
    return await agenda.outstanding_actions(meeting)


async def review_action(
    viewer: Viewer, meeting: Meeting, action_id: str, outcome: str, note: str, expected_version: int | None
) -> ActionReview:
    """The chair records what became of an outstanding action; the action takes that status. The same
    compare-and-set as update_action: a review made on an older version than the action's is refused
    (StaleVersion, 412), never written over a change made since. A review with an undone outcome (not
    possible, not done by the agency) is that end's one review: the action then leaves the outstanding
    actions of later meetings (agenda.outstanding_actions)."""
    require_live(meeting)
    action = await Action.get_or_none(id=action_id, conference_id=meeting.conference_id)
    if action is None:
        raise NotFound(gettext("Action not found"))
    note = (note or "").strip()
    if outcome not in ACTION_STATUSES:
        raise RuleViolation(gettext("Choose an outcome"), {"outcome": gettext("Choose what became of the action")})
    if outcome in UNDONE and not note:
        raise RuleViolation(
            gettext("This outcome needs a note"), {"note": gettext("Say why the action was not completed")}
        )
    if len(note) > MAX_NOTE:
        raise RuleViolation(
            gettext("The note is too long"),
            {"note": gettext("Use at most %(max)s characters") % {"max": format_number(MAX_NOTE)}},
        )
    if expected_version is None:
        raise RuleViolation(gettext("The version is required"), {"version": gettext("Send the version you last read")})
    at = now()
    async with in_transaction() as conn:
        reviewed_end = meeting.id if outcome in UNDONE else None
        if not await queries.bump_reviewed(action.id, expected_version, outcome, at, reviewed_end, conn):
            raise StaleVersion(
                gettext(
                    "Someone else updated this action after you opened the page. "
                    "Check its latest status and review again."
                )
            )
        review, _ = await ActionReview.update_or_create(
            action=action,
            meeting=meeting,
            defaults={"outcome": outcome, "note": note, "user_id": viewer.user_id},
            using_db=conn,
        )
        await ActionUpdate.create(
            action=action,
            status=outcome,
            text=note or "Reviewed at the meeting",
            version=expected_version + 1,
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            using_db=conn,
        )
        await _audit(viewer, "action.review", "action", action.id, meeting.conference_id, conn)
    return review
