"""Migrations from empty (SQLite and PostgreSQL), the `marac` command, and settings."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import pytest

from marac import settings
from marac.conference_types import ConferenceTypeError, load_types

PG_ADMIN_URL = os.environ.get("MARAC_TEST_PG_ADMIN_URL")
TABLES = {
    "agency",
    "conference",
    "membership",
    "user",
    "user_conference",
    "session",
    "api_token",
    "login_failure",
    "audit_event",
    "job",
}


async def cli(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "marac.cli",
        *args,
        env={**os.environ, **(env or {})},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(stdin.encode() if stdin else None), timeout=120)
    return process.returncode or 0, out.decode()


def declared_indexes() -> set[tuple[str, tuple[str, ...], bool]]:
    """(table, columns, unique) for every index and unique-together the models declare."""
    from tortoise import Tortoise

    from marac import db

    wanted = set()
    for model in Tortoise.apps[db.APP].values():
        meta, table = model._meta, model._meta.db_table
        column = {name: field.source_field or name for name, field in meta.fields_map.items()}
        wanted |= {(table, tuple(column.get(c, c) for c in cols), True) for cols in meta.unique_together}
        wanted |= {(table, tuple(cols), False) for cols in meta.indexes if isinstance(cols, tuple)}
    return wanted


def built_indexes(conn) -> set[tuple[str, tuple[str, ...], bool]]:
    # A table rebuild by a migration once dropped these silently on SQLite: checked here.
    found = set()
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        for _, name, unique, *_ in conn.execute(f"PRAGMA index_list('{table}')").fetchall():
            columns = tuple(row[2] for row in conn.execute(f"PRAGMA index_info('{name}')").fetchall())
            found |= {(table, columns, bool(unique)), (table, columns, False)}
    return found


async def test_migrate_builds_an_empty_sqlite_database_and_is_safe_to_repeat(tmp_path):
    url = f"sqlite://{tmp_path}/fresh.sqlite3"
    code, out = await cli("migrate", env={"MARAC_DATABASE_URL": url})
    assert code == 0 and "marac.0001_initial" in out
    import sqlite3

    with sqlite3.connect(tmp_path / "fresh.sqlite3") as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert TABLES <= tables
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert declared_indexes() <= built_indexes(conn)
    code, out = await cli("migrate", env={"MARAC_DATABASE_URL": url})
    assert code == 0 and "up to date" in out


@pytest.mark.skipif(not PG_ADMIN_URL, reason="MARAC_TEST_PG_ADMIN_URL not set (scripts/test sets it)")
async def test_migrate_builds_an_empty_postgresql_database_and_is_safe_to_repeat():
    import asyncpg

    name = f"marac_scratch_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        code, out = await cli("migrate", env={"MARAC_DATABASE_URL": url})
        assert code == 0 and "marac.0001_initial" in out, out
        scratch = await asyncpg.connect(url)
        tables = {
            r["tablename"] for r in await scratch.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        await scratch.close()
        assert TABLES <= tables
        code, out = await cli("migrate", env={"MARAC_DATABASE_URL": url})
        assert code == 0 and "up to date" in out
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_user_add_and_token_create_give_a_working_api_token(client, tmp_path):
    code, out = await cli(
        "user",
        "add",
        "--email",
        "ops@test.example.org",
        "--name",
        "Ops",
        "--agency",
        "Ops Team",
        "--role",
        "admin",
        "--password-stdin",
        stdin="a very long password\n",
    )
    assert code == 0, out
    code, token = await cli("token", "create", "--email", "ops@test.example.org")
    assert code == 0, token
    token = token.strip().splitlines()[-1]
    answer = await client.get("/api/v1/agencies", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert any(a["name"] == "Ops Team" and a["kind"] == "other" for a in answer.json()["items"])


async def test_user_add_reports_bad_input_and_adds_nothing(client):
    code, out = await cli(
        "user", "add", "--email", "not-an-email", "--name", "X", "--agency", "Ops Team", "--role", "member"
    )
    assert code == 1 and "e-mail" in out


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["worker"],
        ["migrate"],
        ["demo"],
        ["user", "add"],
        ["token", "create"],
        ["audit", "verify"],
        ["backup"],
        ["restore"],
        ["check"],
    ],
)
async def test_every_command_has_help(command):
    code, out = await cli(*command, "--help")
    assert code == 0 and "usage: marac" in out


async def test_production_refuses_to_start_without_a_real_secret_key():
    base = {"MARAC_ENV": "production", "MARAC_BASE_URL": "https://marac.example.org"}
    for secret in ["", settings.DEV_SECRET_KEY, "too-short"]:
        code, out = await cli("serve", env={**base, "MARAC_SECRET_KEY": secret})
        assert code == 2 and "MARAC_SECRET_KEY" in out


def test_settings_are_read_from_the_environment_only(tmp_path):
    loaded = settings.load({"MARAC_ENV": "development", "MARAC_DOCUMENT_STORE": str(tmp_path / "docs")})
    assert loaded.database_url == "sqlite://./var/marac.sqlite3" and loaded.redis_url is None
    assert loaded.document_store == (tmp_path / "docs").resolve()
    with pytest.raises(settings.SettingsError, match="MARAC_ENV"):
        settings.load({"MARAC_ENV": "staging"})
    with pytest.raises(settings.SettingsError, match="MARAC_DOCUMENT_STORE"):
        settings.load({"MARAC_DOCUMENT_STORE": str(settings.PACKAGE_DIR / "docs")})
    with pytest.raises(settings.SettingsError, match="MARAC_DOCUMENT_STORE"):
        settings.load({"MARAC_DOCUMENT_STORE": str(settings.PROJECT_DIR / "templates" / "x")})
    with pytest.raises(settings.SettingsError, match="https"):
        settings.load({"MARAC_ENV": "production", "MARAC_SECRET_KEY": "k" * 40, "MARAC_BASE_URL": "http://x"})
    limits = settings.load({"MARAC_RENDER_TIMEOUT": "30", "MARAC_RENDER_MEMORY_MB": "2048"})
    assert (limits.render_timeout_seconds, limits.render_memory_mb) == (30, 2048)
    assert (loaded.render_timeout_seconds, loaded.render_memory_mb) == (120, 1024)
    for name, value in (
        ("MARAC_RENDER_TIMEOUT", "0"),
        ("MARAC_RENDER_TIMEOUT", "1.5"),
        ("MARAC_RENDER_MEMORY_MB", "100"),
    ):
        with pytest.raises(settings.SettingsError, match=name):
            settings.load({name: value})


def test_the_shipped_conference_types_load():
    types = load_types()
    assert {"domestic-abuse", "hate-crime"} <= set(types)


def test_a_bad_conference_type_file_names_the_file_and_the_key(tmp_path: Path):
    good = (settings.PROJECT_DIR / "agendas" / "domestic-abuse.toml").read_text()
    (tmp_path / "broken.toml").write_text(good.replace("cadence_days = 14", 'cadence_days = "fortnightly"'))
    with pytest.raises(ConferenceTypeError, match=r"broken\.toml: key 'cadence_days'"):
        load_types(tmp_path)
    (tmp_path / "broken.toml").write_text("name = [")
    with pytest.raises(ConferenceTypeError, match=r"broken\.toml: not valid TOML"):
        load_types(tmp_path)


async def demo(tmp_path: Path, *args: str) -> tuple[int, str]:
    """`marac demo ARGS` on its own SQLite database and document store, with no base URL set."""
    env = {key: value for key, value in os.environ.items() if key != "MARAC_BASE_URL"}
    env.update(
        MARAC_ENV="demo",
        MARAC_DATABASE_URL=f"sqlite://{tmp_path}/demo.sqlite3",
        MARAC_DOCUMENT_STORE=str(tmp_path / "documents"),
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "marac.cli",
        "demo",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode or 0, out.decode()


async def test_demo_on_a_taken_port_says_so_before_loading_anything(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out = await demo(tmp_path, "--port", str(port))
    assert code == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in out and f"--port {port + 1}" in out
    assert "Sign in" not in out and "Traceback" not in out
    assert not (tmp_path / "demo.sqlite3").exists()  # nothing migrated or loaded


async def test_demo_prints_the_port_it_serves_and_reset_starts_over(tmp_path):
    import sqlite3

    code, out = await demo(tmp_path, "--no-serve", "--port", "8123")
    assert code == 0 and "Sign in at http://127.0.0.1:8123/login" in out, out
    with sqlite3.connect(tmp_path / "demo.sqlite3") as conn:
        users = conn.execute('SELECT count(*) FROM "user"').fetchone()[0]
        conn.execute("DELETE FROM user_conference")
        conn.execute("UPDATE \"user\" SET name = 'Changed by hand'")
    (tmp_path / "documents").mkdir(exist_ok=True)
    (tmp_path / "documents" / "left-over.pdf").write_bytes(b"%PDF-1")

    code, out = await demo(tmp_path, "--no-serve", "--reset")
    assert code == 0 and "Removed the demo database" in out and "Sign in at http://127.0.0.1:8000/login" in out, out
    assert not (tmp_path / "documents" / "left-over.pdf").exists()
    with sqlite3.connect(tmp_path / "demo.sqlite3") as conn:
        assert conn.execute('SELECT count(*) FROM "user"').fetchone()[0] == users
        assert conn.execute("SELECT count(*) FROM \"user\" WHERE name = 'Changed by hand'").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM user_conference").fetchone()[0] > 0


async def test_demo_reset_leaves_a_postgresql_database_alone(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "MARAC_DATABASE_URL"}
    postgres = "postgres://nobody:x@127.0.0.1:9/none"
    code, out = await cli(
        "demo", "--no-serve", "--reset", env={**env, "MARAC_ENV": "demo", "MARAC_DATABASE_URL": postgres}
    )
    assert code == 2 and "SQLite database only" in out
