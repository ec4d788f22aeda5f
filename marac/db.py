"""The model list and the Tortoise configuration shared by the web app, the worker and the CLI."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url

from marac import settings as settings_module
from marac.settings import Settings

APP = "marac"
# Models carry comments, not docstrings: Tortoise turns a docstring into a table comment,
# and its SQLite schema editor splits statements on ";" inside it.
MODEL_MODULES = [
    "marac.agencies.models",
    "marac.audit.models",
    "marac.documents.models",
    "marac.jobs.models",
    "marac.meetings.models",
    "marac.referrals.models",
    "marac.actions.models",
    "marac.minutes.models",
    "marac.governance.models",
    "marac.reports.models",
    "marac.notify.models",
    "marac.notices.models",
    "marac.webhooks.models",
]
MIGRATIONS_MODULE = "marac.migrations"


class WithholdQueryValues(logging.Filter):
    """Tortoise and aiosqlite log every query with its parameter values at DEBUG: names,
    addresses, notes. Keep the SQL, drop the values, whatever level an operator turns on.
    Tortoise's other DEBUG lines carry connection parameters, asyncpg's with the password."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.args:
            return True
        args = record.args if isinstance(record.args, tuple) else (record.args,)
        if record.name == "aiosqlite":  # "executing %s": a partial holding the query and its values
            record.args = tuple(getattr(getattr(a, "func", a), "__name__", "?") for a in args)
        elif record.msg == "%s: %s" and len(args) == 2:  # tortoise: query, values
            record.args = (args[0], "[values withheld]")
        else:
            record.args = tuple("[withheld]" for _ in args)
        return True


for _name in ("tortoise.db_client", "aiosqlite"):
    logging.getLogger(_name).addFilter(WithholdQueryValues())


# What a lost or refused database connection raises, as opposed to a bad query: the socket's
# OSError (refused, reset, no such host, timeout) while (re)connecting, and asyncpg's errors
# for a connection that died under a query (class 08), a server stopping or starting (57),
# and its client-state errors when a connection is lost mid-operation (asyncpg then drops
# that connection from the pool).
UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)


def unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database cannot be reached now (a retry later may succeed),
    rather than a fault in the query."""
    if isinstance(exc, asyncpg.exceptions.QueryCanceledError):
        return False  # a statement timeout: the query, not the server
    if isinstance(exc, asyncpg.exceptions.InterfaceError):
        # Also raised for misuse; only a closed connection (a rollback or release after
        # the server went away) means an outage.
        return "connection is closed" in str(exc)
    return isinstance(exc, UNAVAILABLE)


async def keep_session(connection: asyncpg.Connection) -> None:
    """What asyncpg's pool does to a connection given back, beyond rolling back an open
    transaction (which it still does): nothing. By default it sends RESET ALL, CLOSE ALL,
    UNLISTEN * and releases session advisory locks, a second round trip for every query the
    ORM makes. The service leaves no session state behind: it never SETs, LISTENs or keeps a
    cursor open, and takes advisory locks for a transaction only."""


def tortoise_config(settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or settings_module.get()
    url = settings.database_url
    if url.startswith("postgresql://"):
        url = "postgres://" + url.removeprefix("postgresql://")
    connection = expand_db_url(url)
    if settings.is_sqlite:
        file_path = connection["credentials"]["file_path"]
        if file_path != ":memory:":
            Path(file_path).parent.mkdir(parents=True, exist_ok=True)
        # WAL lets readers proceed during a write; FULL makes a committed audit row
        # survive a power cut.
        connection["credentials"].setdefault("journal_mode", "WAL")
        connection["credentials"].setdefault("synchronous", "FULL")
    else:
        connection["credentials"]["maxsize"] = settings.database_pool_size
        connection["credentials"]["reset"] = keep_session
        if settings.database_pgbouncer:
            # Transaction pooling: no prepared statement outlives its transaction's server connection.
            connection["credentials"]["statement_cache_size"] = 0
    return {
        "connections": {"default": connection},
        "apps": {
            APP: {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def __getattr__(name: str) -> Any:
    # `tortoise makemigrations` reads TORTOISE_ORM (pyproject [tool.tortoise]); computed
    # lazily so importing this module never reads the environment.
    if name == "TORTOISE_ORM":
        return tortoise_config()
    raise AttributeError(name)


# --- hand-written SQL ------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\$([0-9]+)")


async def fetch(sql: str, values: Sequence[Any] = (), conn: BaseDBAsyncClient | None = None) -> list[Any]:
    """The rows of one hand-written statement, each indexed by column name.

    Only for the hot paths (the token check, the action list and update, the audit chain's
    head: see docs/benchmarks.md), where building a query through the ORM costs several times
    what the database spends answering it. Placeholders are PostgreSQL's $1, $2...; SQLite
    gets ?1, ?2... Values arrive as the driver gives them: SQLite's dates and times are text,
    so convert them with the model field's to_python_value."""
    return (await _run(sql, values, conn))[1]


async def execute(sql: str, values: Sequence[Any] = (), conn: BaseDBAsyncClient | None = None) -> int:
    """Run one hand-written UPDATE or DELETE (as fetch); how many rows it changed."""
    return (await _run(sql, values, conn))[0]


async def returning(sql: str, values: Sequence[Any] = (), conn: BaseDBAsyncClient | None = None) -> list[Any]:
    """The rows of one hand-written INSERT ... RETURNING (as fetch). Tortoise's execute_query answers an
    INSERT on PostgreSQL with the command tag alone, whose count it misreads (the tag's first number is an oid)."""
    conn = conn or connections.get("default")
    if conn.capabilities.dialect == "sqlite":
        sql = PLACEHOLDER.sub(r"?\1", sql)
    return list(await conn.execute_query_dict(sql, list(values)))


async def _run(sql: str, values: Sequence[Any], conn: BaseDBAsyncClient | None) -> tuple[int, list[Any]]:
    conn = conn or connections.get("default")
    if conn.capabilities.dialect == "sqlite":
        sql = PLACEHOLDER.sub(r"?\1", sql)
    count, rows = await conn.execute_query(sql, list(values))
    return count, list(rows)


async def execute_many(sql: str, rows: Sequence[Sequence[Any]], conn: BaseDBAsyncClient | None = None) -> None:
    """One hand-written INSERT for many rows (as fetch), in batches: for bulk loads, where a model
    instance a row costs more than the database spends (referrals.history)."""
    conn = conn or connections.get("default")
    if conn.capabilities.dialect == "sqlite":
        sql = PLACEHOLDER.sub(r"?\1", sql)
    for start in range(0, len(rows), BULK_BATCH):
        await conn.execute_many(sql, [list(row) for row in rows[start : start + BULK_BATCH]])


BULK_BATCH = 5000


def marks(first: int, count: int) -> str:
    """Placeholders for an IN list: marks(3, 2) is "$3, $4"."""
    return ", ".join(f"${n}" for n in range(first, first + count))


async def init(settings: Settings | None = None) -> Any:
    """Open the connections for a CLI command or the worker; returns the Tortoise context."""
    return await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)


async def close() -> None:
    await Tortoise.close_connections()


async def migrate(settings: Settings | None = None) -> list[str]:
    """Apply every pending migration; safe to run repeatedly. Returns what was applied."""
    from tortoise.migrations.api import migrate as run_migrations

    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")

    settings = settings or settings_module.get()
    try:
        await run_migrations(config=tortoise_config(settings), progress=progress)
        if settings.app_role and not settings.is_sqlite:
            await grant_app_role(settings.app_role)
    finally:
        # An open aiosqlite thread would keep a failed `marac migrate` from ever exiting.
        await Tortoise.close_connections()
    return applied


# The audit tables take INSERT and SELECT only: with the trigger of migration 0006, a
# compromised service can add events but never rewrite or remove them.
APPEND_ONLY_TABLES = ("audit_event", "disclosure")
# Events waiting for the audit chain: also DELETE, which migration 0031's trigger allows once an event is chained.
CHAINED_THEN_REMOVED_TABLES = ("audit_pending",)


async def grant_app_role(role: str) -> None:
    """Give `role` (which must exist) what the service needs on every table, re-run on each
    migrate so new tables are covered."""
    from tortoise import connections

    audit = ", ".join(f'"{t}"' for t in APPEND_ONLY_TABLES)
    waiting = ", ".join(f'"{t}"' for t in CHAINED_THEN_REMOVED_TABLES)
    await connections.get("default").execute_script(
        f'GRANT USAGE ON SCHEMA public TO "{role}";'
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}";'
        f'REVOKE UPDATE, DELETE, TRUNCATE ON {audit} FROM "{role}";'
        f'REVOKE UPDATE, TRUNCATE ON {waiting} FROM "{role}";'
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}";'
    )
