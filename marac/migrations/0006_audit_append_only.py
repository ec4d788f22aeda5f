from tortoise import migrations
from tortoise.migrations import operations as ops

# PostgreSQL refuses to change or remove audit events and disclosure-log entries, whoever
# asks: the hash chain detects tampering, the trigger prevents it unless the tables' owner
# first switches it off, which the service's own role cannot (MARAC_DATABASE_APP_ROLE).
# (SQLite, the single-user embedded default, relies on the chain.)
APPEND_ONLY = """
CREATE OR REPLACE FUNCTION marac_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
"""
TABLES = ("audit_event", "disclosure")


async def append_only(apps, schema_editor) -> None:
    if schema_editor.client.capabilities.dialect != "postgres":
        return
    await schema_editor._run_sql(APPEND_ONLY)
    for table in TABLES:
        await schema_editor._run_sql(
            f'DROP TRIGGER IF EXISTS {table}_append_only ON "{table}";'
            f'CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON "{table}" '
            f"FOR EACH ROW EXECUTE FUNCTION marac_append_only();"
            f'DROP TRIGGER IF EXISTS {table}_no_truncate ON "{table}";'
            f'CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON "{table}" '
            f"FOR EACH STATEMENT EXECUTE FUNCTION marac_append_only();"
        )


class Migration(migrations.Migration):
    dependencies = [("marac", "0005_retention")]

    initial = False

    operations = [
        ops.RunPython(append_only, ops.RunPython.noop),
    ]
