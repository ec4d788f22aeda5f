from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from marac.audit.service import case_of
from marac.ids import new_id
from marac.sealed import SealedDate, SealedJSON, SealedModel, SealedText

if TYPE_CHECKING:  # type hints only: the models of other domains, higher or lower
    from marac.actions.models import Action
    from marac.agencies.models import Agency, Conference
    from marac.referrals.models import Referral

MEETING_STATUSES = ("scheduled", "published", "held", "cancelled")
MEETING_KINDS = ("scheduled", "emergency")
ITEM_STATES = ("listed", "overflow", "deferred")
VICTIM_CONTACT = ("yes", "no", "unable")


class Meeting(SealedModel):
    # One sitting of a conference. `slot_date` is the cadence date it was generated for
    # (None for an emergency meeting); `date` is when it really sits (moved for a bank
    # holiday or by the coordinator). The cut-off is stored: a change of rules never
    # moves the deadline of a meeting already announced.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    conference: fields.ForeignKeyRelation[Conference] = fields.ForeignKeyField(
        "marac.Conference", related_name="meetings", on_delete=fields.CASCADE
    )
    conference_id: str
    slot_date = fields.DateField(null=True)
    date = fields.DateField(db_index=True)
    cut_off = fields.DateField()
    kind = fields.CharField(max_length=16, default="scheduled")
    status = fields.CharField(max_length=16, default="scheduled")
    venue = fields.CharField(max_length=200, null=True)
    published_at = fields.DatetimeField(null=True)
    snapshot = SealedJSON(null=True)  # the agenda frozen at publication
    confidentiality_read_at = fields.DatetimeField(null=True)
    confidentiality_read_by = fields.CharField(max_length=32, null=True)
    held_at = fields.DatetimeField(null=True)
    any_other_business = fields.TextField(default="")
    # The newest approved minutes version (0: none yet). Once there is one, the meeting's record
    # takes corrections for the next version (actions.service).
    minutes_version = fields.IntField(default=0, db_default=0)
    # The research list's current version: 1 at publication, one more for each urgent case added after it
    # (agenda.add_case), each rendered for every member agency.
    research_list_version = fields.IntField(default=1, db_default=1)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "meeting"
        unique_together = (("conference", "slot_date"),)
        # Held meetings whose minutes no chair has approved yet (marac/todo.py), without the conference's history.
        indexes = (("conference_id", "date"), ("conference_id", "status", "minutes_version"))
        ordering = ["date"]


class AgendaItem(Model):
    # A case at a meeting: a referral listed (or moved on) by the agenda builder. Its id is
    # the API's case_id; research, notes and actions hang off it.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "marac.Meeting", related_name="items", on_delete=fields.CASCADE
    )
    meeting_id: str
    referral: fields.ForeignKeyRelation[Referral] = fields.ForeignKeyField(
        "marac.Referral", related_name="agenda_items", on_delete=fields.CASCADE
    )
    referral_id: str
    actions: fields.ReverseRelation[Action]
    number = fields.IntField()  # stable within the meeting: "Case 3" stays case 3 when reordered
    section = fields.CharField(max_length=32)
    position = fields.IntField(default=0)
    state = fields.CharField(max_length=16, default="listed")
    reason = fields.CharField(max_length=500, null=True)
    added_manually = fields.BooleanField(default=False)
    # At the meeting: the chair's timer and decision (heard, or deferred with a reason).
    started_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    outcome = fields.CharField(max_length=16, null=True)
    outcome_reason = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "agenda_item"
        unique_together = (("meeting", "referral"),)
        indexes = (("referral_id",),)  # a case's hearings and deferrals, without reading every agenda
        ordering = ["section", "position"]


class Research(SealedModel):
    # What one member agency found about one case before the meeting. The summary is for
    # the chair and coordinator only until the meeting.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    item: fields.ForeignKeyRelation[AgendaItem] = fields.ForeignKeyField(
        "marac.AgendaItem", related_name="research", on_delete=fields.CASCADE
    )
    item_id: str
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "marac.Agency", related_name="research", on_delete=fields.RESTRICT
    )
    agency_id: str
    known = fields.BooleanField()
    summary = SealedText(default="")
    # The victim's advocate (the receiving advocacy agency) records its contact with the
    # victim here: yes, no or unable; when; and the victim's views and wishes. For the chair
    # and coordinator only, like the summary.
    victim_contacted = fields.CharField(max_length=8, null=True)
    contacted_on = SealedDate(null=True)
    victim_views: str | None = SealedText(null=True)  # Tortoise types text as str, even if null
    updated_by = fields.CharField(max_length=32)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "research"
        unique_together = (("item", "agency"),)


# The case of an audit event (audit.service.case_of): an agenda item is its referral at one meeting.
@case_of("agenda_item")
async def _case_of_item(item_id: str, conn: BaseDBAsyncClient) -> str | None:
    found = await AgendaItem.filter(id=item_id).using_db(conn).first().values_list("referral_id", flat=True)
    return str(found) if found else None


class ChairPack(Model):
    # The chair's preparation pack of one meeting, laid out once with its footer left blank;
    # each download stamps the reader's own footer on a copy (documents/render.py stamp()).
    # `digest` is the sha256 of the content it was laid out from: a pack whose digest is no
    # longer the meeting's is out of date and laid out again (research came in, say).
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "marac.Meeting", related_name="chair_packs", on_delete=fields.CASCADE
    )
    meeting_id: str
    version = fields.IntField()
    digest = fields.CharField(max_length=64)
    status = fields.CharField(max_length=16, default="pending")  # pending | ready
    job_id = fields.CharField(max_length=32, null=True)  # the job laying it out (its progress)
    reference = fields.CharField(max_length=64)
    file_name = fields.CharField(max_length=64, null=True)
    sha256 = fields.CharField(max_length=64, null=True)
    size = fields.IntField(null=True)
    pages = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "chair_pack"
        indexes = (("meeting_id", "digest"),)
