"""The history of notes and actions changed or deleted at and after the meeting (README, "The meeting and actions")."""

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from marac.ids import new_id
from marac.sealed import SealedJSON


class Migration(migrations.Migration):
    dependencies = [("marac", "0017_minutes_corrections")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Revision",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                ("object_type", fields.CharField(max_length=16)),
                ("object_id", fields.CharField(max_length=32)),
                ("item_id", fields.CharField(max_length=32)),
                ("change", fields.CharField(max_length=16)),
                ("before", SealedJSON()),
                ("reason", fields.CharField(default="", max_length=16)),
                ("user_id", fields.CharField(max_length=32)),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "revision",
                "app": "marac",
                "indexes": [Index(fields=["object_id", "at"]), Index(fields=["item_id"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
