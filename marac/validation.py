"""Reading what people and programs send: the one parser of numbers, dates and slugs for every
form, query string and header, and pydantic's validation errors turned into the API error's
`fields` (dotted paths, plain words).

The parsers take ASCII digits only and bounded values, matched whole (`fullmatch`):
`str.isdigit()` accepts "²", which `int()` refuses, a `$` anchor lets a trailing newline
through, and an unbounded number overflows a database column or a date.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import TYPE_CHECKING

from pydantic import ValidationError

from marac.errors import RuleViolation

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails  # what ValidationError.errors() lists

NUMBER_RE = re.compile(r"[0-9]{1,18}")
SLUG_RE = re.compile(r"[a-z0-9][a-z0-9-]{1,62}[a-z0-9]")
# What secrets.token_urlsafe() makes (calendar feeds, set-up links), as long as the column.
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
ISO_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
UK_DATE_RE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
# Dates people can mean: births from 1900, meetings well within what date arithmetic allows
# (a year near 9999 overflows once a cadence or a quarter is added to it).
FIRST_YEAR, LAST_YEAR = 1900, 2999
# The bounds of a filter are only compared, never added to, and integrators write an open end
# as 9999-12-31 (tests/test_audit.py).
FILTER_LAST_YEAR = 9999
DATE_MESSAGE = "Enter a date as YYYY-MM-DD"
# Record versions are PostgreSQL integers: a bigger number is no version, and comparing one
# with the column is an error, not a mismatch.
MAX_VERSION = 999_999_999


def whole_number(text: str | None, low: int, high: int) -> int | None:
    """A whole number from low to high written in ASCII digits, or None."""
    if text is None or not NUMBER_RE.fullmatch(text):
        return None
    value = int(text)
    return value if low <= value <= high else None


def number(text: str | None, field: str, low: int, high: int, message: str | None = None) -> int:
    """whole_number(), or a RuleViolation naming the field."""
    value = whole_number(text, low, high)
    if value is None:
        raise RuleViolation(f"Bad {field}", {field: message or f"Enter a whole number from {low} to {high}"})
    return value


def day_or_none(text: str | None, last_year: int = LAST_YEAR) -> date | None:
    """A date written YYYY-MM-DD (or DD/MM/YYYY, as people type it), or None."""
    text = (text or "").strip()
    found = ISO_DATE_RE.fullmatch(text)
    if found:
        year, month, day_ = found.groups()
    elif found := UK_DATE_RE.fullmatch(text):
        day_, month, year = found.groups()
    else:
        return None
    if not FIRST_YEAR <= int(year) <= last_year:
        return None
    try:
        return date(int(year), int(month), int(day_))
    except ValueError:  # 2026-02-30
        return None


def day(text: str | None, field: str, message: str = DATE_MESSAGE, last_year: int = LAST_YEAR) -> date:
    """day_or_none(), or a RuleViolation naming the field."""
    found = day_or_none(text, last_year)
    if found is None:
        raise RuleViolation("Bad date", {field: message})
    return found


def is_slug(text: str | None) -> bool:
    return text is not None and SLUG_RE.fullmatch(text) is not None


# Far deeper than any body the API takes; every later walk over the value is recursive.
MAX_JSON_DEPTH = 32


TOO_DEEP = f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep"


class BadJSON(ValueError):
    """Text that is not JSON, or JSON nested deeper than MAX_JSON_DEPTH."""


def json_value(raw: bytes | str) -> object:
    """Decoded JSON, never a RecursionError: json.loads raises one on deep nesting."""
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadJSON("The request body is not valid JSON") from None
    except RecursionError:
        raise BadJSON(TOO_DEEP) from None
    if too_deep(value):
        raise BadJSON(TOO_DEEP)
    return value


def too_deep(value: object) -> bool:
    """Whether decoded JSON nests deeper than MAX_JSON_DEPTH (found without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return True
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children)
    return False


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


def _message(error: ErrorDetails) -> str:
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
    if kind in ("bool_parsing", "bool_type"):
        return "Answer yes or no"
    return _plain(kind, error.get("ctx") or {}) or "This is not valid"


def _plain(kind: str, ctx: dict) -> str | None:
    """Plain words for the rest of pydantic's error types, so no reader ever sees a validator's own
    text ("Input should be a valid integer, unable to parse string as an integer"):
    tests/test_referral_import_and_form.py."""
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "Enter a whole number, like 12"
    if kind in ("float_parsing", "float_type", "decimal_parsing", "decimal_type"):
        return "Enter a number"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = next(iter(ctx.values()), "")
        return {
            "greater_than_equal": f"Enter {bound} or more",
            "greater_than": f"Enter more than {bound}",
            "less_than_equal": f"Enter {bound} or less",
            "less_than": f"Enter less than {bound}",
        }[kind]
    if kind == "string_too_long":
        return f"Use {ctx.get('max_length', 'fewer')} characters or fewer"
    if kind == "too_long":
        return f"Give {ctx.get('max_length', 'fewer')} or fewer"
    if kind == "string_pattern_mismatch":
        return "This is not in the expected form"
    if kind in ("string_type", "str_type"):
        return "Enter text"
    if kind in ("list_type", "tuple_type", "set_type"):
        return "Give a list"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "Give the details as a group of fields"
    if kind == "enum":
        return f"Choose one of: {ctx['expected']}" if "expected" in ctx else "Choose one of the listed values"
    if kind == "value_error" and "error" in ctx:
        # Our own validators raise ValueError with plain words already.
        return str(ctx["error"])
    return None


def parse_day(text: str) -> date | str:
    """A date typed by a person into a form that pydantic then checks: the date, or for
    anything else the text as it is, for the validator to refuse with its usual message."""
    found = day_or_none(text)
    return found if found is not None else text.strip()
