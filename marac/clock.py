"""The one clock: every rule that asks "when is it now" or "what day is it in the UK" asks here.

Tests that move time patch the name where it is used (e.g. ``monkeypatch.setattr(module, "today", ...)``),
so modules import the functions by name rather than reading the system clock themselves."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")


def now() -> datetime:
    return datetime.now(UTC)


def uk_date(instant: datetime) -> date:
    """The UK date of an instant: at 23:30 UTC in summer (00:30 BST) it is already tomorrow."""
    return instant.astimezone(UK).date()


def today() -> date:
    return uk_date(now())
