"""Turning pydantic's validation errors into the API error's `fields`: dotted paths, plain words."""

from __future__ import annotations

from datetime import date

from pydantic import ValidationError


def fields_of(exc: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        # Union members add their type name to the path ("list[str]"); a reader wants the field.
        path = ".".join(str(p) for p in error["loc"] if not str(p).startswith(("function-", "list[", "dict[")))
        fields.setdefault(path or "body", _message(error))
    return fields


UNSTORABLE = "Remove the NUL character or broken Unicode"


def unstorable(value: object, path: str = "") -> dict[str, str]:
    """Dotted paths of the strings (and keys) in a decoded request that no database can
    store: a NUL character (PostgreSQL refuses it, SQLite takes it) or half of a UTF-16
    surrogate pair (neither can encode it). Refused as input, never a database error."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return {path or "body": UNSTORABLE}
        return {path or "body": UNSTORABLE} if "\x00" in value else {}
    found: dict[str, str] = {}
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        where = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and unstorable(key):
            found[where] = UNSTORABLE
        found |= unstorable(item, where)
    return found


def _message(error: dict) -> str:
    kind, message, last = error["type"], error["msg"], str(error["loc"][-1]) if error["loc"] else ""
    if kind == "extra_forbidden":
        return "Unknown field"
    if kind in ("missing", "string_too_short"):
        return "This is required"
    if kind == "too_short":
        return "Choose at least one"
    if kind.startswith("date"):
        return "Enter a date as YYYY-MM-DD"
    if kind == "string_pattern_mismatch" and last == "postcode":
        return "Enter a UK postcode, for example SW1A 1AA"
    if kind == "literal_error":
        return message.replace("Input should be", "Choose")
    if kind == "bool_parsing":
        return "Answer yes or no"
    return message


def parse_day(text: str) -> date | str:
    """A date typed by a person: 2026-11-21 or 21/11/2026. Unparseable text is returned
    as it is, for the validator to refuse with its usual message."""
    text = text.strip()
    day, sep, rest = text.partition("/")
    if sep:
        month, _, year = rest.partition("/")
        try:
            return date(int(year), int(month), int(day))
        except ValueError:
            return text
    return text
