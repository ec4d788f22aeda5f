from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

# bench/national.py: every PATCH /api/v1/actions/{id} reads the action's updates, which
# was a sequential scan of action_update (5 million rows at national scale).

class Migration(migrations.Migration):
    dependencies = [('marac', '0006_audit_append_only')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='ActionUpdate',
            index=Index(fields=['action_id', 'id']),
        ),
    ]
