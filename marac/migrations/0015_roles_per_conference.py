"""Roles per conference and receiving agencies (README, "Access").

A user's role in one conference may differ from their own (conference_role); no row means their
own role, so every user keeps exactly the access they had. A member agency may receive the
conference's referrals (membership.receives_referrals); none does until an admin says so.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from marac.ids import new_id


class Migration(migrations.Migration):
    dependencies = [("marac", "0014_legal_hold")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Membership",
            name="receives_referrals",
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.CreateModel(
            name="ConferenceRole",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "marac.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="conference_roles",
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
                        related_name="user_roles",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("role", fields.CharField(max_length=16)),
            ],
            options={
                "table": "conference_role",
                "app": "marac",
                "unique_together": (("user", "conference"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
