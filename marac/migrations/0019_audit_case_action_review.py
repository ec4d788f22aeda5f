"""The case an audit event is about (README, "Audit"): a nullable column and its index. And the meeting at
which an undone action's end was reviewed, after which it leaves the outstanding actions
(docs/domain.md#outstanding-actions): set for the undone actions a review already closed or saw closed.
And the research list's version, re-issued when an urgent case is added after publication.

Earlier events keep None: audit events are never rewritten (the append-only triggers of 0006
refuse it, and the chain would break). record() signs the case into the chain only when it is
set, so every earlier event still verifies unchanged. On PostgreSQL adding a nullable column
rewrites no row.
"""

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


async def reviewed_undone_actions(apps, schema_editor) -> None:
    # An undone action was reviewed in that state at a meeting whose review recorded that outcome.
    await schema_editor._run_sql(
        'UPDATE "action" SET "end_reviewed_meeting_id" = (SELECT MAX("r"."meeting_id") FROM "action_review" "r" '
        'WHERE "r"."action_id" = "action"."id" AND "r"."outcome" = "action"."status") '
        "WHERE \"status\" IN ('not_possible_changed_circumstances', 'not_done_by_agency')"
    )


class Migration(migrations.Migration):
    dependencies = [("marac", "0018_revisions")]

    initial = False

    operations = [
        ops.AddField(
            model_name="AuditEvent",
            name="case_id",
            field=fields.CharField(max_length=32, null=True),
        ),
        ops.AddIndex(
            model_name="AuditEvent",
            index=Index(fields=["case_id", "seq"]),
        ),
        ops.AddField(
            model_name="Action",
            name="end_reviewed_meeting_id",
            field=fields.CharField(max_length=32, null=True),
        ),
        ops.AddIndex(
            model_name="Action",
            index=Index(fields=["conference_id", "status", "end_reviewed_meeting_id"]),
        ),
        ops.RunPython(reviewed_undone_actions, ops.RunPython.noop),
        # The research list's version: re-issued when an urgent case is added after publication.
        ops.AddField(
            model_name="Meeting",
            name="research_list_version",
            field=fields.IntField(default=1, db_default=1),
        ),
    ]
