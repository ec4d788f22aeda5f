"""Versioned keys for the audit chain, the person index and stored documents: adding a data
key and running `marac keys rotate` (even with a new MARAC_SECRET_KEY) breaks neither
`marac audit verify`, repeat matching nor documents, and a database written before key
versions upgrades and keeps them."""

from __future__ import annotations

import base64
import dataclasses
import os
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from marac import settings
from marac.agencies.models import Conference
from marac.audit.models import AuditEvent
from marac.audit.service import record, verify
from marac.documents import store
from marac.meetings.models import Meeting
from marac.referrals import people
from marac.referrals.models import PersonKey, Referral
from tests.conftest import CONFERENCE, dash_body, run_check_script, scratch_postgres
from tests.test_audit import _sql
from tests.test_migrations_and_cli import PG_ADMIN_URL, cli
from tests.test_referrals import post


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


async def test_after_rotation_and_a_new_secret_key_old_and_new_events_verify_and_repeats_are_found(client, personas):
    first = (await post(client, personas["police"], dash_body(received_at="2026-03-02"))).json()
    real = settings.get()
    (old_version, old_key), new_key = real.current_data_key, os.urandom(32)
    new_version = old_version + 1
    env = {
        "MARAC_DATA_KEYS": f"{old_version}:{b64(old_key)},{new_version}:{b64(new_key)}",
        "MARAC_SECRET_KEY": "a-new-secret-key-" + "n" * 40,
    }
    code, out = await cli("keys", "rotate", env=env)
    assert code == 0 and "Recomputed the person-index keys of 3 people" in out, out  # victim, perpetrator, child
    assert f"Audit events are signed with key versions {old_version}, {new_version}" in out, out
    code, out = await cli("keys", "rotate", env=env)
    assert code == 0 and "Recomputed the person-index keys of 0 people" in out, out  # safe to repeat
    assert set(await PersonKey.all().values_list("key_version", flat=True)) == {new_version}

    # The service restarted with the new key list and a new secret key.
    settings.override(
        dataclasses.replace(
            real, secret_key=env["MARAC_SECRET_KEY"], data_keys={old_version: old_key, new_version: new_key}
        )
    )
    try:
        again = dash_body(received_at="2026-11-02")
        again["victim"]["name"] = "JANE  DOE"
        second = (await post(client, personas["idva"], again)).json()
        assert second["repeat"] == {"is_repeat": True, "previous_referral_id": first["id"]}
        assert {e.key_version for e in await AuditEvent.all()} == {old_version, new_version}
        code, out = await cli("audit", "verify", env=env)
        assert code == 0 and "intact" in out, out
        answer = await client.get("/api/v1/audit/verify", headers=personas["auditor"].bearer)
        assert answer.status_code == 200 and answer.json()["ok"] is True, answer.text

        old_event = await AuditEvent.filter(key_version=old_version).order_by("seq").first()
        await _sql(f"UPDATE audit_event SET object_id = 'someone-else' WHERE seq = {old_event.seq}")
        assert (await verify()).first_bad_seq == old_event.seq
        code, out = await cli("audit", "verify", env=env)
        assert code == 1 and f"broken at event {old_event.seq}" in out, out
    finally:
        settings.override(real)


async def test_people_indexed_under_an_older_key_are_found_before_the_rotation_has_run(client, personas):
    first = (await post(client, personas["police"], dash_body(received_at="2026-03-02"))).json()
    real = settings.get()
    settings.override(dataclasses.replace(real, data_keys={**real.data_keys, max(real.data_keys) + 1: os.urandom(32)}))
    try:
        second = (await post(client, personas["idva"], dash_body(received_at="2026-11-02"))).json()
        assert second["repeat"] == {"is_repeat": True, "previous_referral_id": first["id"]}
        assert (await verify()).ok
    finally:
        settings.override(real)


async def test_rotation_keeps_the_index_keys_of_an_address_the_victim_moved_from(client, personas):
    first = (await post(client, personas["police"], dash_body(received_at="2026-03-02"))).json()
    moved = dash_body(received_at="2026-06-02")
    moved["victim"]["address"]["postcode"] = "NS2 2BB"
    assert (await post(client, personas["idva"], moved)).json()["repeat"]["previous_referral_id"] == first["id"]
    victim = (await Referral.get(id=first["id"])).victim_person_id
    before = await PersonKey.filter(person_id=victim).count()
    real = settings.get()
    newest = max(real.data_keys) + 1
    settings.override(dataclasses.replace(real, data_keys={**real.data_keys, newest: os.urandom(32)}))
    try:
        assert await people.rekey() == 3
        # Keys of both postcodes, as before the rotation, all under the newest key.
        assert await PersonKey.filter(person_id=victim, key_version=newest).count() == before
        assert await PersonKey.filter(person_id=victim).count() == before
    finally:
        settings.override(real)


async def test_an_event_naming_a_key_version_that_is_not_configured_fails_verification():
    events = [await record("test.event", object_type="thing", object_id=f"id{n}") for n in range(3)]
    await _sql(f"UPDATE audit_event SET key_version = 99 WHERE seq = {events[1].seq}")
    result = await verify()
    assert not result.ok and result.first_bad_seq == events[1].seq and result.missing_key_version == 99
    await _sql(f"UPDATE audit_event SET key_version = {events[1].key_version} WHERE seq = {events[1].seq}")
    await _sql(f"UPDATE audit_event SET key_version = 0 WHERE seq = {events[2].seq}")  # relabelled: wrong key
    assert (await verify()).first_bad_seq == events[2].seq


async def test_stored_documents_open_across_key_versions_and_rotate_to_the_newest(personas, tmp_path):
    real = settings.get()
    settings.override(dataclasses.replace(real, document_store=tmp_path))
    try:
        meeting = await Meeting.create(
            conference=await Conference.get(slug=CONFERENCE), date=date(2026, 11, 24), cut_off=date(2026, 11, 17)
        )
        agency_id = personas["police"].user.agency_id
        old_pdf, new_pdf = b"%PDF-1 written before key versions", b"%PDF-1 written under a data key"
        old = await store.save("agenda", meeting.id, agency_id, 1, old_pdf, 1, reference="R1")
        # As the release before key versions wrote it: the nonce first, a key derived from MARAC_SECRET_KEY.
        nonce = os.urandom(12)
        old_cipher = AESGCM(real.derived_key("documents-at-rest"))
        (tmp_path / old.file_name).write_bytes(nonce + old_cipher.encrypt(nonce, old_pdf, old.file_name.encode()))
        new = await store.save("agenda", meeting.id, agency_id, 2, new_pdf, 1, reference="R2")
        assert store.read(old) == old_pdf and store.read(new) == new_pdf

        newest = max(real.data_keys) + 1
        rotated = dataclasses.replace(
            real, document_store=tmp_path, data_keys={**real.data_keys, newest: os.urandom(32)}
        )
        settings.override(rotated)
        assert (await store.reseal_files())["rewritten"] == 2
        assert (await store.reseal_files())["rewritten"] == 0  # safe to repeat
        # A new secret key and only the newest data key: both documents still open.
        settings.override(
            dataclasses.replace(
                rotated, secret_key="a-new-secret-key-" + "n" * 40, data_keys={newest: rotated.data_keys[newest]}
            )
        )
        assert store.read(old) == old_pdf and store.read(new) == new_pdf
        # Relabelled with another key version, a file does not open.
        sealed = (tmp_path / new.file_name).read_bytes()
        relabelled = store.MAGIC + (0).to_bytes(4, "big") + sealed[store.HEADER :]
        (tmp_path / new.file_name).write_bytes(relabelled)
        with pytest.raises(store.DocumentCorrupt):
            store.read(new)
    finally:
        settings.override(real)


def test_the_key_list_takes_a_former_secret_key_as_entry_0_never_as_a_data_key():
    data = b64(b"d" * 32)
    loaded = settings.load({"MARAC_DATA_KEYS": f"0:{b64(b'an-old-secret-key-' + b'o' * 20)},1:{data}"})
    assert loaded.data_keys == {1: b"d" * 32} and loaded.current_data_key[0] == 1
    legacy = settings.load({"MARAC_SECRET_KEY": "an-old-secret-key-" + "o" * 20, "MARAC_DATA_KEYS": f"1:{data}"})
    assert (
        loaded.versioned_keys("audit-chain")[0]
        == legacy.versioned_keys("audit-chain")[0]
        == legacy.derived_key("audit-chain")
    )
    production = {
        "MARAC_ENV": "production",
        "MARAC_SECRET_KEY": "s" * 40,
        "MARAC_BASE_URL": "https://marac.example.org",
    }
    with pytest.raises(settings.SettingsError, match="MARAC_DATA_KEYS"):
        settings.load({**production, "MARAC_DATA_KEYS": f"0:{b64(b's' * 40)}"})  # entry 0 alone is no data key
    with pytest.raises(settings.SettingsError, match="entry 1"):
        settings.load({"MARAC_DATA_KEYS": "0:"})


UPGRADE_CHECK = Path(__file__).with_name("key_version_upgrade_check.py")


async def run_upgrade_check(url: str) -> dict:
    return await run_check_script(UPGRADE_CHECK, url)


EXPECTED = {
    "versions_after_migration": {"audit_event": [0], "person_key": [0]},
    "verify_after_migration": [True, 2],
    "found_after_migration": True,
    "verify_with_new_events": [True, 3],
    "new_event_version": 1,
    "rekeyed": 1,
    "rekeyed_again": 0,
    "person_key_versions": [1],
    "new_secret_unpinned": [False, 1],
    "new_secret_pinned": [True, 3],
    "found_with_new_secret": True,
}


async def test_a_database_written_before_key_versions_upgrades_on_sqlite(tmp_path):
    assert await run_upgrade_check(f"sqlite://{tmp_path}/old.sqlite3") == EXPECTED


@pytest.mark.skipif(not PG_ADMIN_URL, reason="MARAC_TEST_PG_ADMIN_URL not set (scripts/test sets it)")
async def test_a_database_written_before_key_versions_upgrades_on_postgresql():
    async with scratch_postgres("marac_keys") as url:
        assert await run_upgrade_check(url) == EXPECTED
