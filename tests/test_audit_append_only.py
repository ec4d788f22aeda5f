"""PostgreSQL: audit events and disclosure-log entries cannot be changed or removed, not even
by the tables' owner, and the service's own role may only add and read them."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from marac import db, settings
from marac.audit.service import record

postgres_only = pytest.mark.skipif(settings.get().is_sqlite, reason="PostgreSQL only: SQLite relies on the hash chain")


def pg_url() -> str:
    return settings.get().database_url.replace("postgres://", "postgresql://", 1)


@postgres_only
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET outcome = 'denied'",
        "DELETE FROM audit_event",
        "TRUNCATE audit_event",
        "UPDATE disclosure SET purpose = 'nothing'",
        "DELETE FROM disclosure",
    ],
)
async def test_the_owner_cannot_rewrite_or_remove_the_audit_tables(app, personas, statement):
    import asyncpg

    await record("test.event", user_id=personas["police"].user.id)
    conn = await asyncpg.connect(pg_url())
    try:
        await conn.execute(
            "INSERT INTO disclosure (id, at, conference_id, kind, agency_id, user_id, purpose) "
            "VALUES ('d1', now(), 'c', 'minutes', 'a', 'u', 'p')"
        )
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError, match="append-only"):
            await conn.execute(statement)
        assert await conn.fetchval("SELECT count(*) FROM audit_event") >= 1
        assert await conn.fetchval("SELECT count(*) FROM disclosure") == 1
    finally:
        await conn.close()


@postgres_only
async def test_the_service_role_may_add_and_read_audit_events_but_not_change_them(app, personas):
    import asyncpg

    role, password = f"marac_app_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    owner = await asyncpg.connect(pg_url())
    await owner.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    try:
        await db.grant_app_role(role)
        await record("test.event", user_id=personas["police"].user.id)
        parts = urlsplit(pg_url())
        as_app = await asyncpg.connect(
            urlunsplit(parts._replace(netloc=f"{role}:{password}@{parts.hostname}:{parts.port}"))
        )
        try:
            seq = await as_app.fetchval("SELECT max(seq) FROM audit_event")
            assert seq is not None
            await as_app.execute("UPDATE referral SET status = status")  # ordinary tables: full use
            for statement in (
                f"UPDATE audit_event SET outcome = 'denied' WHERE seq = {seq}",
                f"DELETE FROM audit_event WHERE seq = {seq}",
                "TRUNCATE disclosure",
            ):
                with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError, match="permission denied"):
                    await as_app.execute(statement)
            privileges = {
                p: await as_app.fetchval(f"SELECT has_table_privilege('audit_event', '{p}')")
                for p in ("SELECT", "INSERT", "UPDATE", "DELETE")
            }
            assert privileges == {"SELECT": True, "INSERT": True, "UPDATE": False, "DELETE": False}
        finally:
            await as_app.close()
    finally:
        await owner.execute(
            f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role};"
            f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role};"
            f"REVOKE USAGE ON SCHEMA public FROM {role}; DROP ROLE {role}"
        )
        await owner.close()


def test_the_app_role_setting_is_checked():
    assert settings.load({"MARAC_DATABASE_APP_ROLE": "marac_app"}).app_role == "marac_app"
    with pytest.raises(settings.SettingsError, match="MARAC_DATABASE_APP_ROLE"):
        settings.load({"MARAC_DATABASE_APP_ROLE": 'x"; DROP TABLE referral; --'})


def test_production_refuses_a_redis_without_a_password():
    import base64

    production = {
        "MARAC_ENV": "production",
        "MARAC_SECRET_KEY": "s" * 40,
        "MARAC_BASE_URL": "https://marac.example.org",
        "MARAC_DATA_KEYS": "1:" + base64.b64encode(b"k" * 32).decode(),
    }
    with pytest.raises(settings.SettingsError, match="MARAC_REDIS_URL must carry a password"):
        settings.load({**production, "MARAC_REDIS_URL": "redis://redis:6379/0"})
    assert settings.load({**production, "MARAC_REDIS_URL": "redis://:secret@redis:6379/0"}).redis_url
