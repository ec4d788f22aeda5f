from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from marac.ids import new_id


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
    # The version of the audit-chain key that made `hash` (settings.versioned_keys); 0 for
    # events recorded before key versions, with the key derived from MARAC_SECRET_KEY.
    key_version = fields.IntField(db_default=0)
    # The case the event is about: its referral's id (a case keeps its referral from intake to minutes, across
    # deferrals). Set by record() for every event about a referral, case, note, action or break-glass grant;
    # None for everything else and for events recorded before migration 0017.
    case_id = fields.CharField(max_length=32, null=True)
    # The audit_pending row the event was chained from, when it waited (audit/service.py, seal): PostgreSQL lets
    # that row be removed only once its event is here. Not signed: it says where the event waited, not what it is.
    pending_id = fields.BigIntField(null=True)

    class Meta:
        table = "audit_event"
        ordering = ["seq"]
        # A case's trail (GET /api/v1/audit?case_id=) in order, from the index alone; the event of a waiting
        # row, which PostgreSQL looks for before that row may go (migration 0031).
        indexes = (("case_id", "seq"), ("pending_id",))


class AuditPending(Model):
    # An event recorded while another transaction held the chain (docs/security.md#the-audit-chain): committed with
    # the change it describes, and chained into audit_event, in this table's order, by the next transaction that
    # holds the chain. On PostgreSQL it cannot be changed, and removed only once its event is in audit_event
    # (migration 0031). The same columns as audit_event's, before the chain gives them a seq and hashes.

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField()
    user_id = fields.CharField(max_length=32, null=True)
    agency_id = fields.CharField(max_length=32, null=True)
    action = fields.CharField(max_length=64)
    object_type = fields.CharField(max_length=64, null=True)
    object_id = fields.CharField(max_length=64, null=True)
    conference_id = fields.CharField(max_length=32, null=True)
    outcome = fields.CharField(max_length=16)
    request_id = fields.CharField(max_length=64, null=True)
    case_id = fields.CharField(max_length=32, null=True)

    class Meta:
        table = "audit_pending"
        ordering = ["id"]


class Disclosure(Model):
    # The disclosure log (docs/domain.md#disclosure-log): what was shared, with whom, when and why. One row per
    # document an agency received (each download), ids only like the audit trail.

    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    at = fields.DatetimeField()
    conference_id = fields.CharField(max_length=32)
    meeting_id = fields.CharField(max_length=32, null=True)
    kind = fields.CharField(max_length=32)
    document_id = fields.CharField(max_length=32, null=True)
    version = fields.IntField(null=True)
    agency_id = fields.CharField(max_length=32)
    user_id = fields.CharField(max_length=32)
    purpose = fields.CharField(max_length=200)
    # Who received it outside the service: the area whose MARAC a transfer package went to. Not personal data.
    recipient = fields.CharField(max_length=200, null=True)

    class Meta:
        table = "disclosure"
        ordering = ["at"]
        indexes = (("conference_id", "at"),)
