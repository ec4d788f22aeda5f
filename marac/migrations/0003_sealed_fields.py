import hashlib
import hmac
import re

from tortoise import migrations
from tortoise.migrations import operations as ops

from marac import settings
from marac.sealed import SEALED_AT_0003, SealedDate, SealedJSON, SealedText, reseal


def index_key(blocking_key: str, version: int) -> str:
    # Frozen from marac/referrals/people.py as this release made person-index keys: a keyed digest
    # under the "person-index" key of the given version. Later changes there must not change this.
    key = settings.get().versioned_keys("person-index")[version]
    return hmac.new(key, blocking_key.encode(), hashlib.sha256).hexdigest()


class SealColumn(ops.AlterField):
    # Tortoise refuses to change a field's python type (JSON or date to sealed text); the
    # column change itself is an ordinary one, so ask the schema editor for it directly.
    # Not on SQLite: any column there holds text whatever its declared type, and Tortoise's
    # SQLite table rebuild would drop the table's indexes and unique constraints.
    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if state_editor and state_editor.client.capabilities.dialect != "sqlite":
            old_model = old_state.apps.get_model(f"{app_label}.{self.model_name}")
            new_model = new_state.apps.get_model(f"{app_label}.{self.model_name}")
            await state_editor._alter_field(
                new_model, old_model._meta.fields_map[self.name], new_model._meta.fields_map[self.name]
            )


async def seal_existing_rows(apps, schema_editor) -> None:
    # Rows written before field-level encryption: sealed in place, in the migration's transaction.
    conn = schema_editor.client
    await reseal(conn, SEALED_AT_0003, plaintext=True)
    # Person-index keys held dates of birth and postcodes in clear: replaced by their digests,
    # under the key of before versions (0), as this release made them; 0011 marks them so.
    mark = (lambda n: f"${n}") if conn.capabilities.dialect == "postgres" else (lambda n: "?")
    _, rows = await conn.execute_query('SELECT "id", "key" FROM "person_key"')
    for row in rows:
        if not re.fullmatch(r"[0-9a-f]{64}", row["key"]):
            await conn.execute_query(
                f'UPDATE "person_key" SET "key" = {mark(1)} WHERE "id" = {mark(2)}',
                [index_key(row["key"], 0), row["id"]],
            )


class Migration(migrations.Migration):
    dependencies = [("marac", "0002_disclosure_log")]

    initial = False

    operations = [
        SealColumn(
            model_name="Action",
            name="description",
            field=SealedText(unique=False),
        ),
        SealColumn(
            model_name="Meeting",
            name="snapshot",
            field=SealedJSON(null=True, unique=False),
        ),
        SealColumn(
            model_name="MinutesVersion",
            name="content",
            field=SealedJSON(unique=False),
        ),
        SealColumn(
            model_name="Note",
            name="text",
            field=SealedText(unique=False),
        ),
        SealColumn(
            model_name="Person",
            name="date_of_birth",
            field=SealedDate(null=True, unique=False),
        ),
        SealColumn(
            model_name="Person",
            name="names",
            field=SealedJSON(default=list, unique=False),
        ),
        SealColumn(
            model_name="Person",
            name="postcode",
            field=SealedText(null=True, unique=False),
        ),
        SealColumn(
            model_name="Referral",
            name="judgement_reason",
            field=SealedText(null=True, unique=False),
        ),
        SealColumn(
            model_name="Referral",
            name="summary",
            field=SealedText(unique=False),
        ),
        SealColumn(
            model_name="Referral",
            name="victim",
            field=SealedJSON(default=dict, unique=False),
        ),
        SealColumn(
            model_name="ReferralPerson",
            name="aliases",
            field=SealedJSON(default=list, unique=False),
        ),
        SealColumn(
            model_name="ReferralPerson",
            name="date_of_birth",
            field=SealedDate(null=True, unique=False),
        ),
        SealColumn(
            model_name="ReferralPerson",
            name="name",
            field=SealedText(unique=False),
        ),
        SealColumn(
            model_name="ReferralPerson",
            name="relationship",
            field=SealedText(null=True, unique=False),
        ),
        SealColumn(
            model_name="Research",
            name="summary",
            field=SealedText(default="", unique=False),
        ),
        ops.RunPython(seal_existing_rows),
    ]
