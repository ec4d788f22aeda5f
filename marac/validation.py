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
from marac.i18n import format_number
from marac.i18n import gettext as _

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails  # what ValidationError.errors() lists

NUMBER_RE = re.compile(r"[0-9]{1,18}")
SLUG_RE = re.compile(r"[a-z0-9][a-z0-9-]{1,62}[a-z0-9]")
# What secrets.token_urlsafe() makes (calendar feeds, set-up links), as long as the column.
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
ISO_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
# As people type a date: 21/11/2026, or 21 11 2026 (the GOV.UK date input's three boxes, joined).
UK_DATE_RE = re.compile(r"([0-9]{1,2})(?:/| +)([0-9]{1,2})(?:/| +)([0-9]{4})")
# Dates people can mean: births from 1900, meetings well within what date arithmetic allows
# (a year near 9999 overflows once a cadence or a quarter is added to it).
FIRST_YEAR, LAST_YEAR = 1900, 2999
# The bounds of a filter are only compared, never added to, and integrators write an open end
# as 9999-12-31 (tests/test_audit.py).
FILTER_LAST_YEAR = 9999
# The one wording of a date a page could not read (every form's date field; the API keeps its own).
DATE_MESSAGE = "Enter a real date, for example 21/11/2026"
DATE_HINT = "For example, 21/11/2026"


def date_message() -> str:
    """DATE_MESSAGE in the page's language (the API's is English)."""
    return _("Enter a real date, for example 21/11/2026")


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
        wanted = message or _("Enter a whole number from %(low)d to %(high)d") % {"low": low, "high": high}
        raise RuleViolation(f"Bad {field}", {field: wanted})
    return value


def day_or_none(text: str | None, last_year: int = LAST_YEAR) -> date | None:
    """A date written YYYY-MM-DD, DD/MM/YYYY or DD MM YYYY (as people type it), or None."""
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


def day(text: str | None, field: str, message: str | None = None, last_year: int = LAST_YEAR) -> date:
    """day_or_none(), or a RuleViolation naming the field (with date_message() unless told)."""
    found = day_or_none(text, last_year)
    if found is None:
        raise RuleViolation("Bad date", {field: message or date_message()})
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
        return _("Unknown field")
    if kind in ("missing", "string_too_short"):
        return _("This is required")
    if kind == "string_too_long":
        return _("Use at most %(num)s characters") % {"num": format_number(error.get("ctx", {}).get("max_length", 0))}
    if kind == "too_short":
        return _("Choose at least one")
    if kind.startswith("date"):
        return _("Enter a date as YYYY-MM-DD")
    if kind == "string_pattern_mismatch" and last == "postcode":
        return _("Enter a UK postcode, for example SW1A 1AA")
    if kind == "literal_error":
        # pydantic's "Input should be 'crime' or 'incident'": the values, which are sent as they are
        return _("Choose %(values)s") % {"values": message.removeprefix("Input should be").strip()}
    if kind in ("bool_parsing", "bool_type"):
        return _("Answer yes or no")
    return _plain(kind, error.get("ctx") or {}) or _("This is not valid")


def _plain(kind: str, ctx: dict) -> str | None:
    """Plain words for the rest of pydantic's error types, so no reader ever sees a validator's own
    text ("Input should be a valid integer, unable to parse string as an integer"):
    tests/test_referral_import_and_form.py."""
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("Enter a whole number, like 12")
    if kind in ("float_parsing", "float_type", "decimal_parsing", "decimal_type"):
        return _("Enter a number")
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = {"bound": next(iter(ctx.values()), "")}
        return {
            "greater_than_equal": _("Enter %(bound)s or more"),
            "greater_than": _("Enter more than %(bound)s"),
            "less_than_equal": _("Enter %(bound)s or less"),
            "less_than": _("Enter less than %(bound)s"),
        }[kind] % bound
    if kind == "string_too_long":
        return _("Use %(num)s characters or fewer") % {"num": ctx.get("max_length", 0)}
    if kind == "too_long":
        return _("Give %(num)s or fewer") % {"num": ctx.get("max_length", 0)}
    if kind == "string_pattern_mismatch":
        return _("This is not in the expected form")
    if kind in ("string_type", "str_type"):
        return _("Enter text")
    if kind in ("list_type", "tuple_type", "set_type"):
        return _("Give a list")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return _("Give the details as a group of fields")
    if kind == "enum":
        if "expected" in ctx:
            return _("Choose one of: %(values)s") % {"values": ctx["expected"]}
        return _("Choose one of the listed values")
    if kind == "value_error" and "error" in ctx:
        # Our own validators raise ValueError with plain words already.
        return str(ctx["error"])
    return None


def parse_day(text: str) -> date | str:
    """A date typed by a person into a form that pydantic then checks: the date, or for
    anything else the text as it is, for the validator to refuse with its usual message."""
    found = day_or_none(text)
    return found if found is not None else text.strip()
