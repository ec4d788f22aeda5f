"""Words that depend on a number, written once for pages, messages, e-mails and the command line:
"1 case has", "2 cases have" (the `count` and `plural` Jinja filters are these functions)."""

from __future__ import annotations


def plural(n: int, one: str, many: str | None = None) -> str:
    """The word for `n` things: `one` for exactly 1, otherwise `many` (default: `one` + "s")."""
    return one if n == 1 else many or f"{one}s"


def count(n: int, one: str, many: str | None = None) -> str:
    """The number and its word: "1 case", "0 cases", "3 people" (count(3, "person", "people"))."""
    return f"{n} {plural(n, one, many)}"
