"""Credentials: the per-account second-factor counter and lock, TOTP seeds sealed with the
data keys, and an expiry on every API token (the rules: marac/agencies/auth.py)."""

from datetime import UTC, datetime, timedelta

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from marac.sealed import SealedText, reseal

# What an API token issued before this migration is given: 90 days from the upgrade, so a
# partner system is not cut off on the day of it (auth.TOKEN_LIFETIME for new ones).
EXISTING_TOKEN_LIFETIME = timedelta(days=90)


class AlterColumn(ops.AlterField):
    # As in 0003: Tortoise refuses to change a field's python type (text to sealed text), and
    # on SQLite its table rebuild would drop indexes and unique constraints while any column
    # there holds text and a NULL costs nothing. So the column changes on PostgreSQL only.
    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if state_editor and state_editor.client.capabilities.dialect != "sqlite":
            old_model = old_state.apps.get_model(f"{app_label}.{self.model_name}")
            new_model = new_state.apps.get_model(f"{app_label}.{self.model_name}")
            await state_editor._alter_field(
                new_model, old_model._meta.fields_map[self.name], new_model._meta.fields_map[self.name]
            )


async def seal_seeds_and_date_tokens(apps, schema_editor) -> None:
    conn = schema_editor.client
    # Seeds written in clear by older releases: sealed in place, in the migration's transaction.
    await reseal(conn, [("user", "totp_secret")], plaintext=True)
    mark = "$1" if conn.capabilities.dialect == "postgres" else "?"
    await conn.execute_query(
        f'UPDATE "api_token" SET "expires_at" = {mark} WHERE "expires_at" IS NULL',
        [datetime.now(UTC) + EXISTING_TOKEN_LIFETIME],
    )


class Migration(migrations.Migration):
    dependencies = [("marac", "0011_key_versions")]

    initial = False

    operations = [
        ops.AddField(
            model_name="User",
            name="second_factor_failures",
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name="User",
            name="locked_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        AlterColumn(
            model_name="User",
            name="totp_secret",
            field=SealedText(null=True, unique=False),
        ),
        ops.AddField(
            model_name="ApiToken",
            name="expires_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.RunPython(seal_seeds_and_date_tokens, ops.RunPython.noop),
        AlterColumn(
            model_name="ApiToken",
            name="expires_at",
            field=fields.DatetimeField(auto_now=False, auto_now_add=False),
        ),
    ]
