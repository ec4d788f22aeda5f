"""Run by test_credentials in its own process (migrations close Tortoise's connections):
build a database at migration 0011, write a TOTP seed in clear and an API token without an
expiry as older releases did, migrate to the latest schema, and print what is stored and
what the models read back, as JSON."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from tortoise import Tortoise, connections
from tortoise.migrations.api.migrate import migrate

from marac import db
from marac.agencies import auth
from marac.agencies.models import ApiToken, User

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


async def main() -> None:
    await migrate(config=db.tortoise_config(), target="marac.0011_key_versions")
    await Tortoise.close_connections()
    await db.init()
    conn = connections.get("default")
    mark = (lambda n: f"${n}") if conn.capabilities.dialect == "postgres" else (lambda n: "?")
    marks = lambda count: ", ".join(mark(n) for n in range(1, count + 1))  # noqa: E731
    await conn.execute_query(
        f"INSERT INTO agency (id, name, kind, created_at) VALUES ({marks(3)}, CURRENT_TIMESTAMP)",
        ["a1", "Old Agency", "police"],
    )
    await conn.execute_query(
        'INSERT INTO "user" (id, email, name, agency_id, role, password_hash, totp_secret, totp_confirmed,'
        f" totp_last_step, active, demo, created_at) VALUES ({marks(11)}, CURRENT_TIMESTAMP)",
        ["u1", "old@test.example.org", "Old User", "a1", "member", None, SEED, True, 0, True, False],
    )
    await conn.execute_query(
        f"INSERT INTO api_token (id, user_id, token_hash, label, created_at) VALUES ({marks(4)}, CURRENT_TIMESTAMP)",
        ["t1", "u1", auth.sha256("marac_old"), "old"],
    )
    await Tortoise.close_connections()
    await db.migrate()
    await db.init()
    conn = connections.get("default")
    _, rows = await conn.execute_query('SELECT totp_secret FROM "user"')
    token = await ApiToken.get(id="t1")
    print(
        json.dumps(
            {
                "stored_sealed": rows[0]["totp_secret"].startswith("enc1:") and SEED not in rows[0]["totp_secret"],
                "reads_back": (await User.get(id="u1")).totp_secret == SEED,
                "token_days": round((token.expires_at - datetime.now(UTC)) / timedelta(days=1)),
                "token_works": (await auth.token_holder("marac_old")) is not None,
            }
        )
    )
    await db.close()


if __name__ == "__main__":
    asyncio.run(main())
