# Quarterly reports (docs/domain.md#quarterly-figures): the conference's report settings, the steering-group PDFs, and
# the indexes that keep one conference's figures off every other conference's rows.
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from marac.ids import new_id


class Migration(migrations.Migration):
    dependencies = [("marac", "0006_audit_append_only")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ReportDocument",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "conference",
                    fields.ForeignKeyField(
                        "marac.Conference",
                        source_field="conference_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="report_documents",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("quarter", fields.CharField(max_length=6)),
                ("job_id", fields.CharField(unique=True, max_length=32)),
                ("requested_by", fields.CharField(null=True, max_length=32)),
                ("reference", fields.CharField(max_length=64)),
                ("file_name", fields.CharField(max_length=64)),
                ("sha256", fields.CharField(max_length=64)),
                ("size", fields.IntField()),
                ("pages", fields.IntField()),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "report_document",
                "app": "marac",
                "indexes": [Index(fields=["conference_id", "quarter"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.AddIndex(
            model_name="Action",
            index=Index(fields=["meeting_id", "status"]),
        ),
        ops.AddIndex(
            model_name="ActionUpdate",
            index=Index(fields=["action_id", "status"]),
        ),
        ops.AddField(
            model_name="Conference",
            name="adult_female_population",
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name="Conference",
            name="repeat_rate_benchmark",
            field=fields.IntField(default=32, db_default=32),
        ),
        ops.AddIndex(
            model_name="ReferralPerson",
            index=Index(fields=["referral_id", "role"]),
        ),
    ]
