"""Run by test_key_versions in its own process (migrations close Tortoise's connections):
build a database at migration 0010, write audit events and a person-index entry as the
release before key versions did (keys derived from MARAC_SECRET_KEY), migrate, then check
verification and matching through the upgrade, a rotation and a change of secret key.
Prints what it found as JSON."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
from datetime import UTC, date, datetime

from tortoise import Tortoise, connections
from tortoise.migrations.api.migrate import migrate

from marac import db, settings
from marac.audit.service import GENESIS, _digest, record, verify
from marac.referrals import names, people
from marac.sealed import seal

FACTS = names.PersonFacts(names=("Olive QXOLDNAME",), date_of_birth=date(1970, 1, 2), postcode="NS1 1QX")


async def write_as_before(conn) -> None:
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
    await conn.execute_query(
        f"INSERT INTO person (id, conference_id, names, date_of_birth, postcode, created_at) VALUES "
        f"({mark(1)}, {mark(2)}, {mark(3)}, {mark(4)}, {mark(5)}, CURRENT_TIMESTAMP)",
        [
            "p1",
            "c1",
            seal("person", "names", "p1", json.dumps(list(FACTS.names))),
            seal("person", "date_of_birth", "p1", FACTS.date_of_birth.isoformat()),
            seal("person", "postcode", "p1", "NS11QX"),
        ],
    )
    # The index digest and the chain HMAC exactly as the code before versions computed them.
    old_index_key = settings.get().derived_key("person-index")
    for blocking_key in names.blocking_keys(FACTS):
        digest = hmac.new(old_index_key, blocking_key.encode(), hashlib.sha256).hexdigest()
        await conn.execute_query(
            f"INSERT INTO person_key (conference_id, person_id, key) VALUES ({mark(1)}, {mark(2)}, {mark(3)})",
            ["c1", "p1", digest],
        )
    prev_hash = GENESIS
    for seq in (1, 2):
        at = datetime(2026, 1, seq, 10, 0, 0, 123456, tzinfo=UTC)
        fields = (None, None, "old.event", "person", "p1", "c1", "ok", None)
        digest = _digest(settings.get().derived_key("audit-chain"), prev_hash, seq, at, fields)
        await conn.execute_query(
            "INSERT INTO audit_event (seq, at, user_id, agency_id, action, object_type, object_id, conference_id,"
            f" outcome, request_id, prev_hash, hash) VALUES ({', '.join(mark(n) for n in range(1, 13))})",
            [seq, at, *fields, prev_hash, digest],
        )
        prev_hash = digest


async def found() -> bool:
    return [p.id for p, _ in await people.candidates("c1", FACTS)] == ["p1"]


async def versions(conn, table: str) -> list[int]:
    _, rows = await conn.execute_query(f'SELECT DISTINCT key_version FROM "{table}"')
    return sorted(row["key_version"] for row in rows)


async def main() -> None:
    await migrate(config=db.tortoise_config(), target="marac.0010_action_list_indexes")
    await Tortoise.close_connections()
    await db.init()
    await write_as_before(connections.get("default"))
    await Tortoise.close_connections()
    await db.migrate()
    await db.init()
    conn = connections.get("default")
    report: dict = {"versions_after_migration": {t: await versions(conn, t) for t in ("audit_event", "person_key")}}
    result = await verify()
    report |= {"verify_after_migration": [result.ok, result.checked], "found_after_migration": await found()}
    event = await record("new.event")
    result = await verify()
    report |= {"verify_with_new_events": [result.ok, result.checked], "new_event_version": event.key_version}
    report |= {
        "rekeyed": await people.rekey(),
        "rekeyed_again": await people.rekey(),
        "person_key_versions": await versions(conn, "person_key"),
    }
    real = settings.get()
    settings.override(dataclasses.replace(real, secret_key="a-new-secret-key-" + "n" * 40))
    result = await verify()
    report["new_secret_unpinned"] = [result.ok, result.first_bad_seq]
    settings.override(
        dataclasses.replace(real, secret_key="a-new-secret-key-" + "n" * 40, legacy_secret=real.secret_key.encode())
    )
    result = await verify()
    report |= {"new_secret_pinned": [result.ok, result.checked], "found_with_new_secret": await found()}
    print(json.dumps(report))
    await db.close()


if __name__ == "__main__":
    asyncio.run(main())
