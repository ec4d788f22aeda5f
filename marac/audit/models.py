from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class AuditEvent(Model):
    # Ids only, never field values or names: the audit trail must not become a copy of case data.

    seq = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField()
    user_id = fields.CharField(max_length=32, null=True, db_index=True)
    agency_id = fields.CharField(max_length=32, null=True)
    action = fields.CharField(max_length=64)
    object_type = fields.CharField(max_length=64, null=True)
    object_id = fields.CharField(max_length=64, null=True, db_index=True)
    conference_id = fields.CharField(max_length=32, null=True, db_index=True)
    outcome = fields.CharField(max_length=16)
    request_id = fields.CharField(max_length=64, null=True)
    prev_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "audit_event"
        ordering = ["seq"]
