from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from marac.ids import new_id


class Migration(migrations.Migration):
    dependencies = [("marac", "0001_initial")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Disclosure",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("conference_id", fields.CharField(max_length=32)),
                ("meeting_id", fields.CharField(null=True, max_length=32)),
                ("kind", fields.CharField(max_length=32)),
                ("document_id", fields.CharField(null=True, max_length=32)),
                ("version", fields.IntField(null=True)),
                ("agency_id", fields.CharField(max_length=32)),
                ("user_id", fields.CharField(max_length=32)),
                ("purpose", fields.CharField(max_length=200)),
            ],
            options={
                "table": "disclosure",
                "app": "marac",
                "indexes": [Index(fields=["conference_id", "at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
