from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

# Found by bench/national.py at national scale (docs/benchmarks.md):
# - action (item_id): removing a case from an agenda checks its actions (RESTRICT), which read
#   all 2.5 million actions of every conference for each case removed;
# - action_update (action_id, id): every PATCH /api/v1/actions/{id} read all updates;
# - note (item_id, created_at): the minutes read a meeting's notes through its cases.


class Migration(migrations.Migration):
    dependencies = [("marac", "0008_session_step_up")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="Action",
            index=Index(fields=["item_id"]),
        ),
        ops.AddIndex(
            model_name="ActionUpdate",
            index=Index(fields=["action_id", "id"]),
        ),
        ops.AddIndex(
            model_name="Note",
            index=Index(fields=["item_id", "created_at"]),
        ),
    ]
