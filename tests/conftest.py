"""Shared fixtures: a real database (SQLite or PostgreSQL, from MARAC_DATABASE_URL), the app
with its lifespan running, and the personas every rule is tested against.

Personas (healthchecks-style): a chair, a coordinator, police, the victim's advocate
(IDVA), health, children's services on the actions-only tier, a housing association
that is NOT a member, plus an admin and an auditor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyotp
import pytest

# Never let a test run wipe a developer's database: without an explicit URL, use a temp file.
if not os.environ.get("MARAC_DATABASE_URL"):
    os.environ["MARAC_DATABASE_URL"] = f"sqlite://{tempfile.mkdtemp(prefix='marac-pytest-')}/test.sqlite3"
os.environ.setdefault("MARAC_ENV", "test")
os.environ.setdefault("MARAC_DOCUMENT_STORE", tempfile.mkdtemp(prefix="marac-docs-"))

import httpx
from tortoise import Tortoise, connections

from marac import db, settings
from marac.agencies import auth, service
from marac.agencies.models import Agency, User
from marac.web import csrf
from marac.web.app import create_app
from tests.mail import Inbox, free_port, smtp_settings

# Children before parents: SQLite deletes row by row with foreign keys on.
TABLES = [
    "transfer_package",
    "revision",
    "earlier_case",
    "history_import",
    "referral_change",
    "referral_draft",
    "named_place",
    "chair_pack",
    "minutes_recipient",
    "minutes_version",
    "notification_preference",
    "notification",
    "webhook_delivery",
    "event",
    "email_outbox",
    "break_glass",
    "action_review",
    "action_update",
    "action",
    "note",
    "attendance",
    "research",
    "document",
    "agenda_item",
    "referral_person",
    "match_suggestion",
    "person_key",
    "referral",
    "person",
    "meeting",
    "conference_role",
    "user_conference",
    "session",
    "api_token",
    "membership",
    "webhook",
    "user",
    "retention_notice",
    "retention_run",
    "legal_hold",
    "report_document",
    "conference",
    "agency",
    "audit_event",
    "audit_pending",
    "disclosure",
    "login_failure",
    "job",
]
PASSWORD = "correct horse battery staple"
AUDIT_TABLES = ("audit_event", "audit_pending", "disclosure")
TRIGGERS_OFF = "; ".join(f'ALTER TABLE "{table}" DISABLE TRIGGER USER' for table in AUDIT_TABLES)
TRIGGERS_ON = "; ".join(f'ALTER TABLE "{table}" ENABLE TRIGGER USER' for table in AUDIT_TABLES)
CONFERENCE = "northshire-da"


# Tests that start or kill servers or drive a browser are slow: scripts/test runs them once
# (run B), not in both runs. Elsewhere they are skipped, saying how to run them.
OPT_IN = {"fault": "MARAC_TEST_FAULT", "browser": "MARAC_TEST_BROWSER", "server": "MARAC_TEST_SERVER"}


def pytest_collection_modifyitems(config, items):
    for marker, variable in OPT_IN.items():
        if os.environ.get(variable) == "1":
            continue
        skip = pytest.mark.skip(reason=f"{marker} tests run with {variable}=1 (run B of scripts/test)")
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)


REPORTS = pytest.StashKey[dict]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Kept on the test item so a fixture's teardown can tell whether its test failed
    # (the browser tests then save the page's screenshot and HTML).
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
async def app():
    settings.override(None)
    await db.migrate()
    application = create_app()
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(autouse=True)
async def clean_database(app):
    await reset_database()
    yield


async def reset_database() -> None:
    """Every table emptied (and the queue): each test, or each hypothesis example, starts clean."""
    from marac.jobs import queue

    await queue.drain()  # an in-process job left running by the last test must not outlive its data
    for url in {settings.get().redis_url, os.environ.get("MARAC_TEST_REDIS_URL")} - {None, ""}:
        # Jobs queued by the last test refer to rows about to be deleted: empty the queue too.
        from redis.asyncio import Redis

        redis = Redis.from_url(url)
        await redis.flushdb()
        await redis.aclose()
    # A new table left out here would carry rows (sealed under a test's key) into the next test.
    missing = {m._meta.db_table for m in Tortoise.apps[db.APP].values()} - set(TABLES)
    assert not missing, f"tests/conftest.py TABLES lacks {sorted(missing)}"
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        quoted = ", ".join(f'"{table}"' for table in TABLES)
        # The audit tables refuse TRUNCATE (migration 0006); their owner may switch the
        # triggers off, inside this one transaction.
        await conn.execute_script(f"BEGIN; {TRIGGERS_OFF}; TRUNCATE {quoted} CASCADE; {TRIGGERS_ON}; COMMIT")
    else:
        for table in TABLES:
            await conn.execute_script(f'DELETE FROM "{table}"')


def make_client(app, ip: str = "127.0.0.1", base_url: str = "http://testserver") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url=base_url, follow_redirects=False)


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    """A real SMTP server on loopback that the service sends to; its inbox."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with smtp_settings(f"smtp://127.0.0.1:{controller.port}"):
            yield inbox
    finally:
        controller.stop()


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(app) as c:
        yield c


@dataclass
class Persona:
    key: str
    user: User
    totp_secret: str
    token: str
    password: str = PASSWORD

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


_password_hash_cache: list[str] = []


def _password_hash() -> str:
    # argon2id is slow on purpose; hash the shared test password once per run.
    if not _password_hash_cache:
        _password_hash_cache.append(auth.hash_password(PASSWORD))
    return _password_hash_cache[0]


PERSONAS = [
    # key, agency name, kind, tier (None: not a member), role
    ("admin", "Northshire Council", "local_authority", "full", "admin"),
    ("coordinator", "Northshire Council", "local_authority", "full", "coordinator"),
    ("chair", "Northshire Police", "police", "full", "chair"),
    ("police", "Northshire Police", "police", "full", "member"),
    ("idva", "Northshire IDVA Service", "idva", "full", "member"),
    ("health", "Northshire NHS Trust", "health", "full", "member"),
    ("childrens", "Northshire Children's Services", "childrens_social_care", "actions_only", "member"),
    ("housing", "Riverside Housing Association", "housing", None, "member"),
    ("auditor", "Northshire Council", "local_authority", "full", "auditor"),
]


@pytest.fixture
async def personas(app) -> dict[str, Persona]:
    return await create_personas()


async def create_personas() -> dict[str, Persona]:
    """The personas in the database Tortoise is connected to (a fault test seeds its own server with them)."""
    agencies: dict[str, Agency] = {}
    members: dict[str, str] = {}
    for _, name, kind, tier, _ in PERSONAS:
        if name not in agencies:
            agencies[name] = await service.create_agency(None, name, kind)
        if tier:
            members[name] = tier
    await service.create_conference(
        None,
        name="Northshire DA MARAC",
        slug=CONFERENCE,
        type="domestic-abuse",
        weekday="tuesday",
        start_time="10:00",
        first_date=date(2026, 1, 6),
        members=[service.MemberSpec(agencies[n].id, t) for n, t in members.items()],
    )
    result: dict[str, Persona] = {}
    for key, name, _, _, role in PERSONAS:
        created = await service.add_user(
            None,
            email=f"{key}@test.example.org",
            name=key.capitalize(),
            agency_id=agencies[name].id,
            role=role,
            conference_slugs=[CONFERENCE] if role != "admin" and key != "housing" else [],
        )
        user = created.user
        secret = pyotp.random_base32()
        user.password_hash = _password_hash()
        user.totp_secret = secret
        user.totp_confirmed = True
        user.setup_token_hash = None
        await user.save()
        _, raw = await auth.create_token(user, "tests")
        result[key] = Persona(
            key=key, user=await User.get(id=user.id).prefetch_related("agency"), totp_secret=secret, token=raw
        )
    return result


async def csrf_token(client: httpx.AsyncClient, path: str = "/login") -> str:
    """Open a page that has a form and read the CSRF token out of it, as a browser would."""
    page = await client.get(path)
    marker = 'name="csrf_token" value="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


async def sign_in(client: httpx.AsyncClient, persona: Persona) -> httpx.Response:
    """The whole journey: password, then a fresh TOTP code."""
    # Each code is accepted once; a test may sign the same persona in twice within 30 s.
    await User.filter(id=persona.user.id).update(totp_last_step=0)
    token = await csrf_token(client)
    first = await client.post(
        "/login", data={"email": persona.email, "password": persona.password, "csrf_token": token}
    )
    assert first.status_code == 303 and first.headers["location"].startswith("/login/mfa"), first.text
    token = await csrf_token(client, "/login/mfa")
    code = pyotp.TOTP(persona.totp_secret).now()
    return await client.post("/login/mfa", data={"code": code, "csrf_token": token, "next": "/"})


async def session_cookie_for(persona: Persona) -> dict[str, str]:
    """A signed-in browser without the sign-in journey, for tests about what comes after it."""
    raw = await auth.start_session(persona.user, mfa_passed=True)
    return {csrf.SESSION: raw}


def dash_body(yes: int = 15, **overrides) -> dict:
    """A valid domestic-abuse referral body: DASH answers with `yes` yes-answers."""
    body = {
        "conference": CONFERENCE,
        "received_at": "2026-11-02",
        "criteria": ["visible_high_risk"],
        "risk": {"instrument": "dash", "answers": ["yes"] * yes + ["no"] * (24 - yes)},
        "victim": {
            "name": "Jane Doe",
            "date_of_birth": "1990-03-14",
            "gender": "female",
            "address": {"line1": "1 High Street", "town": "Northshire", "postcode": "NS1 1AA"},
            "safe_contact": {"phone": "07700 900123", "safe_to_call": True, "safe_to_leave_message": False},
        },
        "perpetrators": [{"name": "John Roe", "date_of_birth": "1985-07-01", "relationship": "ex-partner"}],
        "children": [{"name": "Amy Doe", "date_of_birth": "2018-05-05"}],
        "summary": "Escalating threats after separation.",
        "consent": {"victim_aware": True, "consented": True},
    }
    body.update(overrides)
    return body


async def make_referral(persona: Persona, body: dict | None = None):
    from marac.agencies.access import viewer_for
    from marac.referrals import service as referrals

    return await referrals.submit(await viewer_for(persona.user), body or dash_body(), date(2026, 11, 21))


PG_ADMIN_URL = os.environ.get("MARAC_TEST_PG_ADMIN_URL")


@contextlib.asynccontextmanager
async def scratch_postgres(prefix: str) -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database beside the test database, dropped afterwards: yields
    its URL. For migrations, upgrades and restores that need a database of their own."""
    import asyncpg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run_check_script(script: Path, url: str, *args: str) -> dict:
    """Run a tests/*_check.py script in its own process (migrations close Tortoise's
    connections) against the database at url; returns the JSON of its last line."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        *args,
        env={**os.environ, "MARAC_DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, out.decode()
    return json.loads(out.decode().strip().splitlines()[-1])
