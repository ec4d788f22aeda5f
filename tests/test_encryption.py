"""Field-level encryption: the sensitive field classes are unreadable in the database and in
a dump, a value moved to another row or column does not open, keys rotate idempotently, and
rows written before encryption are sealed by the migration."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from tortoise import Tortoise, connections

from marac import db, settings
from marac.agencies.access import viewer_for
from marac.meetings.models import Meeting, Research
from marac.minutes import service as minutes
from marac.referrals.models import Person, Referral, ReferralPerson
from marac.sealed import SealError, key_version, model_columns, reseal
from tests.builders import held_meeting_with_markers, published_meeting
from tests.conftest import dash_body, make_referral, run_check_script, scratch_postgres
from tests.test_migrations_and_cli import PG_ADMIN_URL, cli

MARKERS = [
    "QXVICTIMNAME",
    "QXALIAS",
    "QXSTREET",
    "QXTOWN",
    "7700 900555",
    "QXPERP",
    "QXCHILD",
    "QXSUMMARY",
    "QXJUDGE",
    "QXRESEARCH",
]


def marked_body() -> dict:
    body = dash_body(
        criteria=["professional_judgement"],
        risk={"instrument": "dash", "score": 10},
        judgement_reason="QXJUDGE escalating coercive control",
    )
    body["victim"].update(name="Jane QXVICTIMNAME", aliases=["Janey QXALIAS"], date_of_birth="1990-03-14")
    body["victim"]["address"] = {"line1": "4 QXSTREET Road", "town": "QXTOWN", "postcode": "NS9 9QX"}
    body["victim"]["safe_contact"]["phone"] = "07700 900555"
    body["perpetrators"] = [{"name": "John QXPERP", "date_of_birth": "1985-07-01", "relationship": "ex-partner"}]
    body["children"] = [{"name": "Amy QXCHILD", "date_of_birth": "2018-05-05"}]
    body["summary"] = "QXSUMMARY threats after separation"
    return body


async def everything_in_the_database() -> str:
    """Every row of every table as text, read with raw SQL (no model decrypts anything)."""
    conn = connections.get("default")
    out = []
    for model in Tortoise.apps[db.APP].values():
        table = model._meta.db_table
        sql = (
            f'SELECT t::text AS row FROM "{table}" t'
            if conn.capabilities.dialect == "postgres"
            else f'SELECT * FROM "{table}"'
        )
        _, rows = await conn.execute_query(sql)
        out += [json.dumps(dict(row), default=str) for row in rows]
    return "\n".join(out)


async def marked_case(client, personas) -> tuple[Referral, Meeting]:
    """A published case carrying every marker, with a research summary."""
    world = await published_meeting(personas, bodies=[marked_body()])
    answer = await client.put(
        f"/api/v1/meetings/{world.meeting.id}/cases/{world.case_id}/research",
        json={"known": True, "summary": "QXRESEARCH GP saw injuries"},
        headers=personas["health"].bearer,
    )
    assert answer.status_code == 200
    return world.referral, world.meeting


async def test_the_database_holds_no_marker_yet_every_entitled_reader_sees_them(client, personas):
    referral, _ = await marked_case(client, personas)
    meeting, minute_markers = await held_meeting_with_markers(personas)
    await minutes.approve(await viewer_for(personas["chair"].user), meeting)
    stored = await everything_in_the_database()
    for marker in MARKERS + [m for m in minute_markers if m.startswith("CANARY")]:
        assert marker not in stored, marker
    # The postcode and date of birth stay out of the person index's keys too.
    assert "NS99QX" not in stored.replace(" ", "") and "1990-03-14" not in stored

    answer = (await client.get(f"/api/v1/referrals/{referral.id}", headers=personas["police"].bearer)).json()
    text = json.dumps(answer)
    for marker in ("QXVICTIMNAME", "QXSTREET", "7700 900555", "QXPERP", "QXCHILD", "QXSUMMARY"):
        assert marker in text, marker


async def test_the_sqlite_file_holds_no_marker(client, personas):
    if not settings.get().is_sqlite:
        pytest.skip("the PostgreSQL run checks a pg_dump instead")
    await marked_case(client, personas)
    path = Path(connections.get("default").filename)
    # The file and its write-ahead log (recent pages live there until a checkpoint), read by
    # another process: closing a descriptor of the file here would drop SQLite's own locks.
    files = [str(p) for p in (path, Path(f"{path}-wal")) if p.exists()]
    data = subprocess.run(["cat", *files], capture_output=True, check=True, timeout=60).stdout
    assert len(data) > 100_000
    for marker in MARKERS:
        assert marker.encode() not in data, marker


async def test_a_pg_dump_holds_no_marker(client, personas):
    if settings.get().is_sqlite:
        pytest.skip("the SQLite run checks the database file instead")
    await marked_case(client, personas)
    pg_dump = shutil.which("pg_dump") or next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))), None)
    assert pg_dump, "pg_dump is installed with PostgreSQL"
    url = settings.get().database_url.replace("postgres://", "postgresql://", 1)
    dump = subprocess.run([str(pg_dump), "--data-only", url], capture_output=True, check=True, timeout=120).stdout
    assert b"COPY public.referral" in dump and b"enc1:" in dump
    for marker in MARKERS:
        assert marker.encode() not in dump, marker


async def test_a_value_moved_to_another_row_or_column_does_not_open(personas):
    first = await make_referral(personas["police"], marked_body())
    second = await make_referral(personas["idva"])
    conn = connections.get("default")
    _, rows = await conn.execute_query(f"SELECT victim, summary FROM referral WHERE id = '{first.id}'")
    await conn.execute_query(f"UPDATE referral SET victim = '{rows[0]['victim']}' WHERE id = '{second.id}'")
    with pytest.raises(SealError, match=f"referral.victim of row {second.id}"):
        await Referral.get(id=second.id)
    # Same row, other column: the column is bound too.
    await conn.execute_query(f"UPDATE referral SET victim = '{rows[0]['summary']}' WHERE id = '{first.id}'")
    with pytest.raises(SealError):
        await Referral.get(id=first.id)


async def test_a_queryset_update_of_a_sealed_field_is_refused(personas):
    referral = await make_referral(personas["police"])
    with pytest.raises(TypeError, match="sealed"):
        await Referral.filter(id=referral.id).update(summary="written around the model")
    assert (await Referral.get(id=referral.id)).summary == dash_body()["summary"]


def test_keys_are_read_from_settings_and_bad_keys_are_refused(tmp_path):
    key = base64.b64encode(b"a" * 32).decode()
    loaded = settings.load({"MARAC_DATA_KEYS": f"1:{key}, 3:{base64.b64encode(b'b' * 32).decode()}"})
    assert loaded.current_data_key == (3, b"b" * 32) and set(loaded.data_keys) == {1, 3}
    key_file = tmp_path / "keys"
    key_file.write_text(f"# field keys\n2:{key}\n")
    assert settings.load({"MARAC_DATA_KEY_FILE": str(key_file)}).current_data_key == (2, b"a" * 32)
    for bad, message in ((f"x:{key}", "key version"), ("1:c2hvcnQ=", "32-byte"), (f"1:{key},1:{key}", "twice")):
        with pytest.raises(settings.SettingsError, match=message) as caught:
            settings.load({"MARAC_DATA_KEYS": bad})
        assert key not in str(caught.value)
    with pytest.raises(settings.SettingsError, match="MARAC_DATA_KEY_FILE"):
        settings.load({"MARAC_DATA_KEY_FILE": str(tmp_path / "missing")})
    production = {
        "MARAC_ENV": "production",
        "MARAC_SECRET_KEY": "s" * 40,
        "MARAC_BASE_URL": "https://marac.example.org",
    }
    with pytest.raises(settings.SettingsError, match="MARAC_DATA_KEYS"):
        settings.load(production)
    assert settings.load({**production, "MARAC_DATA_KEYS": f"1:{key}"}).current_data_key[0] == 1


async def test_rotation_re_encrypts_everything_under_the_new_key_once(client, personas):
    referral, meeting = await marked_case(client, personas)
    real = settings.get()
    new_key = os.urandom(32)
    columns = model_columns(list(Tortoise.apps[db.APP].values()))
    conn = connections.get("default")
    settings.override(dataclasses.replace(real, data_keys={**real.data_keys, 2: new_key}))
    try:
        changed = await reseal(conn, columns)
        assert changed >= 10
        assert await reseal(conn, columns) == 0  # idempotent: nothing left under the old key
        _, rows = await conn.execute_query(f"SELECT victim FROM referral WHERE id = '{referral.id}'")
        assert key_version(rows[0]["victim"]) == 2
        # The old key can now be retired: everything opens with the new one alone.
        settings.override(dataclasses.replace(real, data_keys={2: new_key}))
        assert (await Referral.get(id=referral.id)).victim["name"] == "Jane QXVICTIMNAME"
        assert {p.name for p in await ReferralPerson.filter(referral_id=referral.id)} >= {"John QXPERP", "Amy QXCHILD"}
        assert (await Research.get(item__meeting_id=meeting.id)).summary == "QXRESEARCH GP saw injuries"
        assert (await Person.get(id=referral.victim_person_id)).postcode == "NS99QX"
    finally:
        settings.override(real)


async def test_marac_keys_rotate_is_audited_and_safe_to_repeat(client, personas):
    referral = await make_referral(personas["police"], marked_body())
    real = settings.get()
    (old_version, old_key), new_key = real.current_data_key, os.urandom(32)
    keys = f"{old_version}:{base64.b64encode(old_key).decode()},{old_version + 1}:{base64.b64encode(new_key).decode()}"
    code, out = await cli("keys", "rotate", env={"MARAC_DATA_KEYS": keys})
    assert code == 0 and f"under key version {old_version + 1}" in out, out
    code, out = await cli("keys", "rotate", env={"MARAC_DATA_KEYS": keys})
    assert code == 0 and "Re-encrypted 0 values" in out, out
    settings.override(dataclasses.replace(real, data_keys={old_version + 1: new_key}))
    try:
        assert (await Referral.get(id=referral.id)).summary == "QXSUMMARY threats after separation"
        from marac.audit.models import AuditEvent

        assert await AuditEvent.filter(action="keys.rotate").count() == 2
    finally:
        settings.override(real)
    code, out = await cli("keys", "generate", env={"MARAC_DATA_KEYS": keys})
    version, _, key = out.strip().partition(":")
    assert code == 0 and version == str(old_version + 2) and len(base64.b64decode(key)) == 32


MIGRATION_CHECK = Path(__file__).with_name("seal_migration_check.py")


async def run_migration_check(url: str) -> dict:
    return await run_check_script(MIGRATION_CHECK, url, url)


async def test_the_migration_seals_rows_written_before_encryption_on_sqlite(tmp_path):
    result = await run_migration_check(f"sqlite://{tmp_path}/old.sqlite3")
    assert result == {
        "names": ["Old QXNAME"],
        "date_of_birth": "1970-01-02",
        "postcode": "NS1 1QX",
        "sealed": True,
        "keys_hashed": True,
    }


@pytest.mark.skipif(not PG_ADMIN_URL, reason="MARAC_TEST_PG_ADMIN_URL not set (scripts/test sets it)")
async def test_the_migration_seals_rows_written_before_encryption_on_postgresql():
    async with scratch_postgres("marac_seal") as url:
        result = await run_migration_check(url)
        assert result["sealed"] and result["keys_hashed"] and result["names"] == ["Old QXNAME"]
