"""Repeats by location (agendas/README.md, `repeat.match`): a referral's incident location (sealed)
and the keyed digest it is matched on, the places a coordinator names, and the index a repeat by
perpetrator reads. Referrals made before this have no location: they match nothing on it.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from marac.ids import new_id
from marac.sealed import SealedJSON


class Migration(migrations.Migration):
    dependencies = [("marac", "0024_referral_drafts")]

    initial = False

    operations = [
        ops.CreateModel(
            name="NamedPlace",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "conference",
                    fields.ForeignKeyField(
                        "marac.Conference",
                        source_field="conference_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="named_places",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=100)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("retired_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "named_place",
                "app": "marac",
                "indexes": [Index(fields=["conference_id", "retired_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Referral",
            name="incident_location",
            field=SealedJSON(null=True, unique=False),
        ),
        ops.AddField(
            model_name="Referral",
            name="location_key",
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name="Referral",
            name="location_key_version",
            field=fields.IntField(null=True),
        ),
        ops.AddIndex(
            model_name="Referral",
            index=Index(fields=["conference_id", "location_key"]),
        ),
        ops.AddIndex(
            model_name="ReferralPerson",
            index=Index(fields=["person_id", "role"]),
        ),
    ]
