"""Minutes corrections: the meeting's newest approved version, and notices of a new version
(README, "Minutes and controlled sharing")."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


async def approved_versions(apps, schema_editor) -> None:
    await schema_editor._run_sql(
        'UPDATE "meeting" SET "minutes_version" = '
        '(SELECT MAX("version") FROM "minutes_version" WHERE "minutes_version"."meeting_id" = "meeting"."id") '
        'WHERE EXISTS (SELECT 1 FROM "minutes_version" WHERE "minutes_version"."meeting_id" = "meeting"."id")'
    )


class Migration(migrations.Migration):
    dependencies = [("marac", "0015_roles_per_conference")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Meeting",
            name="minutes_version",
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.RunPython(approved_versions, ops.RunPython.noop),
        ops.AddField(
            model_name="Notification",
            name="meeting",
            field=fields.ForeignKeyField(
                "marac.Meeting",
                source_field="meeting_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="notifications",
                on_delete=OnDelete.CASCADE,
            ),
        ),
    ]
