"""Legal holds on retention (README, "Retention and subject access")."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from marac.ids import new_id
from marac.sealed import SealedText


class Migration(migrations.Migration):
    dependencies = [("marac", "0013_outbox_account_notices_document_tier")]

    initial = False

    operations = [
        ops.CreateModel(
            name="LegalHold",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "conference",
                    fields.ForeignKeyField(
                        "marac.Conference",
                        source_field="conference_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="legal_holds",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("person_id", fields.CharField(max_length=32)),
                ("reason", SealedText()),
                ("set_by", fields.CharField(max_length=32)),
                ("set_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("lifted_by", fields.CharField(null=True, max_length=32)),
                ("lifted_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "legal_hold",
                "app": "marac",
                "indexes": [Index(fields=["conference_id", "person_id"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
