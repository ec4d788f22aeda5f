from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from marac.ids import new_id
from marac.sealed import SealedModel, SealedText

if TYPE_CHECKING:  # type hints only: the models of other domains, higher or lower
    from marac.agencies.models import Conference


class RetentionNotice(Model):
    # A case (one victim's entry in the person index) found past its conference's retention
    # period by a run, and listed on the retention page from that day. A later run anonymises
    # it once the notice is NOTICE_DAYS old; a new referral in the meantime withdraws it.
    # Ids and dates only. Deleted when the case is anonymised (the referrals then say so).
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    conference: fields.ForeignKeyRelation[Conference] = fields.ForeignKeyField(
        "marac.Conference", related_name="retention_notices", on_delete=fields.CASCADE
    )
    conference_id: str
    person_id = fields.CharField(max_length=32)
    last_referral_on = fields.DateField()
    listed_on = fields.DateField()

    class Meta:
        table = "retention_notice"
        unique_together = (("conference", "person_id"),)


class RetentionRun(Model):
    # What one run did in one conference: counts only, so the audit event (which carries ids,
    # never values) can point here for the numbers.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    conference: fields.ForeignKeyRelation[Conference] = fields.ForeignKeyField(
        "marac.Conference", related_name="retention_runs", on_delete=fields.CASCADE
    )
    conference_id: str
    at = fields.DatetimeField()
    day = fields.DateField()
    listed = fields.IntField(default=0)
    withdrawn = fields.IntField(default=0)
    anonymised_cases = fields.IntField(default=0)
    anonymised_referrals = fields.IntField(default=0)
    documents_deleted = fields.IntField(default=0)
    requested_by = fields.CharField(max_length=32, null=True)  # None: the daily job

    class Meta:
        table = "retention_run"
        ordering = ["-at"]
        indexes = (("conference_id", "at"),)


class LegalHold(SealedModel):
    # A coordinator's hold on a person in the conference's person index (a case is its victim):
    # while it stands, no retention run anonymises a case the person is the victim of or is
    # named in (docs/domain.md#retention). Lifting keeps the row, so the page shows who held
    # what and when; the audit trail carries the hold's id only.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    conference: fields.ForeignKeyRelation[Conference] = fields.ForeignKeyField(
        "marac.Conference", related_name="legal_holds", on_delete=fields.CASCADE
    )
    conference_id: str
    person_id = fields.CharField(max_length=32)
    reason = SealedText()  # typed by the coordinator (a review, an inquiry, a court order): may name someone
    set_by = fields.CharField(max_length=32)
    set_at = fields.DatetimeField()
    lifted_by = fields.CharField(max_length=32, null=True)
    lifted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "legal_hold"
        indexes = (("conference_id", "person_id"),)
