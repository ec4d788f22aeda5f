"""Transfers between MARAC areas (docs/domain.md#transfers): the date the source MARAC last heard
an incoming transfer, the area and day a case was transferred out, the transfer package (a
stored PDF for the coordinator), and the area a disclosure went to outside the service."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from marac.ids import new_id
from marac.sealed import SealedText


class Migration(migrations.Migration):
    dependencies = [("marac", "0026_notifications")]

    initial = False

    operations = [
        ops.AddField(model_name="Referral", name="transfer_last_heard", field=fields.DateField(null=True)),
        ops.AddField(
            model_name="Referral", name="transferred_out_to", field=fields.CharField(null=True, max_length=200)
        ),
        ops.AddField(model_name="Referral", name="transferred_out_on", field=fields.DateField(null=True)),
        ops.AddField(model_name="Disclosure", name="recipient", field=fields.CharField(null=True, max_length=200)),
        ops.CreateModel(
            name="TransferPackage",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "referral",
                    fields.ForeignKeyField(
                        "marac.Referral",
                        source_field="referral_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="transfer_packages",
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
                        related_name="transfer_packages",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("area", fields.CharField(max_length=200)),
                ("recipient", SealedText()),
                ("sent_by", fields.CharField(max_length=32)),
                ("sent_on", fields.DateField()),
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
                "table": "transfer_package",
                "app": "marac",
                "indexes": [Index(fields=["referral_id", "created_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
