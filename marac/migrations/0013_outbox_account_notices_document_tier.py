from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from marac.ids import new_id
from marac.sealed import SealedText

# Set-up links go by e-mail through a durable outbox, never to the administrator; coordinators
# are told when an account with case access is created or reset in their conference (the
# notification's new columns); a minutes document records the view it holds (tier), so a
# download can check it against the agency's tier at that moment (docs/security.md).


async def tier_of_existing_minutes(apps, schema_editor) -> None:
    # Each stored minutes document was rendered for its recipient row's tier.
    await schema_editor._run_sql(
        'UPDATE "document" SET "tier" = (SELECT "r"."tier" FROM "minutes_recipient" "r" '
        'WHERE "r"."document_id" = "document"."id") '
        "WHERE \"kind\" = 'minutes' "
        'AND EXISTS (SELECT 1 FROM "minutes_recipient" "r" WHERE "r"."document_id" = "document"."id")'
    )


class Migration(migrations.Migration):
    dependencies = [("marac", "0012_credentials")]

    initial = False

    operations = [
        ops.CreateModel(
            name="OutboxEmail",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "marac.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="outbox",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("kind", fields.CharField(max_length=32)),
                ("subject", fields.CharField(max_length=200)),
                ("body", SealedText(null=True, unique=False)),
                ("status", fields.CharField(default="pending", max_length=16)),
                ("attempts", fields.IntField(default=0)),
                ("next_attempt_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("claimed_until", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("sent_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "email_outbox",
                "app": "marac",
                "indexes": [Index(fields=["status", "next_attempt_at"]), Index(fields=["user_id", "kind", "status"])],
                "pk_attr": "id",
            },
            bases=["SealedModel"],
        ),
        ops.AddField(
            model_name="Document",
            name="tier",
            field=fields.CharField(default="", db_default="", max_length=16),
        ),
        ops.RunPython(tier_of_existing_minutes, ops.RunPython.noop),
        ops.AddField(
            model_name="Notification",
            name="about_user",
            field=fields.ForeignKeyField(
                "marac.User",
                source_field="about_user_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="account_notices",
                on_delete=OnDelete.CASCADE,
            ),
        ),
        ops.AddField(
            model_name="Notification",
            name="conference",
            field=fields.ForeignKeyField(
                "marac.Conference",
                source_field="conference_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="notifications",
                on_delete=OnDelete.CASCADE,
            ),
        ),
        ops.AddField(
            model_name="Notification",
            name="role",
            field=fields.CharField(null=True, max_length=16),
        ),
    ]
