"""Earlier cases (README, "Loading earlier cases"): history files and the cases they load, which
count for repeats from day one, and a referral's link to the earlier case it repeats."""

from typing import Any

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from marac.ids import new_id
from marac.sealed import SealedText


def _id() -> fields.CharField:
    return fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)


def _link(model: str, source_field: str, related_name: str, on_delete: OnDelete, null: bool = False) -> Any:
    options: dict[str, Any] = {"source_field": source_field, "db_constraint": True, "to_field": "id", "null": null}
    return fields.ForeignKeyField(model, related_name=related_name, on_delete=on_delete, **options)


class Migration(migrations.Migration):
    dependencies = [("marac", "0022_todo_indexes")]

    initial = False

    operations = [
        ops.CreateModel(
            name="HistoryImport",
            fields=[
                ("id", _id()),
                ("conference", _link("marac.Conference", "conference_id", "history_imports", OnDelete.CASCADE)),
                ("digest", fields.CharField(max_length=64)),
                ("content", SealedText(null=True)),
                ("status", fields.CharField(default="queued", max_length=16)),
                ("message", fields.CharField(null=True, max_length=200)),
                ("progress", fields.IntField(default=0)),
                ("rows", fields.IntField(default=0)),
                ("added", fields.IntField(default=0)),
                ("skipped", fields.IntField(default=0)),
                ("problems", fields.JSONField(default=list)),
                ("requested_by", fields.CharField(null=True, max_length=32)),
                ("job_id", fields.CharField(null=True, max_length=32)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("finished_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "history_import",
                "app": "marac",
                "indexes": [Index(fields=["conference_id", "digest"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="EarlierCase",
            fields=[
                ("id", _id()),
                ("conference", _link("marac.Conference", "conference_id", "earlier_cases", OnDelete.CASCADE)),
                (
                    "history_import",
                    _link("marac.HistoryImport", "history_import_id", "cases", OnDelete.CASCADE),
                ),
                (
                    "victim_person",
                    _link("marac.Person", "victim_person_id", "earlier_cases_as_victim", OnDelete.RESTRICT),
                ),
                (
                    "perpetrator_person",
                    _link(
                        "marac.Person",
                        "perpetrator_person_id",
                        "earlier_cases_as_perpetrator",
                        OnDelete.RESTRICT,
                        null=True,
                    ),
                ),
                ("heard_on", fields.DateField()),
                ("line", fields.IntField()),
            ],
            options={
                "table": "earlier_case",
                "app": "marac",
                "indexes": [
                    Index(fields=["victim_person_id", "heard_on"]),
                    Index(fields=["perpetrator_person_id", "heard_on"]),
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="Referral",
            name="previous_case",
            field=_link("marac.EarlierCase", "previous_case_id", "repeats", OnDelete.SET_NULL, null=True),
        ),
    ]
