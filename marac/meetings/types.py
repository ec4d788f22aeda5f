"""Conference types: the data files in agendas/, loaded and checked at start-up."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from marac.settings import PROJECT_DIR

AGENDAS_DIR = PROJECT_DIR / "agendas"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

# key → (check, description of a good value)
_INT_RANGES = {
    "cadence_days": (1, 92),
    "cutoff_working_days": (0, 30),
    "capacity": (1, 100),
    "minutes_per_case": (1, 60),
    "action_due_days": (1, 365),
    "retention_years": (1, 100),
}


class ConferenceTypeError(ValueError):
    """A conference type file is wrong; the message names the file and the key."""


def _check(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    def fail(key: str, why: str) -> ConferenceTypeError:
        return ConferenceTypeError(f"{path.name}: key '{key}' {why}")

    if not isinstance(data.get("name"), str) or not data["name"].strip():
        raise fail("name", "must be a non-empty string")
    if data.get("default_weekday") not in WEEKDAYS:
        raise fail("default_weekday", f"must be one of {', '.join(WEEKDAYS)}")
    if not isinstance(data.get("default_time"), str) or not TIME_RE.match(data["default_time"]):
        raise fail("default_time", "must be a time written HH:MM")
    for key, (low, high) in _INT_RANGES.items():
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise fail(key, f"must be a whole number from {low} to {high}")
    return data


def load_types(directory: Path = AGENDAS_DIR) -> dict[str, dict[str, Any]]:
    types: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConferenceTypeError(f"{path.name}: not valid TOML ({exc})") from exc
        types[path.stem] = _check(path, data)
    if not types:
        raise ConferenceTypeError(f"no conference types found in {directory}")
    return types


_loaded: dict[str, dict[str, Any]] | None = None


def conference_types() -> dict[str, dict[str, Any]]:
    global _loaded
    if _loaded is None:
        _loaded = load_types()
    return _loaded
