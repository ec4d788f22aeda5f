"""Changing a meeting's record once written: editing and deleting notes and actions, reopening a
closed meeting. Here, above the actions, because what may change depends on the minutes:

- the chair and coordinator edit or delete a note while the meeting runs and after it is closed;
  once minutes are approved an edit is a correction, carried by the next version;
- they reword an action, change its owner or due date while the meeting runs and after it (after
  approval: a correction), through the action's version (If-Match) like any update; the owner
  agency may not; they delete it only until the minutes are approved;
- every change keeps what the record held before (Revision) and is audited (ids only);
- the chair reopens a held meeting, with a reason, until its minutes are approved.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from tortoise.transactions import in_transaction

from marac.actions import queries
from marac.actions import service as run
from marac.actions.models import ACTION_STATUSES, UNDONE, Action, ActionUpdate, Note, Revision
from marac.agencies import access
from marac.agencies.access import Viewer
from marac.audit.service import record
from marac.clock import now
from marac.errors import AccessDenied, Conflict, NotFound, RuleViolation, StaleVersion
from marac.i18n import gettext
from marac.meetings.models import Meeting
from marac.minutes.models import MinutesVersion
from marac.notices.events import emit

CHANGEABLE = ("published", "held")
MAX_REASON = 500


async def minutes_approved(meeting_id: str) -> bool:
    return await MinutesVersion.filter(meeting_id=meeting_id).exists()


async def _changing(meeting: Meeting) -> str:
    """'' while the meeting runs or before approval, 'correction' after; 409 before publication
    or for a cancelled meeting."""
    if meeting.status not in CHANGEABLE:
        raise Conflict(gettext("Notes and actions change once the agenda is published"))
    return "correction" if await minutes_approved(meeting.id) else ""


async def _audit(viewer: Viewer, action: str, object_type: str, object_id: str, conference_id: str, conn) -> None:
    await record(
        action,
        user_id=viewer.user_id,
        agency_id=viewer.agency_id,
        object_type=object_type,
        object_id=object_id,
        conference_id=conference_id,
        conn=conn,
    )


# --- notes -----------------------------------------------------------------------------------


async def note_of(meeting: Meeting, case_id: str, note_id: str) -> Note:
    item = await run.case_of(meeting, case_id)
    note = await Note.get_or_none(id=note_id, item_id=item.id)
    if note is None:
        raise NotFound(gettext("Note not found"))
    return note


async def action_of(viewer: Viewer, meeting: Meeting, case_id: str, action_id: str) -> run.ActionRow:
    """An action agreed on this case of this meeting, as the caller may see it (404 otherwise)."""
    row, _ = await run.action_row(viewer, action_id)
    item = await run.case_of(meeting, case_id)
    if row.meeting_id != meeting.id or row.item_id != item.id:
        raise NotFound(gettext("Action not found"))
    return row


def _note_state(note: Note) -> dict[str, Any]:
    return {"text": note.text, "visibility": note.visibility, "agencies": list(note.agencies), "stage": note.stage}


async def edit_note(
    viewer: Viewer,
    meeting: Meeting,
    case_id: str,
    note_id: str,
    text: str | None = None,
    visibility: str | None = None,
    agencies: list[str] | None = None,
) -> Note:
    """Change a note's text or who may read it; what it said before is kept."""
    reason = await _changing(meeting)
    note = await note_of(meeting, case_id, note_id)
    new_visibility = note.visibility if visibility is None else visibility
    new_agencies = (note.agencies if new_visibility == note.visibility else []) if agencies is None else agencies
    new_text, new_agencies = await run.checked_note(
        meeting, note.text if text is None else text, new_visibility, new_agencies
    )
    if (new_text, new_visibility, new_agencies) == (note.text, note.visibility, list(note.agencies)):
        return note
    before = _note_state(note)
    note.text, note.visibility, note.agencies = new_text, new_visibility, new_agencies
    async with in_transaction() as conn:
        await Revision.create(
            object_type="note",
            object_id=note.id,
            item_id=note.item_id,
            change="edit",
            before=before,
            reason=reason,
            user_id=viewer.user_id,
            using_db=conn,
        )
        await note.save(using_db=conn, update_fields=["text", "visibility", "agencies"])
        await _audit(viewer, "note.edit", "note", note.id, meeting.conference_id, conn)
    return note


async def delete_note(viewer: Viewer, meeting: Meeting, case_id: str, note_id: str) -> None:
    """Delete a note; what it said is kept in its history."""
    reason = await _changing(meeting)
    note = await note_of(meeting, case_id, note_id)
    async with in_transaction() as conn:
        await Revision.create(
            object_type="note",
            object_id=note.id,
            item_id=note.item_id,
            change="delete",
            before=_note_state(note),
            reason=reason,
            user_id=viewer.user_id,
            using_db=conn,
        )
        await note.delete(using_db=conn)
        await _audit(viewer, "note.delete", "note", note.id, meeting.conference_id, conn)


async def history(object_id: str) -> list[Revision]:
    """What a note or action held before each change, oldest first."""
    return await Revision.filter(object_id=object_id).order_by("at")


# --- actions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Amendment:
    """What the chair or coordinator changes in an agreed action (None: unchanged)."""

    description: str | None = None
    owner_agency_id: str | None = None
    due_date: date | None = None

    def __bool__(self) -> bool:
        return any(value is not None for value in (self.description, self.owner_agency_id, self.due_date))


async def _amendable(viewer: Viewer, action_id: str) -> tuple[run.ActionRow, Action, Meeting]:
    row, rights = await run.action_row(viewer, action_id)  # 404 when the caller may not see it
    if not access.may_amend_action(viewer, row.conference_id):
        raise AccessDenied(
            gettext("Only the chair and the coordinator change what an action says, its owner or its due date")
        )
    action = await Action.get(id=action_id).prefetch_related("meeting", "meeting__conference")
    return row, action, action.meeting


async def amend_action(
    viewer: Viewer,
    action_id: str,
    expected_version: int | None,
    change: Amendment,
    status: str | None = None,
    text: str = "",
) -> run.ActionRow:
    """Reword an action, change its owner or its due date (and its status, if asked), as one new
    version: a writer holding an older version gets 412 and changes nothing."""
    row, action, meeting = await _amendable(viewer, action_id)
    reason = await _changing(meeting)
    description = row.description if change.description is None else change.description.strip()
    owner = row.owner_agency_id if change.owner_agency_id is None else change.owner_agency_id
    due = row.due_date if change.due_date is None else change.due_date
    await run.check_action(meeting, description, owner, due)
    new_status = status or row.status
    text = (text or "").strip()
    if new_status not in ACTION_STATUSES:
        raise RuleViolation(
            gettext("The update is not valid"), {"status": f"Choose one of: {', '.join(ACTION_STATUSES)}"}
        )
    if new_status in UNDONE and new_status != row.status and not text:
        raise RuleViolation(
            gettext("The update is not valid"), {"update": gettext("Say why: this outcome needs a note")}
        )
    if expected_version is None:
        raise RuleViolation("If-Match is required", {"If-Match": "Send the version you last read"})
    changed = [
        words
        for words, old, new in (
            ("wording", row.description, description),
            ("owner", row.owner_agency_id, owner),
            ("due date", row.due_date, due),
        )
        if old != new
    ]
    before = {"description": row.description, "owner_agency_id": row.owner_agency_id, "due_date": row.due_date}
    async with in_transaction() as conn:
        if not await queries.bump_version(action.id, expected_version, new_status, now(), conn):
            raise StaleVersion(
                gettext("Someone else updated this action after you opened it. Check the latest version and try again.")
            )
        action.description, action.owner_agency_id, action.due_date = description, owner, due
        await action.save(using_db=conn, update_fields=["description", "owner_agency_id", "due_date"])
        await Revision.create(
            object_type="action",
            object_id=action.id,
            item_id=action.item_id,
            change="edit",
            before=before,
            reason=reason,
            user_id=viewer.user_id,
            using_db=conn,
        )
        summary = f"Changed: {', '.join(changed)}" if changed else "Unchanged wording, owner and due date"
        await ActionUpdate.create(
            action_id=action.id,
            status=new_status,
            text=f"{summary}. {text}".strip() if text else summary,
            version=expected_version + 1,
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            using_db=conn,
        )
        await _audit(viewer, "action.amend", "action", action.id, action.conference_id, conn)
        if changed:  # the owner agency (the new one, if it changed) is told
            await emit(
                "action.updated",
                conference_id=action.conference_id,
                meeting_id=action.meeting_id,
                action_id=action.id,
                agency_id=owner,
                changed=changed,
                due_date=due.isoformat(),
                conn=conn,
            )
    return replace(
        row,
        description=description,
        owner_agency_id=owner,
        due_date=due,
        status=new_status,
        version=expected_version + 1,
    )


async def delete_action(viewer: Viewer, action_id: str, expected_version: int | None) -> None:
    """Delete an action agreed by mistake, until the minutes are approved (then the owner agency
    may already be acting on it: a correction rewords it instead)."""
    row, action, meeting = await _amendable(viewer, action_id)
    if await _changing(meeting) == "correction":
        raise Conflict(gettext("The minutes are approved: change the action as a correction instead of deleting it"))
    if expected_version is None:
        raise RuleViolation("If-Match is required", {"If-Match": "Send the version you last read"})
    async with in_transaction() as conn:
        await Revision.create(
            object_type="action",
            object_id=action.id,
            item_id=action.item_id,
            change="delete",
            before={
                "description": row.description,
                "owner_agency_id": row.owner_agency_id,
                "due_date": row.due_date,
                "status": row.status,
            },
            user_id=viewer.user_id,
            using_db=conn,
        )
        # Removed only at the version read, in one statement: a concurrent update wins whole, and
        # the history row above goes with this transaction.
        deleted = await Action.filter(id=action.id, version=expected_version).using_db(conn).delete()
        if not deleted:
            raise StaleVersion(gettext("Someone else updated this action after you opened it. Check it again first."))
        await _audit(viewer, "action.delete", "action", action.id, action.conference_id, conn)


# --- reopening -------------------------------------------------------------------------------


async def reopen(viewer: Viewer, meeting: Meeting, reason: str) -> Meeting:
    """The chair reopens a held meeting to put something right, with a reason, until its minutes
    are approved; after that a correction is the way."""
    access.require_chair(viewer, meeting.conference_id, gettext("Only the conference's chair reopens a meeting"))
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(gettext("Reopening needs a reason"), {"reason": gettext("Say why the meeting is reopened")})
    if len(reason) > MAX_REASON:
        raise RuleViolation(
            gettext("The reason is too long"),
            {"reason": gettext("Use at most %(max)s characters") % {"max": MAX_REASON}},
        )
    if meeting.status != "held":
        raise Conflict(gettext("Only a closed meeting can be reopened"))
    if await minutes_approved(meeting.id):
        raise Conflict(gettext("The minutes are approved: correct them instead of reopening the meeting"))
    meeting.status, meeting.held_at = "published", None
    async with in_transaction() as conn:
        await meeting.save(using_db=conn, update_fields=["status", "held_at"])
        await Revision.create(
            object_type="meeting",
            object_id=meeting.id,
            item_id="",
            change="reopen",
            before={"status": "held", "reason": reason},
            user_id=viewer.user_id,
            using_db=conn,
        )
        await _audit(viewer, "meeting.reopen", "meeting", meeting.id, meeting.conference_id, conn)
    return meeting
