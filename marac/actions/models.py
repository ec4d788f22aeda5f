"""Actions agreed at a meeting and their history; notes taken during a case."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from marac.audit.service import case_of
from marac.i18n import lazy_gettext
from marac.ids import new_id
from marac.sealed import SealedJSON, SealedModel, SealedText

if TYPE_CHECKING:  # type hints only: the models of other domains, higher or lower
    from marac.agencies.models import Agency, Conference
    from marac.meetings.models import AgendaItem, Meeting

ACTION_STATUSES = ("open", "in_progress", "done", "not_possible_changed_circumstances", "not_done_by_agency")
# The two ways an action can end undone are different facts and never merged: one is the
# world changing, the other is an agency not doing what it agreed.
UNDONE = ("not_possible_changed_circumstances", "not_done_by_agency")
CLOSED = ("done", *UNDONE)
# Still to do: listed by the statuses themselves, so the status index reads only these.
OPEN = tuple(status for status in ACTION_STATUSES if status not in CLOSED)
VISIBILITIES = ("all", "restricted", "chair_only")
# Each status as people read it, on every page and document that shows one (the `action_status` filter).
STATUS_WORDS = {
    "open": lazy_gettext("Open"),
    "in_progress": lazy_gettext("In progress"),
    "done": lazy_gettext("Done"),
    "not_possible_changed_circumstances": lazy_gettext("Not possible: circumstances changed"),
    "not_done_by_agency": lazy_gettext("Not done by the agency"),
}


def status_words(status: str) -> str:
    """A status in the current language; a code it does not know, as it is."""
    return str(STATUS_WORDS[status]) if status in STATUS_WORDS else status


# The updates the service writes itself, kept in English as written (actions/service.py); shown in the
# reader's language (the `action_update` filter). What a person typed is shown as typed.
SERVICE_UPDATES = {
    "Agreed at the meeting": lazy_gettext("Agreed at the meeting"),
    "Reviewed at the meeting": lazy_gettext("Reviewed at the meeting"),
}


def update_words(text: str) -> str:
    return str(SERVICE_UPDATES[text]) if text in SERVICE_UPDATES else text


class Action(SealedModel):
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    item: fields.ForeignKeyRelation[AgendaItem] = fields.ForeignKeyField(
        "marac.AgendaItem", related_name="actions", on_delete=fields.RESTRICT
    )
    item_id: str
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "marac.Meeting", related_name="actions", on_delete=fields.RESTRICT
    )
    meeting_id: str
    conference: fields.ForeignKeyRelation[Conference] = fields.ForeignKeyField(
        "marac.Conference", related_name="actions", on_delete=fields.RESTRICT
    )
    conference_id: str
    owner_agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "marac.Agency", related_name="actions", on_delete=fields.RESTRICT
    )
    owner_agency_id: str
    description = SealedText()
    due_date = fields.DateField()
    status = fields.CharField(max_length=40, default="open")
    # Optimistic concurrency: every change bumps it; a writer holding an older one gets 412.
    version = fields.IntField(default=1)
    # The meeting at which the action's undone end (UNDONE) was reviewed: from then on it leaves the outstanding
    # actions (docs/domain.md#outstanding-actions). Any later change of status clears it.
    end_reviewed_meeting_id = fields.CharField(max_length=32, null=True)
    created_by = fields.CharField(max_length=32)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "action"
        # The quarterly figures read the actions agreed at a quarter's meetings (meeting_id).
        # item_id: deleting an agenda item checks its actions (RESTRICT); without it every
        # agenda rebuild that drops a case read all actions of every conference.
        # The action lists (an agency's; the coordinator's) choose a page from the index alone,
        # in list order, and read only that page's rows.
        indexes = (
            ("owner_agency_id", "status", "conference_id", "due_date", "created_at", "id"),
            ("conference_id", "status", "due_date", "created_at", "id"),
            # The outstanding actions: the undone ones whose end is not yet reviewed, from the index.
            ("conference_id", "status", "end_reviewed_meeting_id"),
            ("meeting_id", "status"),
            ("item_id",),
        )
        ordering = ["due_date", "created_at"]


class ActionUpdate(Model):
    # Every change, kept: who, when, what status and what they wrote.
    id = fields.BigIntField(primary_key=True)
    action: fields.ForeignKeyRelation[Action] = fields.ForeignKeyField(
        "marac.Action", related_name="updates", on_delete=fields.CASCADE
    )
    action_id: str
    status = fields.CharField(max_length=40)
    text = fields.TextField(default="")
    version = fields.IntField()
    user_id = fields.CharField(max_length=32)
    agency_id = fields.CharField(max_length=32)
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "action_update"
        ordering = ["id"]
        # An action's history is read with the action (every PATCH): never a scan of all updates;
        # when it was done (quarterly figures: on time or late).
        indexes = (("action_id", "id"), ("action_id", "status"))


class ActionReview(Model):
    # The chair's review of an outstanding action at a later meeting.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    action: fields.ForeignKeyRelation[Action] = fields.ForeignKeyField(
        "marac.Action", related_name="reviews", on_delete=fields.CASCADE
    )
    action_id: str
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "marac.Meeting", related_name="action_reviews", on_delete=fields.CASCADE
    )
    meeting_id: str
    outcome = fields.CharField(max_length=40)
    note = fields.TextField(default="")
    user_id = fields.CharField(max_length=32)
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "action_review"
        unique_together = (("action", "meeting"),)


class Note(SealedModel):
    # What was said about a case, with who may read it chosen when it is written.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    item: fields.ForeignKeyRelation[AgendaItem] = fields.ForeignKeyField(
        "marac.AgendaItem", related_name="notes", on_delete=fields.CASCADE
    )
    item_id: str
    stage = fields.CharField(max_length=32, default="discussion")
    text = SealedText()
    visibility = fields.CharField(max_length=16)
    agencies: fields.JSONField[list[Any]] = fields.JSONField(default=list)  # agency ids, for restricted notes
    author_id = fields.CharField(max_length=32)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "note"
        ordering = ["created_at"]
        # The minutes read one meeting's notes through its cases; a deleted case cascades here.
        indexes = (("item_id", "created_at"),)


class Revision(SealedModel):
    # What a note or an action held before the chair or coordinator changed or deleted it (or a
    # meeting before it was reopened, with the reason), and who did it when: the history of the
    # meeting's record, kept after the record itself is deleted (retention erases a case's with
    # the case). The audit trail says the same with ids only.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    object_type = fields.CharField(max_length=16)  # note | action | meeting
    object_id = fields.CharField(max_length=32)
    item_id = fields.CharField(max_length=32)  # the case (agenda item); "" for a meeting
    change = fields.CharField(max_length=16)  # edit | delete | reopen
    before = SealedJSON()
    reason = fields.CharField(max_length=16, default="")  # "correction": after the minutes were approved
    user_id = fields.CharField(max_length=32)
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "revision"
        ordering = ["at"]
        indexes = (("object_id", "at"), ("item_id",))


class Attendance(Model):
    # One line of the register: present, apologies or observer.
    id = fields.BigIntField(primary_key=True)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "marac.Meeting", related_name="attendance", on_delete=fields.CASCADE
    )
    meeting_id: str
    kind = fields.CharField(max_length=16)  # present | apology | observer
    agency: fields.ForeignKeyNullableRelation[Agency] = fields.ForeignKeyField(
        "marac.Agency", related_name="attendance", null=True, on_delete=fields.RESTRICT
    )
    agency_id: str | None
    name = fields.CharField(max_length=200)
    information_sent = fields.BooleanField(null=True)
    information_sent_on = fields.DateField(null=True)
    confidentiality_signed = fields.BooleanField(null=True)

    class Meta:
        table = "attendance"
        ordering = ["kind", "id"]


# The case of an audit event (audit.service.case_of): the referral of the agenda item a note or action belongs to.
@case_of("note")
async def _case_of_note(note_id: str, conn: BaseDBAsyncClient) -> str | None:
    found = await Note.filter(id=note_id).using_db(conn).first().values_list("item__referral_id", flat=True)
    return str(found) if found else None


@case_of("action")
async def _case_of_action(action_id: str, conn: BaseDBAsyncClient) -> str | None:
    found = await Action.filter(id=action_id).using_db(conn).first().values_list("item__referral_id", flat=True)
    return str(found) if found else None
