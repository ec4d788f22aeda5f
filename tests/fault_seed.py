"""Seed a fault test's own PostgreSQL server (run in a subprocess whose MARAC_DATABASE_URL
points at it): the schema, the personas, a published meeting and police-owned actions."""

from __future__ import annotations

from typing import Any

from marac import db
from marac.agencies import auth
from tests.builders import action, published_meeting
from tests.conftest import create_personas


async def seed(action_count: int) -> dict[str, Any]:
    """The police persona's bearer token and session, and `action_count` actions its agency owns."""
    await db.migrate()
    await db.init()
    try:
        personas = await create_personas()
        world = await published_meeting(personas)
        police = personas["police"]
        described = [f"Police to check the address history by Friday ({n})" for n in range(action_count)]
        ids = [(await action(personas, world.meeting, world.case_id, text, owner="police")).id for text in described]
        session = await auth.start_session(police.user, mfa_passed=True)
        return {"token": police.token, "session": session, "actions": ids}
    finally:
        await db.close()
