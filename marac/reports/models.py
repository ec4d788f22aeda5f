from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from marac.ids import new_id

if TYPE_CHECKING:  # type hints only: the models of other domains, higher or lower
    from marac.agencies.models import Conference


class ReportDocument(Model):
    # A steering-group PDF of one conference's quarter, small numbers suppressed. Aggregate
    # figures only, no case data; kept encrypted like every document (documents/store.py).
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    conference: fields.ForeignKeyRelation[Conference] = fields.ForeignKeyField(
        "marac.Conference", related_name="report_documents", on_delete=fields.CASCADE
    )
    conference_id: str
    quarter = fields.CharField(max_length=6)  # 2026Q3
    # The job that rendered it: a second delivery of the job finds it and stops.
    job_id = fields.CharField(max_length=32, unique=True)
    requested_by = fields.CharField(max_length=32, null=True)
    reference = fields.CharField(max_length=64)
    file_name = fields.CharField(max_length=64)
    sha256 = fields.CharField(max_length=64)
    size = fields.IntField()
    pages = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "report_document"
        ordering = ["-created_at"]
        indexes = (("conference_id", "quarter"),)
