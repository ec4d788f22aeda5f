"""`marac check`: is this deployment ready? Each part of it checked for real, and what is wrong
said in words for the person installing it.

Settings, the database (reachable, every migration applied), Redis and SMTP (when set: a ping;
a connection as far as EHLO, TLS and login, sending nothing), the document store (a directory,
writable, outside the code), the keys (required in production; the data keys open a sample of
what they sealed) and the PDF fonts (the bundled files, and a tiny render that embeds them).
Nothing is written but one temporary file in the store, removed at once. Messages name hosts
and paths, never passwords or anything read from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from marac import settings as settings_module
from marac.settings import PACKAGE_DIR, PROJECT_DIR, Settings, SettingsError
from marac.wording import count

TIMEOUT_SECONDS = 15
FONT_FILES = (
    "LiberationSans-Regular.ttf",
    "LiberationSans-Bold.ttf",
    "LiberationSans-Italic.ttf",
    "LiberationSans-BoldItalic.ttf",
)


@dataclass(frozen=True)
class Finding:
    part: str
    ok: bool
    message: str
    warning: bool = False  # ready, but something to see to (printed "warn")


class Problem(Exception):
    """What is wrong with one part, in words."""


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or '?'}:{parts.port}" if parts.port else (parts.hostname or "?")


async def run(environ: dict[str, str] | None = None) -> list[Finding]:
    env = dict(os.environ if environ is None else environ)
    try:
        config = settings_module.load(env)
    except SettingsError as exc:
        # Nothing else can be checked with settings the service itself would refuse.
        return [
            Finding("settings", False, f"{exc}. The service refuses to start until this is fixed."),
            await _one("fonts", _fonts),
            _agendas(),
        ]
    settings_module.override(config)
    findings = [Finding("settings", True, f"read; MARAC_ENV={config.env}")]
    from marac import db

    try:
        findings.append(await _one("database", lambda: _database(config)))
        database_ok = findings[-1].ok
        findings.append(await _one("redis", lambda: _redis(config)))
        findings.append(await _one("smtp", lambda: _smtp(config)))
        findings.append(await _one("document store", lambda: _store(config)))
        findings.append(await _one("keys", lambda: _keys(config, env, database_ok)))
        findings.append(await _one("fonts", _fonts))
        findings.append(_agendas())
    finally:
        with contextlib.suppress(Exception):  # nothing to close if the connection never opened
            await db.close()
    return findings


async def _one(part: str, check: Callable[[], Awaitable[str]]) -> Finding:
    try:
        return Finding(part, True, await check())
    except Problem as exc:
        return Finding(part, False, str(exc))


async def _database(config: Settings) -> str:
    from tortoise.exceptions import DBConnectionError

    from marac import db
    from marac.governance.backup import MIGRATIONS_TABLE, known_migrations

    unreachable: tuple[type[BaseException], ...] = (OSError, DBConnectionError, *db.UNAVAILABLE)
    if config.is_sqlite:
        path = Path(db.tortoise_config(config)["connections"]["default"]["credentials"]["file_path"])
        if not path.is_file():
            raise Problem(
                f"there is no SQLite database at {path}: run `marac migrate` to create it, "
                "or correct MARAC_DATABASE_URL"
            )
        where = str(path)
    else:
        where = _where(config.database_url)
    try:
        await asyncio.wait_for(db.init(config), TIMEOUT_SECONDS)
        sql = (
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            if config.is_sqlite
            else "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()"
        )
        tables = {str(row["name"]) for row in await asyncio.wait_for(db.fetch(sql), TIMEOUT_SECONDS)}
        applied: set[str] = set()
        if MIGRATIONS_TABLE in tables:
            rows = await db.fetch(f'SELECT "name" FROM "{MIGRATIONS_TABLE}" WHERE "app" = $1', [db.APP])
            applied = {str(row["name"]) for row in rows}
    except TimeoutError:
        raise Problem(
            f"the database at {where} did not answer within {TIMEOUT_SECONDS} s: is it running, and "
            "does a firewall let this host reach it?"
        ) from None
    except unreachable as exc:
        raise Problem(
            f"cannot connect to the database at {where} ({type(exc).__name__}): check that it is running "
            "and that MARAC_DATABASE_URL has the right host, port, database, user and password"
        ) from None
    except Exception as exc:  # refused by the server itself: a wrong password, a missing database or right
        raise Problem(
            f"the database at {where} refused the connection or the query ({type(exc).__name__}): check "
            "the user, password and database name in MARAC_DATABASE_URL, and the user's rights"
        ) from None
    missing = sorted(known_migrations() - applied)
    if not applied:
        raise Problem(f"the database at {where} is reachable but empty: run `marac migrate` (as its owner) first")
    if missing:
        raise Problem(
            f"the database at {where} is not up to date: {count(len(missing), 'migration')} to apply "
            f"({', '.join(missing)}); run `marac migrate` (as its owner) before starting this version"
        )
    unknown = sorted(applied - known_migrations())
    if unknown:
        raise Problem(
            f"the database at {where} has migrations this version does not know ({', '.join(unknown)}): "
            "it was migrated by a newer marac; run that version"
        )
    return f"reachable at {where}; schema up to date ({max(applied)})"


async def _redis(config: Settings) -> str:
    if not config.redis_url:
        return "not set: background jobs run inside the web process"
    from redis.asyncio import Redis
    from redis.exceptions import AuthenticationError, RedisError

    where = _where(config.redis_url)
    client = Redis.from_url(config.redis_url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS)
    try:
        await client.ping()
    except AuthenticationError:
        raise Problem(f"Redis at {where} refused the password in MARAC_REDIS_URL") from None
    except (RedisError, OSError) as exc:
        raise Problem(
            f"cannot reach Redis at {where} ({type(exc).__name__}): check that it is running and "
            "MARAC_REDIS_URL (redis://:PASSWORD@HOST:PORT/0)"
        ) from None
    finally:
        await client.aclose()
    return f"answers at {where}"


async def _smtp(config: Settings) -> str:
    if not config.smtp_url:
        return "not set: reminders appear on /notifications only, no e-mail is sent"
    import smtplib
    import ssl

    from marac.notify import email

    where = _where(config.smtp_url)

    def hello() -> None:
        email.connect(config.smtp_url or "").quit()

    try:
        await asyncio.to_thread(hello)
    except smtplib.SMTPAuthenticationError:
        raise Problem(f"the mail server at {where} refused the user and password in MARAC_SMTP_URL") from None
    except ssl.SSLError as exc:
        raise Problem(
            f"TLS with the mail server at {where} failed ({type(exc).__name__}): its certificate must be "
            "valid for that name and trusted by this host"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise Problem(
            f"cannot talk to the mail server at {where} ({type(exc).__name__}): check MARAC_SMTP_URL "
            "and that this host may reach it"
        ) from None
    return f"the mail server at {where} accepts a session (nothing was sent)"


async def _store(config: Settings) -> str:
    store = config.document_store.resolve()
    for inside in (PACKAGE_DIR, PROJECT_DIR / "templates"):
        if store == inside or inside in store.parents:
            raise Problem(f"MARAC_DOCUMENT_STORE ({store}) is inside the code ({inside}): put it elsewhere")
    if not store.exists():
        raise Problem(
            f"the document store {store} does not exist: create it (mkdir -m 700 {store}), owned by the "
            "user the service runs as, or correct MARAC_DOCUMENT_STORE"
        )
    if not store.is_dir():
        raise Problem(f"the document store {store} is not a directory: correct MARAC_DOCUMENT_STORE")
    probe = store / f".marac-check-{uuid.uuid4().hex}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise Problem(
            f"the document store {store} is not writable by this user ({exc.strerror}): give the user the "
            "service runs as the right to write there"
        ) from None
    try:
        os.write(fd, b"marac check")
        os.fsync(fd)
    except OSError as exc:
        raise Problem(f"the document store {store} refuses writes ({exc.strerror}): free space there") from None
    finally:
        os.close(fd)
        probe.unlink(missing_ok=True)
    return f"{store} is a writable directory"


async def _keys(config: Settings, env: dict[str, str], database_ok: bool) -> str:
    if not (env.get("MARAC_DATA_KEYS") or env.get("MARAC_DATA_KEY_FILE")):
        said = "data keys derived from MARAC_SECRET_KEY (outside production only)"
    else:
        said = f"data keys of version(s) {', '.join(str(v) for v in sorted(config.data_keys))}"
    if not database_ok:
        return said + "; not tried on stored values (the database check failed)"
    from tortoise import Tortoise

    from marac import db
    from marac.documents import store
    from marac.documents.models import Document
    from marac.sealed import SealedModel, SealError

    opened = 0
    for model in Tortoise.apps[db.APP].values():
        if not issubclass(model, SealedModel):
            continue
        try:
            opened += len(await model.all().limit(1))  # loading a row opens its sealed fields
        except SealError:
            raise Problem(
                f"the data keys cannot open a sealed value in table {model._meta.db_table}: a key it "
                "was sealed with is missing or wrong; set every key version still in use "
                "(MARAC_DATA_KEYS or MARAC_DATA_KEY_FILE) and, for values from before key versions, "
                "`marac keys legacy`"
            ) from None
    document = await Document.all().order_by("-created_at").first()
    if document is not None:
        try:
            store.read(document)
        except store.DocumentCorrupt:
            raise Problem(
                f"stored document {document.id} ({document.file_name}) cannot be opened: the file is missing "
                "from the document store, or the data key it was written with is not set"
            ) from None
        opened += 1
    return said + (f"; they open a sample of {opened} stored value(s)" if opened else "; nothing sealed yet")


async def _fonts() -> str:
    from marac.documents import render

    folder = render.ASSETS_DIR / "fonts"
    missing = [name for name in FONT_FILES if not (folder / name).is_file()]
    if missing:
        raise Problem(
            f"the PDF fonts {', '.join(missing)} are missing from {folder}: reinstall marac from a "
            "complete copy (documents would be set in another font)"
        )
    try:
        pdf = await asyncio.to_thread(_tiny_render, render)
    except Exception as exc:
        raise Problem(
            f"a test PDF could not be rendered ({type(exc).__name__}): check that WeasyPrint's libraries "
            "(Pango, HarfBuzz) are installed (scripts/lib.sh lists them)"
        ) from None
    resources = cast(DictionaryObject, PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"])
    fonts = {str(font["/BaseFont"]) for font in cast(DictionaryObject, resources["/Font"]).values()}
    if not fonts or not all(name.split("+")[-1].startswith("MARAC-Liberation-Sans") for name in fonts):
        raise Problem(
            f"a test PDF was set in other fonts ({', '.join(sorted(fonts))}) than the bundled Liberation Sans"
        )
    return f"{len(FONT_FILES)} font files present; a test PDF renders with them"


def _agendas() -> Finding:
    """The type and instrument files load (start-up would stop otherwise); each label without its
    Welsh form is a warning: pages in Welsh show the English there."""
    from marac.conference_types import ConferenceTypeError, missing_welsh

    try:
        missing = missing_welsh()
    except ConferenceTypeError as exc:
        return Finding("agendas", False, f"{exc}. The service refuses to start until this is fixed.")
    if missing:
        return Finding(
            "agendas", True, f"{len(missing)} label(s) without their Welsh form: {'; '.join(missing)}", warning=True
        )
    return Finding("agendas", True, "type and instrument files load; every label has its Welsh form")


def _tiny_render(render) -> bytes:
    from weasyprint import HTML

    html = "<html lang='en-GB'><body><p>marac check: <strong>bold</strong> and <em>italic</em></p></body></html>"
    document = HTML(string=html, url_fetcher=render.AssetFetcher()).render(
        stylesheets=render.stylesheets(), presentational_hints=False, font_config=render.font_config()
    )
    return document.write_pdf()


def report(findings: list[Finding]) -> tuple[str, int]:
    """The printout and the exit code: 0 when every part is ready, else 1."""
    lines = [f"{'warn' if f.ok and f.warning else 'ok  ' if f.ok else 'FAIL'}  {f.part}: {f.message}" for f in findings]
    bad = [f for f in findings if not f.ok]
    lines.append("Ready." if not bad else f"{len(bad)} problem(s) to fix: {', '.join(f.part for f in bad)}.")
    return "\n".join(lines), 0 if not bad else 1
