"""Record ids: opaque and unguessable, never a sequence, so one id tells nothing about another or how many exist."""

from __future__ import annotations

import re
import secrets
import uuid


def new_id() -> str:
    return uuid.uuid4().hex


ID_PATTERN = re.compile(r"[0-9a-f]{32}")  # what new_id() makes: anything else names no record


def new_token() -> str:
    """A secret for a URL (the calendar feed), not a record id."""
    return secrets.token_urlsafe(24)
