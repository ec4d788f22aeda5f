"""PgBouncer in transaction pooling: the setting that makes asyncpg fit it, and (run C of
scripts/test, with MARAC_DATABASE_PGBOUNCER=1) proof that the suite's connection really
goes through a PgBouncer rather than straight to PostgreSQL."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from marac import db, settings

PG = "postgres://marac:secret@127.0.0.1:6432/marac"


def test_the_setting_turns_asyncpgs_statement_cache_off():
    through = db.tortoise_config(settings.load({"MARAC_DATABASE_URL": PG, "MARAC_DATABASE_PGBOUNCER": "1"}))
    assert through["connections"]["default"]["credentials"]["statement_cache_size"] == 0
    direct = db.tortoise_config(settings.load({"MARAC_DATABASE_URL": PG}))
    assert "statement_cache_size" not in direct["connections"]["default"]["credentials"]
    with pytest.raises(settings.SettingsError, match="MARAC_DATABASE_PGBOUNCER"):
        settings.load({"MARAC_DATABASE_URL": PG, "MARAC_DATABASE_PGBOUNCER": "transaction"})


@pytest.mark.skipif(
    os.environ.get("MARAC_DATABASE_PGBOUNCER") != "1", reason="run C of scripts/test (through PgBouncer)"
)
async def test_the_suite_talks_to_postgresql_through_pgbouncer(app):
    conn = connections.get("default")
    # The server's own port differs from the one connected to: something stands between.
    rows = await conn.execute_query_dict("SELECT inet_server_port() AS port")
    assert rows[0]["port"] != urlsplit(os.environ["MARAC_DATABASE_URL"]).port
    # The same statement, again and again, on whichever server connection PgBouncer hands out.
    for n in range(50):
        async with in_transaction() as tx:
            assert (await tx.execute_query_dict("SELECT $1::int AS n", [n]))[0]["n"] == n
