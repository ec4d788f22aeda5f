"""Run by test_conference_roles in its own process (migrations close Tortoise's connections): build a
database at migration 0014, with a chair, a coordinator and two members as older releases stored them,
migrate to the latest schema (0015: roles per conference, receiving agencies), and print each user's
entitlements as the session and the API token read them, as JSON."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime

from tortoise import Tortoise, connections
from tortoise.migrations.api.migrate import migrate

from marac import db
from marac.agencies import auth
from marac.agencies.access import Can, viewer_for, viewer_of
from marac.agencies.models import Agency, Conference, User


async def main() -> None:
    await migrate(config=db.tortoise_config(), target="marac.0014_legal_hold")
    await Tortoise.close_connections()
    await db.init()
    conn = connections.get("default")
    mark = (lambda n: f"${n}") if conn.capabilities.dialect == "postgres" else (lambda n: "?")
    # Agencies and users as that schema holds them: today's models name columns added since.
    agencies = {}
    for key, kind in (("police", "police"), ("housing", "housing")):
        agencies[key] = Agency(id=f"a{key}", name=f"Old {kind.capitalize()}", kind=kind)
        await conn.execute_query(
            f"INSERT INTO agency (id, name, kind, created_at) VALUES ({', '.join(mark(n) for n in range(1, 5))})",
            [agencies[key].id, agencies[key].name, kind, datetime.now(UTC)],
        )
    police, housing = agencies["police"], agencies["housing"]
    conference = await Conference.create(
        name="Old MARAC",
        slug="old-da",
        type="domestic-abuse",
        weekday="tuesday",
        start_time="10:00",
        first_date=date(2026, 1, 6),
    )
    await conn.execute_query(
        "INSERT INTO membership (id, conference_id, agency_id, tier) "
        f"VALUES ({', '.join(mark(n) for n in range(1, 5))})",
        ["m1", conference.id, police.id, "full"],
    )
    tokens = {}
    for key, role, agency in [
        ("chair", "chair", police),
        ("coordinator", "coordinator", police),
        ("member", "member", police),
        ("outsider", "member", housing),  # given the conference, but its agency is no member
    ]:
        user = User(id=f"u{key}", email=f"{key}@old.example.org", name=key, agency_id=agency.id, role=role)
        user._saved_in_db = True  # by the INSERT below, which names only that schema's columns
        await conn.execute_query(
            'INSERT INTO "user" (id, email, name, role, totp_confirmed, totp_last_step, active, demo, created_at, '
            f"agency_id) VALUES ({', '.join(mark(n) for n in range(1, 11))})",
            [user.id, user.email, key, role, False, 0, True, False, datetime.now(UTC), agency.id],
        )
        await conn.execute_query(
            f"INSERT INTO user_conference (user_id, conference_id) VALUES ({mark(1)}, {mark(2)})",
            [user.id, conference.id],
        )
        tokens[key] = (user.id, await auth.create_token(user, "old"))
    await Tortoise.close_connections()
    await db.migrate()
    await db.init()
    found = {}
    for key, (user_id, (_, raw)) in tokens.items():
        user = await User.get(id=user_id)
        session = await viewer_for(user)
        holder = await auth.token_holder(raw)
        api = viewer_of(user, holder.conferences, holder.agency_member_of, holder.conference_roles, holder.receiving)
        found[key] = {
            "role_there": session.role_in(conference.id),
            "same_by_token": api == session,
            "reads_every_referral": session.can_in(conference.id, Can.READ_REFERRALS),
            "receives": bool(session.receiving),
        }
    print(json.dumps(found, sort_keys=True))
    await db.close()


if __name__ == "__main__":
    asyncio.run(main())
