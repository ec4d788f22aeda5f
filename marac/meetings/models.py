from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from marac.agencies.models import new_id

MEETING_STATUSES = ("scheduled", "published", "held", "cancelled")


class Meeting(Model):
    # One sitting of a conference, generated from its cadence; the cut-off is stored so a
    # later change to the rules never moves the deadline of a meeting already announced.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    conference = fields.ForeignKeyField("marac.Conference", related_name="meetings", on_delete=fields.CASCADE)
    date = fields.DateField()
    cut_off = fields.DateField()
    status = fields.CharField(max_length=16, default="scheduled")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "meeting"
        unique_together = (("conference", "date"),)
        ordering = ["date"]
