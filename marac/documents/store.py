"""Rendered documents on disk: one file per Document row, written once, checked on read.

Files live under settings.document_store with random names; the row carries the hash, so
a file changed or swapped on disk is refused rather than sent.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import re
import secrets
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tortoise import Tortoise
from tortoise.exceptions import IntegrityError

from marac import db, settings
from marac.documents.models import DOCUMENT_KINDS, Document
from marac.errors import JobFailure

# Printed references only: a subject access export is not a stored Document.
KIND_CODES = {
    "agenda": "AG",
    "minutes": "MN",
    "subject_access": "SA",
    "quarterly": "QR",
    "chair_pack": "CP",
    "transfer": "TR",
}
FILE_NAME = re.compile(r"[0-9a-f]{32}\.pdf")


class DocumentCorrupt(RuntimeError):
    """A stored file is missing, or does not match the hash recorded when it was written."""


class StoreFull(JobFailure):
    """No space (or quota) left in the document store: nothing of the document was kept."""

    def __init__(self) -> None:
        super().__init__(
            "The document store is full, so the documents could not be saved. "
            "Ask your system administrator to free space, then request them again."
        )


def new_reference(kind: str, meeting_date: date) -> str:
    """A printed reference such as MARAC-AG-20261124-3F9A-C21B: names the kind and meeting
    date, identifies nobody, and is random so copies can be told apart."""
    suffix = secrets.token_hex(4).upper()
    return f"MARAC-{KIND_CODES[kind]}-{meeting_date:%Y%m%d}-{suffix[:4]}-{suffix[4:]}"


def path_for(document: Any) -> Path:
    # The name comes from the database: check its shape so a bad row cannot point elsewhere.
    if not FILE_NAME.fullmatch(document.file_name):
        raise DocumentCorrupt(f"document {document.id} has an invalid file name")
    return settings.get().document_store / document.file_name


NONCE_BYTES = 12
PURPOSE = "documents-at-rest"
# A file starts with this and its key version (4 bytes), then the nonce. Files written before
# key versions have no header: nonce first, key version 0 (derived from MARAC_SECRET_KEY).
MAGIC = b"marac-doc\x00"
HEADER = len(MAGIC) + 4


def file_key_version(sealed: bytes) -> int:
    return int.from_bytes(sealed[len(MAGIC) : HEADER], "big") if sealed.startswith(MAGIC) else 0


def seal(file_name: str, plaintext: bytes) -> bytes:
    """AES-256-GCM under a key of its own, derived from the newest data key (unreadable without
    it, even with a copy of the store and the database); the file name and key version as
    associated data: a file copied over another, or relabelled, fails to open."""
    version, key = settings.get().current_key(PURPOSE)
    nonce = os.urandom(NONCE_BYTES)
    header = MAGIC + version.to_bytes(4, "big")
    return header + nonce + AESGCM(key).encrypt(nonce, plaintext, header + file_name.encode())


def unseal(file_name: str, sealed: bytes) -> bytes:
    keys = settings.get().versioned_keys(PURPOSE)
    attempts = [(sealed[:HEADER], sealed[HEADER:])] if sealed.startswith(MAGIC) else []
    attempts.append((b"", sealed))  # before versions; or one in 2^80 old files that starts like a header
    for header, rest in attempts:
        key = keys.get(file_key_version(header))
        if key is None:
            continue
        try:
            return AESGCM(key).decrypt(rest[:NONCE_BYTES], rest[NONCE_BYTES:], header + file_name.encode())
        except (InvalidTag, ValueError):
            continue
    raise DocumentCorrupt("a stored document failed its integrity check")


def _replace(path: Path, data: bytes) -> None:
    """All of `data` at `path`, or `path` as it was: written to a temporary name in the same
    directory, synced, then renamed (and the rename synced)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        # O_EXCL and 0o600 from the start: the file is never readable by others, not even
        # between creation and a later chmod.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _write(path: Path, data: bytes) -> None:
    """A new file, whole or not at all, before the row points to it."""
    try:
        _replace(path, data)
    except BaseException as error:
        path.unlink(missing_ok=True)  # a fresh random name: only ever this call's file
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StoreFull() from error
        raise


async def write(pdf: bytes) -> str:
    """Encrypt and store a PDF under a new random name; returns the name. The caller records
    it with the PDF's sha256 in a row that read() can check against."""
    file_name = f"{uuid.uuid4().hex}.pdf"
    await asyncio.to_thread(_write, settings.get().document_store / file_name, seal(file_name, pdf))
    return file_name


async def find(kind: str, meeting_id: str, agency_id: str, version: int) -> Document | None:
    """The stored document for this key, if any: a job can skip rendering it again."""
    return await Document.get_or_none(kind=kind, meeting_id=meeting_id, agency_id=agency_id, version=version)


async def save(
    kind: str, meeting_id: str, agency_id: str, version: int, pdf: bytes, pages: int, *, reference: str, tier: str = ""
) -> Document:
    """Store a rendered PDF and its row; idempotent for the same (kind, meeting, agency, version).
    `tier`: the minutes view it holds (full or actions_only), "" for a research list.

    Jobs are delivered at least once: if the row exists, it is returned as it is and the
    new bytes are dropped, so a recipient never has two different copies of one version.
    `reference` is the one printed in `pdf` (see new_reference()).
    """
    if kind not in DOCUMENT_KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    existing = await find(kind, meeting_id, agency_id, version)
    if existing is not None:
        return existing
    file_name = await write(pdf)
    path = settings.get().document_store / file_name
    try:
        return await Document.create(
            kind=kind,
            meeting_id=meeting_id,
            agency_id=agency_id,
            version=version,
            tier=tier,
            reference=reference,
            file_name=file_name,
            sha256=hashlib.sha256(pdf).hexdigest(),
            size=len(pdf),
            pages=pages,
        )
    except IntegrityError:
        # Another delivery of the same job got there first: keep its row and file, drop ours.
        path.unlink(missing_ok=True)
        winner = await find(kind, meeting_id, agency_id, version)
        if winner is None:
            raise
        return winner
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def read(document: Any) -> bytes:
    """The decrypted PDF, only if it opens with our key and still matches the recorded hash.
    `document`: a Document or any row with id, file_name and sha256 (a ReportDocument)."""
    try:
        data = unseal(document.file_name, path_for(document).read_bytes())
    except FileNotFoundError as error:
        raise DocumentCorrupt(f"document {document.id} is missing from the store") from error
    if not secrets.compare_digest(hashlib.sha256(data).hexdigest(), document.sha256):
        raise DocumentCorrupt(f"document {document.id} does not match its recorded hash")
    return data


def remove_file(document: Document) -> None:
    """Delete a document's file (retention); the caller deletes the row, first."""
    path_for(document).unlink(missing_ok=True)


def _reseal_file(path: Path, file_name: str, version: int) -> str:
    """Re-encrypt one file under key `version` in place: 'rewritten', 'current', 'missing' or
    'unreadable'. The new file replaces the old one whole (rename), so a reader gets one or the other."""
    try:
        sealed = path.read_bytes()
    except FileNotFoundError:
        return "missing"  # retention removed it meanwhile
    if sealed.startswith(MAGIC) and file_key_version(sealed) == version:
        return "current"
    try:
        data = seal(file_name, unseal(file_name, sealed))
    except DocumentCorrupt:
        return "unreadable"
    _replace(path, data)  # on failure the original is still whole
    return "rewritten"


async def reseal_files(batch: int = 200) -> dict[str, int]:
    """Re-encrypt every stored document under the newest key (`marac keys rotate`); counts by
    outcome. Files already under it are left alone, so it can be stopped and run again."""
    version, _ = settings.get().current_key(PURPOSE)
    counts = {"rewritten": 0, "current": 0, "missing": 0, "unreadable": 0}
    # Every table whose rows name a file here (documents, and the reports that store through this module).
    stored = [model for model in Tortoise.apps[db.APP].values() if "file_name" in model._meta.fields_map]
    for model in stored:
        last = ""
        while True:
            rows = await model.filter(id__gt=last).order_by("id").limit(batch).only("id", "file_name")
            for row in rows:
                outcome = await asyncio.to_thread(_reseal_file, path_for(row), row.file_name, version)
                # Retention deletes the row, then the file: a file it removed while this one was
                # being rewritten must not come back.
                if outcome == "rewritten" and not await model.filter(id=row.id).exists():
                    path_for(row).unlink(missing_ok=True)
                counts[outcome] += 1
            if len(rows) < batch:
                break
            last = rows[-1].id
    return counts
