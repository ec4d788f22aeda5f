"""Events a scheduled run emits once (the daily action reminders): a unique key, empty for every other event."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("marac", "0028_webhooks")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Event",
            name="dedupe_key",
            field=fields.CharField(null=True, unique=True, max_length=80),
        ),
    ]
