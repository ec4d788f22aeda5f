"""The restore drill, on SQLite and on PostgreSQL: a world with minutes rendered is backed up with
`marac backup`, restored with `marac restore` into a fresh database and document store, and the restored
service is checked the way an operator would: the audit chain verifies, every document opens, every
table holds what it held, and repeat matching still finds the people referred before. A tampered backup
is refused before anything is written, naming the document.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import shutil
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
from pypdf import PdfReader

from marac import settings
from marac.audit import service as audit
from marac.documents import store
from tests.conftest import make_client, scratch_postgres, session_cookie_for
from tests.flows import meeting_cycle, referral_body
from tests.test_migrations_and_cli import cli

PG_ADMIN_URL = os.environ.get("MARAC_TEST_PG_ADMIN_URL")
TEXT = "Text of {}".format


@asynccontextmanager
async def fresh_target(tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """The settings of an empty database (a new PostgreSQL database, or a new SQLite file) and store."""
    documents = str(tmp_path / "restored-documents")
    if settings.get().is_sqlite:
        yield {"MARAC_DATABASE_URL": f"sqlite://{tmp_path}/restored.sqlite3", "MARAC_DOCUMENT_STORE": documents}
        return
    if not PG_ADMIN_URL:
        pytest.skip("MARAC_TEST_PG_ADMIN_URL not set (scripts/test sets it)")
    async with scratch_postgres("marac_restore") as url:
        yield {"MARAC_DATABASE_URL": url, "MARAC_DOCUMENT_STORE": documents}


async def query(url: str, sql: str) -> list[dict]:
    """Rows read straight from a database with its own driver, beside the ORM under test."""
    if url.startswith("sqlite://"):
        conn = sqlite3.connect(url.removeprefix("sqlite://"))
        conn.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in conn.execute(sql).fetchall()]
        finally:
            conn.close()
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return [dict(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


async def table_counts(url: str) -> dict[str, int]:
    if url.startswith("sqlite://"):
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    else:
        sql = "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
    return {
        row["name"]: (await query(url, f'SELECT COUNT(*) AS n FROM "{row["name"]}"'))[0]["n"]
        for row in await query(url, sql)
    }


async def documents_in(url: str) -> list[dict]:
    return [
        row
        for table in ("document", "report_document")
        for row in await query(url, f'SELECT id, file_name, sha256, reference FROM "{table}" ORDER BY id')
    ]


def is_empty(target: dict[str, str], counts: dict[str, int]) -> bool:
    store_path = Path(target["MARAC_DOCUMENT_STORE"])
    return not counts and (not store_path.exists() or not any(store_path.iterdir()))


async def target_counts(target: dict[str, str]) -> dict[str, int]:
    url = target["MARAC_DATABASE_URL"]
    if url.startswith("sqlite://") and not Path(url.removeprefix("sqlite://")).exists():
        return {}
    return await table_counts(url)


async def test_restore_drill(app, client, personas, tmp_path):
    # 1. A world with minutes rendered: referral and repeat, a meeting held, minutes approved, rendered and downloaded.
    async with make_client(app) as chair_page:
        chair_page.cookies.update(await session_cookie_for(personas["chair"]))
        cycle = await meeting_cycle(client, chair_page, personas, TEXT)
    original_url = os.environ["MARAC_DATABASE_URL"]
    original = await table_counts(original_url)
    original_documents = await documents_in(original_url)
    assert original["referral"] >= 2 and original["minutes_version"] >= 1
    assert len(original_documents) >= 2
    last_event = (await query(original_url, "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1"))[0]

    # 2. Backed up with the real command, while the service's own connection stays open.
    backup_dir = tmp_path / "backup"
    code, out = await cli("backup", str(backup_dir))
    assert code == 0, out
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    assert manifest["database"] == ("sqlite" if settings.get().is_sqlite else "postgresql")
    assert manifest["schema_version"] == max(p.stem for p in (settings.PACKAGE_DIR / "migrations").glob("0*.py"))
    assert manifest["audit_head"] == {"seq": last_event["seq"], "hash": last_event["hash"]}
    assert manifest["tables"] == original
    assert manifest["document_count"] == len(original_documents)
    hashes = {d["id"]: d["sha256"] for d in original_documents}
    assert {d["id"]: d["content_sha256"] for d in manifest["documents"]} == hashes
    # The keys are kept apart, by design, and the documents stay encrypted in the backup.
    current = settings.get()
    secrets = [current.secret_key.encode()]
    secrets += [k for key in current.data_keys.values() for k in (key, base64.b64encode(key))]
    for path in backup_dir.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert not any(secret in content for secret in secrets), path.name
            assert oct(path.stat().st_mode & 0o777) == oct(0o600), path.name
    assert not any(p.read_bytes().startswith(b"%PDF") for p in (backup_dir / "documents").iterdir())
    assert "Text of" not in (backup_dir / "manifest.json").read_text()
    if manifest["database"] == "postgresql":
        assert (backup_dir / "database.pgdump").read_bytes().startswith(b"PGDMP")  # pg_dump's custom format
    else:
        with sqlite3.connect(f"file:{backup_dir / 'database.sqlite3'}?mode=ro", uri=True) as copy:
            assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # A restore never goes over a database in use.
    code, out = await cli("restore", str(backup_dir))
    assert code == 1 and "not empty" in out, out

    async with fresh_target(tmp_path) as target:
        # 5. One backed-up document tampered with: refused before anything is written, naming the document only.
        tampered_dir = tmp_path / "tampered"
        shutil.copytree(backup_dir, tampered_dir)
        victim = manifest["documents"][0]
        damaged = tampered_dir / "documents" / victim["file"]
        data = bytearray(damaged.read_bytes())
        data[len(data) // 2] ^= 0x01
        damaged.write_bytes(bytes(data))
        code, out = await cli("restore", str(tampered_dir), env=target)
        assert code == 1, out
        assert victim["id"] in out and victim["file"] in out and "does not match" in out, out
        assert not any(d["id"] in out for d in manifest["documents"][1:]), out
        assert "Text of" not in out
        assert is_empty(target, await target_counts(target))

        # 3. Restored into the fresh database and store.
        code, out = await cli("restore", str(backup_dir), env=target)
        assert code == 0, out
        restored_url = target["MARAC_DATABASE_URL"]

        # 4. The audit chain verifies, every table holds what it held, every document opens as the PDF it was.
        code, out = await cli("audit", "verify", env=target)
        assert code == 0 and f"{last_event['seq']} events checked" in out, out
        assert await table_counts(restored_url) == original
        restored_documents = await documents_in(restored_url)
        assert restored_documents == original_documents
        real = settings.get()
        settings.override(settings.load({**os.environ, **target}))
        try:
            for row in restored_documents:
                pdf = store.read(SimpleNamespace(**row))
                text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
                assert pdf.startswith(b"%PDF") and row["reference"] in text.replace("\n", ""), row["id"]
        finally:
            settings.override(real)

        # Repeat matching still finds the people referred before: the person index's keyed digests came across.
        before = {row["id"] for row in await query(restored_url, "SELECT id FROM referral")}
        referral = tmp_path / "referral.json"
        referral.write_text(json.dumps([referral_body(TEXT, "2026-11-04")]))
        code, out = await cli("import", "referrals", str(referral), "--as", personas["police"].email, env=target)
        assert code == 0 and "Imported 1 referral." in out, out
        new = [
            row
            for row in await query(restored_url, "SELECT id, is_repeat, previous_referral_id FROM referral")
            if row["id"] not in before
        ]
        assert len(new) == 1 and new[0]["is_repeat"], new
        assert new[0]["previous_referral_id"] in {cycle.referral_id, cycle.repeat_id}
        # The original is untouched by all this.
        assert (await table_counts(original_url))["referral"] == original["referral"]


async def test_restore_refuses_a_store_that_is_not_empty_and_writes_nothing(personas, tmp_path):
    code, out = await cli("backup", str(tmp_path / "backup"))
    assert code == 0, out
    async with fresh_target(tmp_path) as target:
        store_path = Path(target["MARAC_DOCUMENT_STORE"])
        store_path.mkdir()
        (store_path / "left-behind.pdf").write_bytes(b"a file from an earlier install")
        code, out = await cli("restore", str(tmp_path / "backup"), env=target)
        assert code == 1 and "document store" in out and "not empty" in out, out
        assert await target_counts(target) == {} and [p.name for p in store_path.iterdir()] == ["left-behind.pdf"]


async def test_backup_refuses_a_directory_that_is_not_empty(personas, tmp_path):
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "manifest.json").write_text("{}")
    code, out = await cli("backup", str(tmp_path / "backup"))
    assert code == 1 and "not an empty directory" in out, out
    assert [p.name for p in (tmp_path / "backup").iterdir()] == ["manifest.json"]


async def test_a_backup_taken_while_the_service_writes_is_one_moment_of_it(personas, tmp_path):
    # The manifest is read in the dump's own snapshot (PostgreSQL) or from the copy (SQLite): a restore checks
    # the restored rows and chain head against it, so writes racing the backup must not make them differ.
    stop = asyncio.Event()

    async def write() -> int:
        count = 0
        while not stop.is_set():
            await audit.record("test.write", object_type="probe", object_id=str(count))
            count += 1
            await asyncio.sleep(0.001)
        return count

    writer = asyncio.create_task(write())
    try:
        code, out = await cli("backup", str(tmp_path / "backup"))
    finally:
        stop.set()
        written = await writer
    assert code == 0 and written > 0, out
    async with fresh_target(tmp_path) as target:
        code, out = await cli("restore", str(tmp_path / "backup"), env=target)
        assert code == 0, out
        code, out = await cli("audit", "verify", env=target)
        assert code == 0, out
