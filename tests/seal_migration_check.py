"""Run by test_encryption in its own process (migrations close Tortoise's connections):
build a database at migration 0002, write a person in clear as an older release did,
migrate to the latest schema, and print what the models read back as JSON."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from datetime import date

from tortoise import Tortoise, connections
from tortoise.migrations.api.migrate import migrate

from marac import db
from marac.referrals.models import Person


async def main(url: str) -> None:
    config = db.tortoise_config()
    await migrate(config=config, target="marac.0002_disclosure_log")
    await Tortoise.close_connections()
    await db.init()
    conn = connections.get("default")
    mark = (lambda n: f"${n}") if conn.capabilities.dialect == "postgres" else (lambda n: "?")
    values = ", ".join(mark(n) for n in range(1, 12))
    await conn.execute_query(
        "INSERT INTO conference (id, name, slug, type, weekday, start_time, first_date, type_settings, nation,"
        f" move_on_bank_holiday, calendar_token, created_at) VALUES ({values}, CURRENT_TIMESTAMP)",
        [
            "c1",
            "Old MARAC",
            "old",
            "domestic-abuse",
            "tuesday",
            "10:00",
            date(2026, 1, 6),
            "{}",
            "england_wales",
            True,
            "t1",
        ],
    )
    names = '["Old QXNAME"]'
    await conn.execute_query(
        f"INSERT INTO person (id, conference_id, names, date_of_birth, postcode, created_at) VALUES "
        f"({mark(1)}, {mark(2)}, {mark(3)}, {mark(4)}, {mark(5)}, CURRENT_TIMESTAMP)",
        ["p1", "c1", names, date(1970, 1, 2), "NS1 1QX"],
    )
    await conn.execute_query(
        f"INSERT INTO person_key (conference_id, person_id, key) VALUES ({mark(1)}, {mark(2)}, {mark(3)})",
        ["c1", "p1", "p:NS11QX:KLT"],
    )
    await Tortoise.close_connections()
    await db.migrate()
    await db.init()
    conn = connections.get("default")
    _, rows = await conn.execute_query("SELECT names, date_of_birth, postcode FROM person")
    _, keys = await conn.execute_query("SELECT key FROM person_key")
    person = await Person.get(id="p1")
    print(
        json.dumps(
            {
                "names": person.names,
                "date_of_birth": person.date_of_birth.isoformat(),
                "postcode": person.postcode,
                "sealed": all(str(v).startswith("enc1:") for v in dict(rows[0]).values()),
                "keys_hashed": all(re.fullmatch(r"[0-9a-f]{64}", k["key"]) for k in keys),
            }
        )
    )
    await db.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
