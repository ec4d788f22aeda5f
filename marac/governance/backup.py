"""Backup and restore of the database and the document store, with a manifest that proves what was taken.

A backup directory holds the database (SQLite: a copy made through SQLite's online backup API; PostgreSQL:
`pg_dump --format=custom`), the encrypted document files referenced by it, and `manifest.json`: the
schema version, the audit chain's head, every table's row count and every document's hashes, all read
from the same snapshot as the database copy. The manifest is written last, so a directory without one
is an incomplete backup.

The secret key and the data keys are never in a backup: they are kept apart, by design, and a restore
needs the same ones (README, "Operating it").

A restore goes into an empty database and an empty document store only. Every file is checked against
the manifest before anything is written; afterwards the restored database must show the manifest's row
counts, documents and audit chain head.
"""

from __future__ import annotations

import asyncio
import glob
import hashlib
import json
import os
import re
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.transactions import in_transaction

from marac import db, settings
from marac.audit import service as audit
from marac.documents import store
from marac.documents.models import Document
from marac.errors import DomainError
from marac.minutes.models import TransferPackage
from marac.reports.models import ReportDocument

FORMAT = "marac-backup/1"
MANIFEST = "manifest.json"
DOCUMENTS = "documents"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
# Every table whose rows name a stored file; a transfer package still being laid out names none yet.
DOCUMENT_MODELS = (Document, ReportDocument, TransferPackage)
MIGRATIONS_TABLE = "tortoise_migrations"  # Tortoise's MigrationRecorder
KEYS_NOTE = (
    "Not in this backup, by design: MARAC_SECRET_KEY and the data keys (MARAC_DATA_KEYS or "
    "MARAC_DATA_KEY_FILE). Keep them apart from it; a restore needs the same ones."
)
# At most this many bad documents are named in one refusal.
NAMED_AT_MOST = 20


class BackupError(DomainError):
    """A backup or restore that cannot be done, said in words for the person running it (no personal data)."""

    code = "backup_error"


def kind(current: settings.Settings | None = None) -> str:
    return "sqlite" if (current or settings.get()).is_sqlite else "postgresql"


def latest_migration() -> str:
    """The newest migration this version of marac knows."""
    return max(known_migrations())


def known_migrations() -> set[str]:
    folder = Path(__file__).resolve().parent.parent / "migrations"
    return {path.stem for path in folder.glob("[0-9][0-9][0-9][0-9]_*.py")}


# --- what a database holds, read inside one snapshot -----------------------------------------------


async def describe(conn: BaseDBAsyncClient) -> dict[str, Any]:
    """Schema version, row count of every table, every document row and the audit chain head, as seen
    by `conn` (a snapshot's transaction, or a connection to a copy)."""
    if conn.capabilities.dialect == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    else:
        sql = "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    tables = [str(row["name"]) for row in await db.fetch(sql, conn=conn)]
    counts = {}
    for table in tables:
        rows = await db.fetch(f"SELECT COUNT(*) AS n FROM {_quote(table)}", conn=conn)
        counts[table] = int(rows[0]["n"])
    schema_version = None
    if MIGRATIONS_TABLE in tables:
        last = f'SELECT "name" FROM "{MIGRATIONS_TABLE}" WHERE "app" = $1 ORDER BY "name" DESC LIMIT 1'
        applied = await db.fetch(last, [db.APP], conn=conn)
        schema_version = str(applied[0]["name"]) if applied else None
    documents = []
    for model in DOCUMENT_MODELS:
        table = model._meta.db_table
        if table not in tables:
            continue
        rows = await db.fetch(
            f'SELECT "id", "file_name", "sha256" FROM "{table}" WHERE "file_name" IS NOT NULL ORDER BY "id"', conn=conn
        )
        documents += [
            {"id": str(r["id"]), "table": table, "file": str(r["file_name"]), "content_sha256": str(r["sha256"])}
            for r in rows
        ]
    head = await audit.head(conn) if "audit_event" in tables else None
    return {
        "schema_version": schema_version,
        "audit_head": {"seq": head[0], "hash": head[1]} if head else None,
        "tables": counts,
        "documents": documents,
    }


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


# --- backup ------------------------------------------------------------------------------------------


async def backup(target: Path) -> dict[str, Any]:
    """Back up the database and document store of the current settings into `target` (new or empty).
    Needs the database connection open (db.init()). Returns the manifest."""
    current = settings.get()
    created = _start_directory(target)
    try:
        started = datetime.now(UTC)
        database_file = target / DATABASE_FILES[kind(current)]
        _create_private(database_file)
        if current.is_sqlite:
            source = _sqlite_path(current)
            if not source.is_file():
                raise BackupError(f"There is no database at {source} to back up.")
            await asyncio.to_thread(_sqlite_copy, source, database_file)
            facts = await _describe_sqlite_file(database_file)
        else:
            facts = await _pg_dump(database_file)
        documents = await asyncio.to_thread(_copy_documents_out, facts["documents"], target / DOCUMENTS)
        manifest = {
            "format": FORMAT,
            "created_at": started.isoformat(timespec="seconds"),
            "database": kind(current),
            "database_file": database_file.name,
            "database_sha256": _sha256_file(database_file),
            "schema_version": facts["schema_version"],
            "audit_head": facts["audit_head"],
            "tables": facts["tables"],
            "document_count": len(documents),
            "documents": documents,
            "keys": KEYS_NOTE,
        }
        _write_private(target / MANIFEST, json.dumps(manifest, indent=2).encode() + b"\n")
        return manifest
    except BaseException:
        # Nothing half-made is left to be mistaken for a backup.
        if created:
            shutil.rmtree(target, ignore_errors=True)
        else:
            for child in target.iterdir():
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        raise


def _start_directory(target: Path) -> bool:
    """Make `target` (private to its owner), or accept it empty; whether it was made here."""
    if target.exists():
        if not target.is_dir() or any(target.iterdir()):
            raise BackupError(f"{target} is not an empty directory: a backup goes into a new or empty one.")
        return False
    target.mkdir(mode=0o700, parents=True)
    return True


def _sqlite_path(current: settings.Settings) -> Path:
    return Path(expand_db_url(current.database_url)["credentials"]["file_path"])


def _sqlite_copy(source: Path, destination: Path) -> None:
    """SQLite's online backup API: a consistent copy while the service goes on writing (WAL), where a
    file copy could catch the database file and its write-ahead log at different moments."""
    live = sqlite3.connect(source, timeout=30)
    try:
        copy = sqlite3.connect(destination)
        try:
            live.backup(copy)  # all pages in one step: one read snapshot of the live database
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            copy.close()
    finally:
        live.close()


async def _describe_sqlite_file(path: Path) -> dict[str, Any]:
    client = SqliteClient(file_path=str(path), connection_name="backup", journal_mode="DELETE")
    await client.create_connection(with_db=True)
    try:
        return await describe(client)
    finally:
        await client.close()


async def _pg_dump(destination: Path) -> dict[str, Any]:
    async with in_transaction() as tx:
        # One snapshot for the dump and the manifest: pg_dump imports the one exported here, so the row
        # counts, documents and chain head recorded are exactly those of the dump.
        await tx.execute_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        snapshot = (await db.fetch("SELECT pg_export_snapshot() AS id", conn=tx))[0]["id"]
        facts = await describe(tx)
        await _pg_tool("pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={destination}")
    return facts


def _copy_documents_out(documents: list[dict[str, Any]], folder: Path) -> list[dict[str, Any]]:
    folder.mkdir(mode=0o700)
    copied = []
    for document in documents:
        try:
            path = store.path_for(SimpleNamespace(id=document["id"], file_name=document["file"]))
            data = path.read_bytes()
        except store.DocumentCorrupt as error:
            raise BackupError(str(error).capitalize() + ".") from None
        except FileNotFoundError:
            raise BackupError(
                f"Document {document['id']} ({document['file']}) is missing from the document store "
                "(deleted by a retention run during the backup?): run the backup again."
            ) from None
        # The file as stored, still encrypted: the backup holds no readable document.
        _write_private(folder / document["file"], data)
        copied.append({**document, "sha256": hashlib.sha256(data).hexdigest()})
    _sync_directory(folder)
    return copied


# --- restore -----------------------------------------------------------------------------------------


async def restore(source: Path) -> dict[str, Any]:
    """Restore the backup in `source` into the (empty) database and document store of the current
    settings. Opens and closes its own database connection: the target is checked before anything,
    even an SQLite file, is created. Returns the manifest."""
    current = settings.get()
    manifest = _read_manifest(source)
    if manifest["database"] != kind(current):
        raise BackupError(
            f"This is a backup of a {manifest['database']} database, and MARAC_DATABASE_URL names a "
            f"{kind(current)} one: restore it into the same kind of database."
        )
    if manifest["database_file"] != DATABASE_FILES[kind(current)]:
        raise BackupError("manifest.json names an unexpected database file.")
    schema = manifest["schema_version"]
    if schema is not None and schema not in known_migrations():
        raise BackupError(
            f"This backup's schema ({schema}) comes from a newer version of marac: "
            "restore it with that version or a later one."
        )
    _check_store_empty(current.document_store)
    await _check_database_empty(current)
    await asyncio.to_thread(_check_files, source, manifest)

    written = await asyncio.to_thread(
        _copy_documents_in, source / DOCUMENTS, manifest["documents"], current.document_store
    )
    try:
        if current.is_sqlite:
            await asyncio.to_thread(_sqlite_restore, source / manifest["database_file"], _sqlite_path(current))
        else:
            await _pg_tool(
                "pg_restore",
                "--exit-on-error",
                "--single-transaction",
                "--no-owner",
                "--no-privileges",
                str(source / manifest["database_file"]),
                database_flag=True,
            )
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise

    await db.init(current)
    try:
        if not current.is_sqlite and current.app_role:
            await db.grant_app_role(current.app_role)
        restored = await describe(connections.get("default"))
    finally:
        await db.close()
    _compare(manifest, restored)
    return manifest


def _read_manifest(source: Path) -> dict[str, Any]:
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(f"{source} has no {MANIFEST}: it is not a backup, or the backup did not finish.")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        raise BackupError(f"{MANIFEST} is not valid JSON.") from None
    required = (
        "format",
        "database",
        "database_file",
        "database_sha256",
        "schema_version",
        "audit_head",
        "tables",
        "document_count",
        "documents",
    )
    if not isinstance(manifest, dict) or any(key not in manifest for key in required):
        raise BackupError(f"{MANIFEST} lacks some of {', '.join(required)}.")
    if manifest["format"] != FORMAT:
        raise BackupError(f"{MANIFEST} is of format {manifest['format']!r}; this version reads {FORMAT!r}.")
    if manifest["database"] not in DATABASE_FILES:
        raise BackupError(f"{MANIFEST} names an unknown kind of database.")
    documents = manifest["documents"]
    if not isinstance(documents, list) or len(documents) != manifest["document_count"]:
        raise BackupError(f"{MANIFEST} lists a different number of documents from its document count.")
    for document in documents:
        if not isinstance(document, dict) or not store.FILE_NAME.fullmatch(str(document.get("file", ""))):
            raise BackupError(f"{MANIFEST} lists a document with an invalid file name.")
    return manifest


def _check_store_empty(folder: Path) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupError(
            f"The document store {folder} is not empty: a restore goes into an empty store (MARAC_DOCUMENT_STORE)."
        )


async def _check_database_empty(current: settings.Settings) -> None:
    refusal = BackupError(
        "The database is not empty: a restore goes into an empty database, never over one "
        "(and not into one that `marac migrate` has already set up)."
    )
    if current.is_sqlite:
        path = _sqlite_path(current)
        if not path.exists():
            return
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        except sqlite3.DatabaseError:
            raise BackupError(f"{path} exists and is not an SQLite database.") from None
        finally:
            conn.close()
        if tables:
            raise refusal
        return
    await db.init(current)
    try:
        rows = await db.fetch(
            "SELECT COUNT(*) AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
    except Exception as error:  # the error's type only: its text may carry connection details
        raise BackupError(
            f"The database cannot be reached ({type(error).__name__}): create it first "
            "(createdb -O OWNER NAME) and check MARAC_DATABASE_URL."
        ) from None
    finally:
        await db.close()
    if rows[0]["n"]:
        raise refusal


def _check_files(source: Path, manifest: dict[str, Any]) -> None:
    """Every file against the manifest, before anything is written. Documents are named by id and file
    name only: neither identifies anybody."""
    database_file = source / manifest["database_file"]
    if not database_file.is_file():
        raise BackupError(f"The backup has no {database_file.name}.")
    if _sha256_file(database_file) != manifest["database_sha256"]:
        raise BackupError(
            f"{database_file.name} does not match the manifest's hash: it was changed or damaged after "
            "the backup. Nothing was restored."
        )
    bad = []
    for document in manifest["documents"]:
        named = f"document {document['id']} ({DOCUMENTS}/{document['file']})"
        path = source / DOCUMENTS / document["file"]
        if not path.is_file():
            bad.append(f"{named} is missing")
            continue
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != document["sha256"]:
            bad.append(f"{named} does not match the manifest's hash")
            continue
        try:
            opened = store.unseal(document["file"], data)
        except store.DocumentCorrupt:
            bad.append(
                f"{named} does not open with this MARAC_SECRET_KEY (a restore needs the key the backup was made with)"
            )
            continue
        if hashlib.sha256(opened).hexdigest() != document["content_sha256"]:
            bad.append(f"{named} does not match its recorded content hash")
    if bad:
        more = f"; and {len(bad) - NAMED_AT_MOST} more" if len(bad) > NAMED_AT_MOST else ""
        raise BackupError("Restore refused, nothing was restored: " + "; ".join(bad[:NAMED_AT_MOST]) + more + ".")


def _copy_documents_in(folder: Path, documents: list[dict[str, Any]], destination: Path) -> list[Path]:
    destination.mkdir(mode=0o700, parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for document in documents:
            path = destination / document["file"]
            _write_private(path, (folder / document["file"]).read_bytes())
            written.append(path)
        _sync_directory(destination)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return written


def _sqlite_restore(backup_file: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    try:
        restored = sqlite3.connect(target)
        try:
            source.backup(restored)  # one step, one write transaction: the whole database or none of it
            restored.execute("PRAGMA journal_mode=WAL")  # as the service runs it (db.tortoise_config)
        finally:
            restored.close()
    finally:
        source.close()


def _compare(manifest: dict[str, Any], restored: dict[str, Any]) -> None:
    problems = []
    if restored["tables"] != manifest["tables"]:
        differ = sorted(
            t
            for t in set(manifest["tables"]) | set(restored["tables"])
            if manifest["tables"].get(t) != restored["tables"].get(t)
        )
        problems.append("row counts differ in " + ", ".join(differ))
    expected = {(d["id"], d["file"], d["content_sha256"]) for d in manifest["documents"]}
    if {(d["id"], d["file"], d["content_sha256"]) for d in restored["documents"]} != expected:
        problems.append("its documents are not the manifest's")
    if restored["audit_head"] != manifest["audit_head"]:
        problems.append(
            f"the audit chain ends at {_head(restored['audit_head'])}, "
            f"the manifest says {_head(manifest['audit_head'])}"
        )
    if problems:
        raise BackupError(
            "The restored database does not match the backup's manifest: "
            + "; ".join(problems)
            + ". Do not start the service on it."
        )


def _head(head: dict[str, Any] | None) -> str:
    return f"event {head['seq']} ({head['hash'][:12]}…)" if head else "no event"


# --- files and PostgreSQL tools --------------------------------------------------------------------------


def _create_private(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _write_private(path: Path, data: bytes) -> None:
    """Readable by the owner only from the first byte, and on disk before we go on."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def _sync_directory(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def pg_tool(name: str) -> str:
    """pg_dump or pg_restore (Debian: package postgresql-client): from PATH, else the newest installed
    server's own (/usr/lib/postgresql/N/bin). It must be of the server's major version or newer."""
    found = shutil.which(name)
    if found:
        return found
    installed = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    if installed:
        return max(installed, key=lambda path: [int(n) for n in re.findall(r"[0-9]+", path)])
    raise BackupError(f"{name} was not found: install PostgreSQL's client programs (Debian: postgresql-client).")


async def _pg_tool(name: str, *args: str, database_flag: bool = False) -> None:
    credentials = db.tortoise_config()["connections"]["default"]["credentials"]
    # The connection goes through libpq's environment, so the password never shows in a process list.
    env = {
        **os.environ,
        "PGHOST": str(credentials.get("host") or "localhost"),
        "PGPORT": str(credentials.get("port") or 5432),
        "PGUSER": str(credentials.get("user") or ""),
        "PGDATABASE": str(credentials.get("database") or ""),
    }
    if credentials.get("password"):
        env["PGPASSWORD"] = str(credentials["password"])
    flags = [f"--dbname={env['PGDATABASE']}"] if database_flag else []  # pg_restore without it prints SQL instead
    process = await asyncio.create_subprocess_exec(
        pg_tool(name), *flags, *args, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, errors = await process.communicate()
    if process.returncode:
        # The first error line says what went wrong (a connection, a version mismatch); later lines may quote data.
        lines = [line for line in errors.decode(errors="replace").splitlines() if "error" in line.lower()]
        raise BackupError(f"{name} failed (exit {process.returncode}): {lines[0] if lines else 'no message'}")
