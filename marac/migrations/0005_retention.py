from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from marac.ids import new_id


class Migration(migrations.Migration):
    dependencies = [("marac", "0004_break_glass")]

    initial = False

    operations = [
        ops.CreateModel(
            name="RetentionNotice",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "conference",
                    fields.ForeignKeyField(
                        "marac.Conference",
                        source_field="conference_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="retention_notices",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("person_id", fields.CharField(max_length=32)),
                ("last_referral_on", fields.DateField()),
                ("listed_on", fields.DateField()),
            ],
            options={
                "table": "retention_notice",
                "app": "marac",
                "unique_together": (("conference", "person_id"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RetentionRun",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "conference",
                    fields.ForeignKeyField(
                        "marac.Conference",
                        source_field="conference_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="retention_runs",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("day", fields.DateField()),
                ("listed", fields.IntField(default=0)),
                ("withdrawn", fields.IntField(default=0)),
                ("anonymised_cases", fields.IntField(default=0)),
                ("anonymised_referrals", fields.IntField(default=0)),
                ("documents_deleted", fields.IntField(default=0)),
                ("requested_by", fields.CharField(null=True, max_length=32)),
            ],
            options={
                "table": "retention_run",
                "app": "marac",
                "indexes": [Index(fields=["conference_id", "at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Referral",
            name="anonymised_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="ReferralPerson",
            name="age_band",
            field=fields.CharField(null=True, max_length=16),
        ),
    ]
