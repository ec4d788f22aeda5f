"""The chair's preparation: the advocate's contact with the victim on research, the chair's pack,
and notifications about a meeting (research chased)."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from marac.ids import new_id
from marac.sealed import SealedDate, SealedText


class Migration(migrations.Migration):
    dependencies = [("marac", "0015_roles_per_conference")]

    initial = False

    operations = [
        ops.AddField(model_name="Research", name="victim_contacted", field=fields.CharField(null=True, max_length=8)),
        ops.AddField(model_name="Research", name="contacted_on", field=SealedDate(null=True, unique=False)),
        ops.AddField(model_name="Research", name="victim_views", field=SealedText(null=True, unique=False)),
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
        ops.CreateModel(
            name="ChairPack",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "meeting",
                    fields.ForeignKeyField(
                        "marac.Meeting",
                        source_field="meeting_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="chair_packs",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("version", fields.IntField()),
                ("digest", fields.CharField(max_length=64)),
                ("status", fields.CharField(default="pending", max_length=16)),
                ("job_id", fields.CharField(null=True, max_length=32)),
                ("reference", fields.CharField(max_length=64)),
                ("file_name", fields.CharField(null=True, max_length=64)),
                ("sha256", fields.CharField(null=True, max_length=64)),
                ("size", fields.IntField(null=True)),
                ("pages", fields.IntField(null=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "chair_pack",
                "app": "marac",
                "indexes": [Index(fields=["meeting_id", "digest"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
