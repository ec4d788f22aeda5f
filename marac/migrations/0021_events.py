"""Domain events (marac/notices/events.py): what happened, for people and agency systems to be told."""

from typing import Any

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


def _link(model: str, source_field: str) -> Any:
    return fields.ForeignKeyField(
        f"marac.{model}",
        source_field=source_field,
        null=True,
        db_constraint=True,
        to_field="id",
        related_name="events",
        on_delete=OnDelete.CASCADE,
    )


class Migration(migrations.Migration):
    dependencies = [("marac", "0020_referral_intake")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Event",
            fields=[
                ("id", fields.BigIntField(primary_key=True, unique=True, db_index=True)),
                ("kind", fields.CharField(max_length=32)),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("conference", _link("Conference", "conference_id")),
                ("referral", _link("Referral", "referral_id")),
                ("meeting", _link("Meeting", "meeting_id")),
                ("action", _link("Action", "action_id")),
                ("agency", _link("Agency", "agency_id")),
                ("data", fields.JSONField(default=dict)),
                ("notified_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("hooked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "event",
                "app": "marac",
                "indexes": [Index(fields=["notified_at", "id"]), Index(fields=["hooked_at", "id"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
