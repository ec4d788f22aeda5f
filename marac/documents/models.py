from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from marac.ids import new_id

if TYPE_CHECKING:  # type hints only: the models of other domains, higher or lower
    from marac.agencies.models import Agency
    from marac.meetings.models import Meeting

DOCUMENT_KINDS = ("agenda", "minutes")


class Document(Model):
    # One rendered PDF for one recipient agency: each agency gets its own copy, because
    # each may see different cases and notes. A re-issue is a new version; the old row
    # keeps its file and gets superseded_at, so what was sent stays provable.
    # The row holds nothing identifying: the reference and file name are random.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    kind = fields.CharField(max_length=16)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "marac.Meeting", related_name="documents", on_delete=fields.CASCADE
    )
    meeting_id: str
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "marac.Agency", related_name="documents", on_delete=fields.RESTRICT
    )
    agency_id: str
    version = fields.IntField()
    # Minutes: the view rendered (full or actions_only), checked against what the agency may
    # have on every download (a copy wider than that is withdrawn and made again); "" for a
    # research list, which is the same for every member.
    tier = fields.CharField(max_length=16, default="", db_default="")
    reference = fields.CharField(max_length=64)
    file_name = fields.CharField(max_length=64)
    sha256 = fields.CharField(max_length=64)
    size = fields.IntField()
    pages = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)
    superseded_at = fields.DatetimeField(null=True)

    class Meta:
        table = "document"
        unique_together = (("kind", "meeting", "agency", "version"),)
        ordering = ["created_at"]
