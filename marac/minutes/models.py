from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from marac.audit.service import case_of
from marac.ids import new_id
from marac.sealed import SealedJSON, SealedModel, SealedText

if TYPE_CHECKING:  # type hints only: the models of other domains, higher or lower
    from marac.agencies.models import Agency, Conference
    from marac.documents.models import Document
    from marac.meetings.models import Meeting
    from marac.referrals.models import Referral


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


class TransferPackage(SealedModel):
    # A case sent to another area's MARAC (docs/domain.md#transfers): one PDF with the referral in full,
    # the minutes extract of each meeting that heard it and its open actions, laid out by a job
    # (minutes/transfer.py). For the conference's coordinator alone; every download is in the disclosure log.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    referral: fields.ForeignKeyRelation[Referral] = fields.ForeignKeyField(
        "marac.Referral", related_name="transfer_packages", on_delete=fields.CASCADE
    )
    referral_id: str
    conference: fields.ForeignKeyRelation[Conference] = fields.ForeignKeyField(
        "marac.Conference", related_name="transfer_packages", on_delete=fields.CASCADE
    )
    conference_id: str
    area = fields.CharField(max_length=200)  # the receiving MARAC's area: not personal data
    recipient = SealedText()  # the recipient's secure e-mail or reference: it may name a person
    sent_by = fields.CharField(max_length=32)
    sent_on = fields.DateField()
    status = fields.CharField(max_length=16, default="pending")  # pending | ready
    job_id = fields.CharField(max_length=32, null=True)
    reference = fields.CharField(max_length=64)
    file_name = fields.CharField(max_length=64, null=True)
    sha256 = fields.CharField(max_length=64, null=True)
    size = fields.IntField(null=True)
    pages = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "transfer_package"
        ordering = ["-created_at"]
        indexes = (("referral_id", "created_at"),)


# The case of an audit event (audit.service.case_of): a transfer package is its referral's.
@case_of("transfer_package")
async def _case_of_transfer_package(package_id: str, conn: BaseDBAsyncClient) -> str | None:
    found = await TransferPackage.filter(id=package_id).using_db(conn).first().values_list("referral_id", flat=True)
    return str(found) if found else None
