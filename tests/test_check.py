"""`marac check`: a deployment that is ready passes (exit 0); each broken part fails it (exit 1)
with a sentence that names what is wrong, for the person installing it."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest

from marac.jobs import tasks
from tests.builders import published_meeting
from tests.mail import free_port
from tests.test_migrations_and_cli import cli


async def test_a_good_configuration_passes_and_sends_no_mail(personas, smtp):
    meeting = (await published_meeting(personas)).meeting
    await tasks.render_agendas(meeting.id)  # sealed rows and a stored document for the keys to open
    from marac import settings

    code, out = await cli("check", env={"MARAC_SMTP_URL": settings.get().smtp_url or ""})
    assert code == 0, out
    assert "Ready." in out and "FAIL" not in out
    assert "schema up to date" in out and "is a writable directory" in out and "a test PDF renders" in out
    assert "accepts a session (nothing was sent)" in out and "they open a sample of" in out
    if os.environ.get("MARAC_REDIS_URL"):
        assert "redis: answers at" in out
    assert smtp.messages == []


async def test_a_bad_database_url_fails_and_says_so(personas):
    port = free_port()  # nothing listens there
    code, out = await cli("check", env={"MARAC_DATABASE_URL": f"postgres://marac:secret@127.0.0.1:{port}/marac"})
    assert code == 1, out
    assert f"FAIL  database: cannot connect to the database at 127.0.0.1:{port}" in out and "MARAC_DATABASE_URL" in out
    assert "secret" not in out  # never the password


async def test_a_database_not_yet_migrated_fails(personas, tmp_path):
    code, out = await cli("check", env={"MARAC_DATABASE_URL": f"sqlite://{tmp_path}/new.sqlite3"})
    assert code == 1 and "there is no SQLite database" in out and "marac migrate" in out, out


async def test_a_document_store_that_cannot_be_written_fails(personas, tmp_path):
    not_a_directory = tmp_path / "store"
    not_a_directory.write_bytes(b"")
    code, out = await cli("check", env={"MARAC_DOCUMENT_STORE": str(not_a_directory)})
    assert code == 1 and f"FAIL  document store: the document store {not_a_directory} is not a directory" in out, out

    read_only = tmp_path / "read-only"
    read_only.mkdir()
    mounted = False
    if os.geteuid() == 0:  # root writes through permissions: a read-only filesystem refuses even root
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(read_only)], capture_output=True
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a read-only tmpfs here: {done.stderr.decode().strip()}")
        mounted = True
    else:
        read_only.chmod(0o500)
    try:
        code, out = await cli("check", env={"MARAC_DOCUMENT_STORE": str(read_only)})
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(read_only)], check=False)
        read_only.chmod(0o700)
    assert code == 1 and f"FAIL  document store: the document store {read_only} is not writable" in out, out
    assert list(Path(read_only).iterdir()) == []


async def test_production_without_data_keys_fails_naming_them(personas):
    code, out = await cli(
        "check",
        env={
            "MARAC_ENV": "production",
            "MARAC_SECRET_KEY": "a-production-secret-of-more-than-32-characters",
            "MARAC_BASE_URL": "https://marac.example.org",
            "MARAC_DATA_KEYS": "",
            "MARAC_DATA_KEY_FILE": "",
        },
    )
    assert code == 1, out
    assert "FAIL  settings: MARAC_DATA_KEYS or MARAC_DATA_KEY_FILE must be set in production" in out


async def test_data_keys_that_cannot_open_what_was_sealed_fail(personas):
    await published_meeting(personas)  # sealed values under the test keys
    other = base64.b64encode(b"k" * 32).decode()
    code, out = await cli("check", env={"MARAC_DATA_KEYS": f"1:{other}", "MARAC_DATA_KEY_FILE": ""})
    assert code == 1, out
    assert "FAIL  keys: the data keys cannot open a sealed value in table" in out
