from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from marac.ids import new_id
from marac.sealed import SealedJSON, SealedModel

if TYPE_CHECKING:  # type hints only: the models of other domains, higher or lower
    from marac.agencies.models import Agency
    from marac.documents.models import Document
    from marac.meetings.models import Meeting


class MinutesVersion(SealedModel):
    # Minutes frozen by the chair's approval. `content` holds everything any recipient may
    # get, and nothing no recipient may get (no chair-only notes, no addresses or phones);
    # each recipient's document is filtered from it. A correction is version N+1; the
    # earlier one is kept, superseded, for auditors.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "marac.Meeting", related_name="minutes", on_delete=fields.RESTRICT
    )
    meeting_id: str
    version = fields.IntField()
    status = fields.CharField(max_length=16, default="approved")  # approved | superseded
    content = SealedJSON()
    correction_reason: str | None = fields.TextField(null=True)  # Tortoise types text as str, even if null
    approved_by = fields.CharField(max_length=32)
    approved_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "minutes_version"
        unique_together = (("meeting", "version"),)


class MinutesRecipient(Model):
    # The outbox and the circulation record: one row per version and recipient agency,
    # written before any job is queued, so a lost queue message or a killed worker never
    # loses a document, and a second run finds the row done.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    minutes: fields.ForeignKeyRelation[MinutesVersion] = fields.ForeignKeyField(
        "marac.MinutesVersion", related_name="recipients", on_delete=fields.CASCADE
    )
    minutes_id: str
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "marac.Agency", related_name="minutes_received", on_delete=fields.RESTRICT
    )
    agency_id: str
    tier = fields.CharField(max_length=16)
    status = fields.CharField(max_length=16, default="pending")  # pending | done | failed
    attempts = fields.IntField(default=0)
    document: fields.ForeignKeyNullableRelation[Document] = fields.ForeignKeyField(
        "marac.Document", related_name="recipients", null=True, on_delete=fields.SET_NULL
    )
    document_id: str | None
    notified_at = fields.DatetimeField(null=True)
    first_downloaded_at = fields.DatetimeField(null=True)
    downloads = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "minutes_recipient"
        unique_together = (("minutes", "agency"),)
        # The agency's copies nobody there has opened yet (marac/todo.py): its rows only.
        indexes = (("status", "created_at"), ("agency_id", "status", "first_downloaded_at"))
