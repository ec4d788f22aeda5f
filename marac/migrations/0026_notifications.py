"""Notifications of events (marac/alerts): each notice names its event (one per user, event and kind), kinds
up to 32 characters, an index for the header's unread count, and each user's e-mail preference per kind."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import UniqueConstraint


class LongerKind(ops.AlterField):
    # As in 0012: on SQLite Tortoise would rebuild the table (and drop its unique constraints) to change a
    # length SQLite never enforces, so the column changes on PostgreSQL only.
    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if state_editor and state_editor.client.capabilities.dialect != "sqlite":
            old_model = old_state.apps.get_model(f"{app_label}.{self.model_name}")
            new_model = new_state.apps.get_model(f"{app_label}.{self.model_name}")
            await state_editor._alter_field(
                new_model, old_model._meta.fields_map[self.name], new_model._meta.fields_map[self.name]
            )


class Migration(migrations.Migration):
    dependencies = [("marac", "0025_incident_location")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Notification",
            name="event",
            field=fields.ForeignKeyField(
                "marac.Event",
                source_field="event_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="notifications",
                on_delete=OnDelete.CASCADE,
            ),
        ),
        LongerKind(model_name="Notification", name="kind", field=fields.CharField(max_length=32)),
        ops.AddConstraint(model_name="Notification", constraint=UniqueConstraint(fields=("user", "event", "kind"))),
        ops.AddIndex(model_name="Notification", index=Index(fields=["user_id", "read_at"])),
        ops.CreateModel(
            name="NotificationPreference",
            fields=[
                ("id", fields.BigIntField(primary_key=True, unique=True, db_index=True)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "marac.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="notification_preferences",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("kind", fields.CharField(max_length=32)),
                ("mode", fields.CharField(max_length=16)),
            ],
            options={
                "table": "notification_preference",
                "app": "marac",
                "unique_together": (("user", "kind"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
