"""Key versions for the audit chain and the person index (README, "Field-level encryption").

Rows written before this migration were signed or digested with keys derived from
MARAC_SECRET_KEY: they get version 0, which settings.versioned_keys derives that way, so
they still verify and match. New rows record the data key version that made them;
`marac keys rotate` recomputes version-0 person-index keys under the newest data key.
Audit events are never rewritten. (Stored documents need no column: each file names its key
version in a header, and a file without one is version 0; see documents/store.py.)
On PostgreSQL adding a column with a constant default rewrites no row, so the append-only
triggers of 0006 are not involved.
"""

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("marac", "0010_action_list_indexes")]

    initial = False

    operations = [
        ops.AddField(
            model_name="AuditEvent",
            name="key_version",
            field=fields.IntField(db_default=0),
        ),
        ops.AddField(
            model_name="PersonKey",
            name="key_version",
            field=fields.IntField(db_default=0),
        ),
        ops.AddIndex(
            model_name="PersonKey",
            index=Index(fields=["person_id", "key_version"]),
        ),
    ]
