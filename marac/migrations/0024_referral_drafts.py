"""Referral drafts and repeats claimed by the referrer (README, "Referrals and the person index").

A draft holds what its author typed, sealed, until it is sent or expires (30 days after its last
save). A referrer who names an earlier MARAC case the system does not hold as the one this
referral repeats makes a claim the coordinator confirms or rejects; only a confirmed claim counts
the referral as a repeat. Referrals made before this claim nothing.
"""

from typing import Any

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from marac.ids import new_id
from marac.sealed import SealedJSON, SealedText


def _link(model: str, source_field: str) -> Any:
    return fields.ForeignKeyField(
        model,
        source_field=source_field,
        db_constraint=True,
        to_field="id",
        related_name="referral_drafts",
        on_delete=OnDelete.CASCADE,
    )


class Migration(migrations.Migration):
    dependencies = [("marac", "0023_history")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ReferralDraft",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                ("author", _link("marac.User", "author_id")),
                ("conference", _link("marac.Conference", "conference_id")),
                ("body", SealedJSON(default=dict)),
                ("saved_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "referral_draft",
                "app": "marac",
                "indexes": [Index(fields=["author_id", "expires_at"]), Index(fields=["conference_id", "expires_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.AddField(model_name="Referral", name="repeat_claim", field=fields.CharField(null=True, max_length=16)),
        ops.AddField(model_name="Referral", name="repeat_claim_reason", field=SealedText(null=True)),
        ops.AddField(
            model_name="Referral", name="repeat_claim_decided_by", field=fields.CharField(null=True, max_length=32)
        ),
        ops.AddField(model_name="Referral", name="repeat_claim_decided_at", field=fields.DatetimeField(null=True)),
    ]
