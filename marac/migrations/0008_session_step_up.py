"""When a session last gave both factors: sensitive actions ask again after 15 minutes (README "Step-up")."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("marac", "0007_reports")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Session",
            name="stepped_up_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
