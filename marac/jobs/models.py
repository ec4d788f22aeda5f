from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from marac.ids import new_id

JOB_STATUSES = ("queued", "running", "done", "failed")


class Job(Model):
    # What a caller can ask about a background job; the queue itself holds only ids.

    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    name = fields.CharField(max_length=64)
    status = fields.CharField(max_length=16, default="queued")
    progress = fields.IntField(default=0)
    error = fields.CharField(max_length=500, null=True)
    requested_by = fields.CharField(max_length=32, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "job"
