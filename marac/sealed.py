"""Field-level encryption of the sensitive field classes.

Each value is sealed with AES-256-GCM under the newest data key. The associated data binds
the table, column, row id and key version, so a value copied into another row, another
column or relabelled with another key version fails to open. Keys come from settings (the
environment or a key file), never from the database.

Models declare sealed fields (SealedText, SealedJSON, SealedDate) and inherit SealedModel:
values are sealed when a model instance is written and opened when a row is loaded. A
queryset `.update()` or `.values()` never sees plaintext: the first is refused, the second
returns the sealed tokens.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
from datetime import date
from typing import TYPE_CHECKING, Any, overload

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tortoise import fields
from tortoise.models import Model

from marac import settings

PREFIX = "enc1"
NONCE_BYTES = 12


class SealError(RuntimeError):
    """A sealed value that cannot be opened: wrong row, wrong column, unknown key or tampered."""


def _aad(table: str, column: str, row_id: Any, version: int) -> bytes:
    # A unit separator cannot appear in table names, column names or ids.
    return "\x1f".join((table, column, str(row_id), str(version))).encode()


def seal(table: str, column: str, row_id: Any, plaintext: str) -> str:
    version, key = settings.get().current_data_key
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), _aad(table, column, row_id, version))
    return f"{PREFIX}:{version}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def key_version(token: str) -> int:
    prefix, version, _ = token.split(":", 2)
    if prefix != PREFIX or not re.fullmatch(r"[0-9]{1,9}", version):
        raise SealError("not a sealed value")
    return int(version)


def unseal(table: str, column: str, row_id: Any, token: str) -> str:
    try:
        version = key_version(token)
        key = settings.get().data_keys[version]
        raw = base64.urlsafe_b64decode(token.split(":", 2)[2])
        plaintext = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(table, column, row_id, version))
    except (KeyError, ValueError, InvalidTag) as error:
        # Names the place, never the value: this message can reach a log line.
        raise SealError(f"{table}.{column} of row {row_id} does not open") from error
    return plaintext.decode()


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX + ":")


class _Sealed(fields.TextField):
    # Stored as text; the python value is whatever the codec makes of the plaintext.

    def to_plaintext(self, value: Any) -> str:
        return str(value)

    def from_plaintext(self, plaintext: str) -> Any:
        return plaintext

    def to_db_value(self, value: Any, instance: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(instance, Model) or instance.pk is None:
            raise TypeError(f"{self.model_field_name} is sealed: write it through a model instance, not a queryset")
        return seal(
            instance._meta.db_table, self.source_field or self.model_field_name, instance.pk, self.to_plaintext(value)
        )

    def to_python_value(self, value: Any) -> Any:
        # Values given to a model's constructor are already python values; a row's tokens are
        # opened by SealedModel._init_from_db, which knows the row id.
        return value


class SealedText(_Sealed):
    pass


class _SealedValue(_Sealed):
    # A TextField to Tortoise, so a str to mypy; its python value is the codec's (JSON, a date).
    if TYPE_CHECKING:

        @overload
        def __get__(self, instance: None, owner: type[Model]) -> _SealedValue: ...

        @overload
        def __get__(self, instance: Model, owner: type[Model]) -> Any: ...

        def __get__(self, instance: Model | None, owner: type[Model]) -> Any: ...

        def __set__(self, instance: Model, value: Any) -> None: ...


class SealedJSON(_SealedValue):
    def to_plaintext(self, value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), default=str)

    def from_plaintext(self, plaintext: str) -> Any:
        return json.loads(plaintext)


class SealedDate(_SealedValue):
    def to_plaintext(self, value: Any) -> str:
        return value.isoformat()

    def from_plaintext(self, plaintext: str) -> Any:
        return date.fromisoformat(plaintext)


@functools.cache  # asked for every row loaded; a model's fields are fixed once Tortoise is up
def sealed_fields(model: type[Model]) -> tuple[tuple[str, str, _Sealed], ...]:
    """(attribute, column, field) for every sealed field of a model."""
    return tuple(
        (name, field.source_field or name, field)
        for name, field in model._meta.fields_map.items()
        if isinstance(field, _Sealed)
    )


class SealedModel(Model):
    class Meta:
        abstract = True

    @classmethod
    def _init_from_db(cls, **kwargs: Any) -> Any:
        instance = super()._init_from_db(**kwargs)
        table = cls._meta.db_table
        for name, column, field in sealed_fields(cls):
            token = instance.__dict__.get(name)
            if token is not None:
                instance.__dict__[name] = field.from_plaintext(unseal(table, column, instance.pk, token))
        return instance


def open_column(model: type[Model], name: str, row_id: Any, token: str | None) -> Any:
    """The python value of a sealed field read by hand-written SQL (db.fetch), as loading the
    row through the model would give it."""
    if token is None:
        return None
    field = model._meta.fields_map[name]
    if not isinstance(field, _Sealed):
        raise TypeError(f"{model.__name__}.{name} is not sealed")
    return field.from_plaintext(unseal(model._meta.db_table, field.source_field or name, row_id, token))


SEALED_AT_0003 = (  # (table, column) sealed by migration 0003; fixed, whatever the models become
    ("action", "description"),
    ("meeting", "snapshot"),
    ("minutes_version", "content"),
    ("note", "text"),
    ("person", "date_of_birth"),
    ("person", "names"),
    ("person", "postcode"),
    ("referral", "judgement_reason"),
    ("referral", "summary"),
    ("referral", "victim"),
    ("referral_person", "aliases"),
    ("referral_person", "date_of_birth"),
    ("referral_person", "name"),
    ("referral_person", "relationship"),
    ("research", "summary"),
)
BATCH = 500


def model_columns(models: list[type[Model]]) -> list[tuple[str, str]]:
    return [(model._meta.db_table, column) for model in models for _, column, _ in sealed_fields(model)]


async def reseal(
    conn: Any, columns: list[tuple[str, str]] | tuple[tuple[str, str], ...], plaintext: bool = False
) -> int:
    """Seal every value in `columns` under the current key; returns how many were rewritten.

    Values already under the current key are left alone, so running it again changes
    nothing. `plaintext=True` (migration 0003 only) also seals values written before
    encryption; otherwise a value that is not a sealed token is an error.
    """
    current, _ = settings.get().current_data_key
    mark = (lambda n: f"${n}") if conn.capabilities.dialect == "postgres" else (lambda n: "?")
    changed = 0
    for table, column in columns:
        last = ""
        while True:
            # Ids are text: paging by id keeps memory flat on a national-sized table.
            _, rows = await conn.execute_query(
                f'SELECT "id", "{column}" FROM "{table}" WHERE "id" > {mark(1)} ORDER BY "id" LIMIT {BATCH}', [last]
            )
            for row in rows:
                row_id, value = row["id"], row[column]
                if value is None:
                    continue
                if is_sealed(value):
                    if key_version(value) == current:
                        continue
                    value = unseal(table, column, row_id, value)
                elif not plaintext:
                    raise SealError(f"{table}.{column} of row {row_id} is not sealed")
                # Compare-and-set: a value the service rewrote meanwhile is already current.
                count, _ = await conn.execute_query(
                    f'UPDATE "{table}" SET "{column}" = {mark(1)} WHERE "id" = {mark(2)} AND "{column}" = {mark(3)}',
                    [seal(table, column, row_id, str(value)), row_id, row[column]],
                )
                changed += count
            if len(rows) < BATCH:
                break
            last = rows[-1]["id"]
    return changed
