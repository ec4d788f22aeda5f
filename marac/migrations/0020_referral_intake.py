"""Referral intake (README, "Referrals and the person index"): the incident date behind a
referral, duplicates (the same incident referred twice) with the coordinator's merge, and
what a referral holds beyond the people's names: the referrer's contact, "previously known to
MARAC", and each person's details (a perpetrator's address; a child's relationships, school
and address).

Referrals made before this have no incident date of their own: their received date stands in,
as it did for repeats and escalation until now.
"""

from typing import Any

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from marac.ids import new_id
from marac.sealed import SealedJSON, SealedText


async def incident_date_from_received(apps, schema_editor) -> None:
    await schema_editor._run_sql('UPDATE "referral" SET "incident_date" = "received_at" WHERE "incident_date" IS NULL')


def _referral_link(source_field: str, related_name: str) -> Any:
    return fields.ForeignKeyField(
        "marac.Referral",
        source_field=source_field,
        null=True,
        db_constraint=True,
        to_field="id",
        related_name=related_name,
        on_delete=OnDelete.SET_NULL,
    )


class Migration(migrations.Migration):
    dependencies = [("marac", "0019_audit_case_action_review")]

    initial = False

    operations = [
        ops.AddField(model_name="Referral", name="incident_date", field=fields.DateField(null=True)),
        ops.RunPython(incident_date_from_received, ops.RunPython.noop),
        ops.AddField(
            model_name="Referral",
            name="possible_duplicate_of",
            field=_referral_link("possible_duplicate_of_id", "possible_duplicates"),
        ),
        ops.AddField(model_name="Referral", name="merged_into", field=_referral_link("merged_into_id", "merged")),
        ops.AddField(model_name="Referral", name="kept_apart_reason", field=SealedText(null=True)),
        ops.AddField(model_name="Referral", name="referrer_contact", field=SealedJSON(null=True)),
        ops.AddField(model_name="Referral", name="previously_known", field=fields.JSONField(null=True)),
        ops.AddField(model_name="ReferralPerson", name="details", field=SealedJSON(null=True)),
        ops.AddField(model_name="Referral", name="withdrawn_reason", field=SealedText(null=True)),
        ops.CreateModel(
            name="ReferralChange",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "referral",
                    fields.ForeignKeyField(
                        "marac.Referral",
                        source_field="referral_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="changes",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("kind", fields.CharField(max_length=16)),
                ("changed_by", fields.CharField(max_length=32)),
                ("changed_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("changed_fields", fields.JSONField(default=list)),
                ("before", SealedJSON(default=dict)),
                ("reason", SealedText(null=True)),
            ],
            options={
                "table": "referral_change",
                "app": "marac",
                "indexes": [Index(fields=["referral_id", "changed_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
