"""Audited writes no longer queue on the audit chain (docs/security.md#the-audit-chain): an event recorded while
another transaction holds the chain waits in audit_pending, committed with its change, until the next holder
chains it into audit_event; the chained event names the row it came from (pending_id).

On PostgreSQL a waiting event is as safe as a chained one: nobody may change it or empty the table, and a row
may be removed only once its event is in audit_event (which is append-only, and whose chain a forged event
breaks). The service's role gets INSERT, SELECT and DELETE on it, never UPDATE (db.grant_app_role).
"""

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

CHAINED_ONLY = """
CREATE OR REPLACE FUNCTION marac_audit_pending_chained_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM "audit_event" WHERE "pending_id" = OLD."id") THEN
        RAISE EXCEPTION 'audit_pending: event % is not yet chained: DELETE refused', OLD."id"
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
END
$$;
DROP TRIGGER IF EXISTS audit_pending_chained_only ON "audit_pending";
CREATE TRIGGER audit_pending_chained_only BEFORE DELETE ON "audit_pending"
    FOR EACH ROW EXECUTE FUNCTION marac_audit_pending_chained_only();
DROP TRIGGER IF EXISTS audit_pending_append_only ON "audit_pending";
CREATE TRIGGER audit_pending_append_only BEFORE UPDATE ON "audit_pending"
    FOR EACH ROW EXECUTE FUNCTION marac_append_only();
DROP TRIGGER IF EXISTS audit_pending_no_truncate ON "audit_pending";
CREATE TRIGGER audit_pending_no_truncate BEFORE TRUNCATE ON "audit_pending"
    FOR EACH STATEMENT EXECUTE FUNCTION marac_append_only();
"""


async def guard_pending(apps, schema_editor) -> None:
    # marac_append_only() is migration 0006's. SQLite has one writer at a time: nothing ever waits there.
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor._run_sql(CHAINED_ONLY)


class Migration(migrations.Migration):
    dependencies = [("marac", "0030_language")]

    initial = False

    operations = [
        ops.CreateModel(
            name="AuditPending",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("user_id", fields.CharField(null=True, max_length=32)),
                ("agency_id", fields.CharField(null=True, max_length=32)),
                ("action", fields.CharField(max_length=64)),
                ("object_type", fields.CharField(null=True, max_length=64)),
                ("object_id", fields.CharField(null=True, max_length=64)),
                ("conference_id", fields.CharField(null=True, max_length=32)),
                ("outcome", fields.CharField(max_length=16)),
                ("request_id", fields.CharField(null=True, max_length=64)),
                ("case_id", fields.CharField(null=True, max_length=32)),
            ],
            options={"table": "audit_pending", "app": "marac", "ordering": ["id"], "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.AddField(
            model_name="AuditEvent",
            name="pending_id",
            field=fields.BigIntField(null=True),
        ),
        # The trigger looks up each removed row's event: never a scan of the trail.
        ops.AddIndex(model_name="AuditEvent", index=Index(fields=["pending_id"])),
        ops.RunPython(guard_pending, ops.RunPython.noop),
    ]
