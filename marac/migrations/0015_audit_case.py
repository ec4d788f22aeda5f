"""The case an audit event is about (README, "Audit"): a nullable column and its index.

Earlier events keep None: audit events are never rewritten (the append-only triggers of 0006
refuse it, and the chain would break). record() signs the case into the chain only when it is
set, so every earlier event still verifies unchanged. On PostgreSQL adding a nullable column
rewrites no row.
"""

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("marac", "0014_legal_hold")]

    initial = False

    operations = [
        ops.AddField(
            model_name="AuditEvent",
            name="case_id",
            field=fields.CharField(max_length=32, null=True),
        ),
        ops.AddIndex(
            model_name="AuditEvent",
            index=Index(fields=["case_id", "seq"]),
        ),
    ]
