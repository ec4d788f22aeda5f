"""The language of each agency's documents (English unless set) and of each user's pages, once chosen."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("marac", "0029_event_dedupe")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Agency",
            name="language",
            field=fields.CharField(max_length=8, default="en", db_default="en"),
        ),
        ops.AddField(
            model_name="User",
            name="language",
            field=fields.CharField(max_length=8, null=True),
        ),
    ]
