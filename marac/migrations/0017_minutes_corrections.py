"""Minutes corrections: the meeting's newest approved version (README, "Minutes and controlled sharing").
Notices of a new version name their meeting through the column 0016 added."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


async def approved_versions(apps, schema_editor) -> None:
    await schema_editor._run_sql(
        'UPDATE "meeting" SET "minutes_version" = '
        '(SELECT MAX("version") FROM "minutes_version" WHERE "minutes_version"."meeting_id" = "meeting"."id") '
        'WHERE EXISTS (SELECT 1 FROM "minutes_version" WHERE "minutes_version"."meeting_id" = "meeting"."id")'
    )


class Migration(migrations.Migration):
    dependencies = [("marac", "0016_chair_preparation")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Meeting",
            name="minutes_version",
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.RunPython(approved_versions, ops.RunPython.noop),
    ]
