from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from marac.ids import new_id
from marac.sealed import SealedText


async def restore_notification_unique(apps, schema_editor) -> None:
    # Tortoise 1.1.9 alters a column on SQLite by rebuilding the table, and the rebuilt table
    # loses its unique_together: put back the one that keeps reminders to one per action,
    # kind and day. PostgreSQL alters the column in place and keeps it.
    if schema_editor.client.capabilities.dialect == "sqlite":
        await schema_editor._run_sql(
            'CREATE UNIQUE INDEX IF NOT EXISTS "uid_notification_user_action_kind_day" '
            'ON "notification" ("user_id", "action_id", "kind", "day")'
        )


class Migration(migrations.Migration):
    dependencies = [("marac", "0003_sealed_fields")]

    initial = False

    operations = [
        ops.CreateModel(
            name="BreakGlass",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "marac.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="break_glass",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "agency",
                    fields.ForeignKeyField(
                        "marac.Agency",
                        source_field="agency_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="break_glass",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "referral",
                    fields.ForeignKeyField(
                        "marac.Referral",
                        source_field="referral_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="break_glass",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "conference",
                    fields.ForeignKeyField(
                        "marac.Conference",
                        source_field="conference_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="break_glass",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("reason", SealedText(unique=False)),
                ("started_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("ended_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("end_reason", fields.CharField(null=True, max_length=16)),
                ("ended_by", fields.CharField(null=True, max_length=32)),
                ("contact_approved_by", fields.CharField(null=True, max_length=32)),
                ("contact_approved_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("reviewed_by", fields.CharField(null=True, max_length=32)),
                ("reviewed_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("review_note", SealedText(null=True, unique=False)),
            ],
            options={
                "table": "break_glass",
                "app": "marac",
                "indexes": [
                    Index(fields=["user_id", "referral_id", "ended_at"]),
                    Index(fields=["conference_id", "reviewed_at"]),
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.AlterField(
            model_name="Notification",
            name="action",
            field=fields.ForeignKeyField(
                "marac.Action",
                source_field="action_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="notifications",
                on_delete=OnDelete.CASCADE,
            ),
        ),
        ops.AddField(
            model_name="Notification",
            name="break_glass",
            field=fields.ForeignKeyField(
                "marac.BreakGlass",
                source_field="break_glass_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="notifications",
                on_delete=OnDelete.CASCADE,
            ),
        ),
        ops.RunPython(restore_notification_unique, ops.RunPython.noop),
    ]
