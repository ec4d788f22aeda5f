"""Domain errors. The web layer maps each to one HTTP status; domain code never knows HTTP."""

from __future__ import annotations


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class NotFound(DomainError):
    """Missing, or not entitled: the two must be indistinguishable to the caller."""

    code = "not_found"

    def __init__(self, message: str = "Not found") -> None:
        super().__init__(message)


class AccessDenied(DomainError):
    """The caller can see the record but their role may not take this action."""

    code = "forbidden"

    def __init__(self, message: str = "You are not allowed to do that") -> None:
        super().__init__(message)


class RuleViolation(DomainError):
    """Input that breaks a rule; `fields` names each bad field."""

    code = "validation_error"


class Conflict(DomainError):
    code = "conflict"


class StaleVersion(DomainError):
    code = "stale_version"


class Throttled(DomainError):
    code = "throttled"


class JobFailure(Exception):
    """A background job's failure told to the person who started it, on the job page: its
    text is written for people and must carry no personal data."""
